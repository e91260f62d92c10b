// Shared by the operator-command tests: a small pipeline run on the real local stack, and
// the `centralog` program run in-process (spawning tsx per call would cost seconds each).
import { vi } from 'vitest';
import { main } from '../../cli/main.ts';
import { ConsumerOptionsSchema, createConsumer, type Worker } from '../../consumers/index.ts';
import { baseComponentTemplate, indexTemplates, installIndexTemplates } from '../../infra/opensearch/index.ts';
import { CloudWatchLogsSimulator, FirehoseHarness } from '../../local/index.ts';
import { createBucket, createStream, startTestStack, uniqueName, waitFor } from '../helpers.ts';

export type TestStack = Awaited<ReturnType<typeof startTestStack>>;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (with --json). */
  json: () => any;
}

/**
 * Runs `centralog <args>` in this process with `env` set, capturing stdout and stderr; the
 * exit code is what the command set.
 */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const saved = new Map(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  process.exitCode = undefined;
  // Each run adds Ctrl-C handlers as a real process would; only that run's are removed after.
  const events = ['SIGINT', 'SIGTERM'] as const;
  const listening = new Map(events.map((e) => [e, new Set(process.listeners(e))]));
  const stdoutListening = new Set(process.stdout.listeners('error'));
  try {
    await main(['node', 'centralog', ...args]);
  } finally {
    for (const e of events) for (const l of process.listeners(e)) if (!listening.get(e)!.has(l)) process.off(e, l);
    for (const l of process.stdout.listeners('error')) if (!stdoutListening.has(l)) process.stdout.off('error', l as never);
    out.mockRestore();
    err.mockRestore();
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  const json = () => JSON.parse(stdout.trim().split('\n').at(-1)!);
  return { code, stdout, stderr, json };
}

export interface PipelineFixture {
  stack: TestStack;
  prefix: string;
  streamName: string;
  leaseTable: string;
  archiveBucket: string;
  deadLetterBucket: string;
  simulator: CloudWatchLogsSimulator;
  /** The events the fixture's consumer indexed (owner|logGroup|logStream|id); tests may produce more that no one indexes. */
  indexedKeys: ReadonlySet<string>;
  /** The CENTRALOG_* variables `npm start -- --keep` prints, for this run. */
  env: Record<string, string>;
  /** A consumer worker on the fixture's stream and lease table. */
  worker(workerId?: string): Worker;
  stop(): Promise<void>;
}

/**
 * Member accounts deliver `events` log events; the Firehose harness archives them to S3 and
 * a consumer worker indexes them, as `npm start` does, then both stop.
 */
export async function startPipeline(options: { events: number; accounts?: number; shards?: number }): Promise<PipelineFixture> {
  const stack = await startTestStack();
  const prefix = uniqueName('cli').toLowerCase();
  const streamName = uniqueName('stream');
  const leaseTable = uniqueName('leases');
  const archiveBucket = uniqueName('archive');
  const deadLetterBucket = uniqueName('dead-letters');
  await createStream(stack.kinesis, streamName, options.shards ?? 2);
  await createBucket(stack.s3, archiveBucket);
  await createBucket(stack.s3, deadLetterBucket);
  await installIndexTemplates(stack.opensearch, prefix);
  const env = {
    CENTRALOG_REGION: stack.endpoints.region,
    CENTRALOG_KINESIS_ENDPOINT: stack.endpoints.kinesis!,
    CENTRALOG_DYNAMODB_ENDPOINT: stack.endpoints.dynamodb!,
    CENTRALOG_S3_ENDPOINT: stack.endpoints.s3!,
    CENTRALOG_OPENSEARCH_URL: stack.opensearchUrl,
    CENTRALOG_STREAM_NAME: streamName,
    CENTRALOG_LEASE_TABLE: leaseTable,
    CENTRALOG_ARCHIVE_BUCKET: archiveBucket,
    CENTRALOG_DEAD_LETTER_BUCKET: deadLetterBucket,
    CENTRALOG_INDEX_PREFIX: prefix,
    CENTRALOG_LOG_GROUP_SOURCES: JSON.stringify(CloudWatchLogsSimulator.LOG_GROUP_SOURCES),
  };
  const worker = (workerId = uniqueName('worker')) =>
    createConsumer(
      ConsumerOptionsSchema.parse({
        streamName,
        leaseTable,
        deadLetterBucket,
        opensearchUrl: stack.opensearchUrl,
        region: stack.endpoints.region,
        kinesisEndpoint: stack.endpoints.kinesis,
        dynamodbEndpoint: stack.endpoints.dynamodb,
        s3Endpoint: stack.endpoints.s3,
        workerId,
        indexPrefix: prefix,
        logGroupSources: CloudWatchLogsSimulator.LOG_GROUP_SOURCES,
        // The operator commands' tests place the alerts they read; the alert path has its own tests.
        detections: false,
        idleBackoffMs: 100,
        failoverTimeMs: 3000,
      }),
    ).worker;

  const simulator = new CloudWatchLogsSimulator({ kinesis: stack.kinesis, streamName, accounts: options.accounts ?? 2 });
  await simulator.subscribe();
  await simulator.produce(options.events);
  const harness = new FirehoseHarness({ kinesis: stack.kinesis, s3: stack.s3, streamName, bucket: archiveBucket, deliveryStreamName: 'centralog-archive', bufferIntervalMs: 200 });
  const consumer = worker('fixture-worker');
  await Promise.all([harness.start(), consumer.start()]);
  try {
    await waitFor('the archive and the index to hold every event', () => harness.counters.linesArchived >= simulator.produced && consumer.counters.created >= simulator.produced, 45_000);
  } finally {
    await Promise.all([harness.stop(), consumer.stop()]);
  }
  await stack.opensearch.indices.refresh({ index: `${prefix}-aws.*` });
  return {
    stack,
    prefix,
    streamName,
    leaseTable,
    archiveBucket,
    deadLetterBucket,
    simulator,
    indexedKeys: new Set(simulator.producedKeys),
    env,
    worker,
    stop: async () => {
      await stack.opensearch.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true } as never).catch(() => undefined);
      for (const t of indexTemplates(prefix)) await stack.opensearch.indices.deleteIndexTemplate({ name: t.name }).catch(() => undefined);
      await stack.opensearch.cluster.deleteComponentTemplate({ name: baseComponentTemplate(prefix).name }).catch(() => undefined);
      await stack.stop();
    },
  };
}

/** How many documents of this prefix OpenSearch holds. */
export async function documentCount(stack: TestStack, prefix: string, query: Record<string, unknown> = { match_all: {} }): Promise<number> {
  await stack.opensearch.indices.refresh({ index: `${prefix}-aws.*`, allow_no_indices: true, ignore_unavailable: true } as never);
  const res = await stack.opensearch.count({ index: `${prefix}-aws.*`, allow_no_indices: true, ignore_unavailable: true, body: { query } } as never);
  return (res.body as unknown as { count: number }).count;
}
