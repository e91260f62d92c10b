import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand, waitUntilStreamExists, type KinesisClient, type _Record } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { Client } from '@opensearch-project/opensearch';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  bulkLines,
  createDynamoDbClient,
  createKinesisClient,
  listShards,
  createOpenSearchClient,
  createS3Client,
  prepareBatch,
  putRecordsWithRetry,
  type AwsEndpoints,
} from '../consumers/index.ts';
import { LeaseTable } from '../consumers/leases/lease-table.ts';
import { installIndexTemplates } from '../infra/opensearch/index.ts';
import { CloudWatchLogsSimulator, freePort, startLocalStack } from '../local/index.ts';
import { chunkBySize } from '../processors/index.ts';
import { buildAll } from '../scripts/build.mjs';
import type { BenchResult } from './measure.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;
const SHARDS = 4;
/** The consumer's default batches in flight; the baseline gets the same concurrency. */
const CONCURRENCY = 4;

/**
 * The consumer image's command line (Dockerfile ENTRYPOINT: node flags, the compiled bundle,
 * `consume`), so the benchmark measures the same process; BENCH_CONSUMER_NODE_FLAGS replaces the flags.
 */
function imageCommand(): { flags: string[]; script: string[] } {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const entry = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
  const script = entry.findIndex((arg, i) => i > 0 && !arg.startsWith('-'));
  const flags = process.env.BENCH_CONSUMER_NODE_FLAGS?.split(' ').filter(Boolean) ?? entry.slice(1, script);
  return { flags: [...flags.filter((f) => f !== '--openssl-legacy-provider'), '--openssl-legacy-provider'], script: entry.slice(script) };
}

/**
 * CPU µs per event of decode, parse, ECS and serialisation in a tight loop (prepareBatch in the
 * worker's slices), in a process of its own with the worker's node flags (bench/consumer-floor.ts).
 */
async function floorRun(recordsFile: string, indexPrefix: string): Promise<number> {
  const child = spawn(process.execPath, [...imageCommand().flags, '--import', 'tsx', join(ROOT, 'bench', 'consumer-floor.ts'), recordsFile, indexPrefix], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the floor process exited with ${code}`);
  return (JSON.parse(out) as { cpuMicrosPerEvent: number }).cpuMicrosPerEvent;
}

/** The sequence number of each shard's last record: the checkpoint a worker writes once it has read everything. */
async function lastSequenceNumbers(kinesis: KinesisClient, streamName: string): Promise<Map<string, string>> {
  const last = new Map<string, string>();
  for (const shard of await listShards(kinesis, streamName)) {
    const shardId = shard.ShardId!;
    let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (iterator) {
      const res = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      const records = res.Records ?? [];
      if (records.length === 0) break;
      last.set(shardId, records.at(-1)!.SequenceNumber!);
      iterator = res.NextShardIterator;
    }
  }
  return last;
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round((Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024) * 10) / 10;
}

/** The baseline: the same documents as prebuilt NDJSON, sent with plain _bulk calls, CONCURRENCY at a time. */
async function plainBulk(client: Client, bodies: Buffer[]): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const res = await client.bulk({ body: body as never });
      if ((res.body as unknown as { errors: boolean }).errors) throw new Error('baseline bulk request had item errors');
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
}

async function metricValue(statusUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${statusUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** Runs one `centralog consume` process over the pre-filled stream; returns its events/s and memory. */
async function consumerRun(
  endpoints: AwsEndpoints,
  opensearchUrl: string,
  streamName: string,
  bucket: string,
  prefix: string,
  events: number,
  lastSequences: Map<string, string>,
): Promise<{ eventsPerSecond: number; peakRssMiB: number; idleRssMiB: number; cpuSeconds: number; seconds: number }> {
  const port = await freePort();
  const statusUrl = `http://127.0.0.1:${port}`;
  const leaseTable = `${prefix}-leases`;
  const leases = new LeaseTable(createDynamoDbClient(endpoints), leaseTable);
  const command = imageCommand();
  const child = spawn(process.execPath, [...command.flags, ...command.script], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      CENTRALOG_STREAM_NAME: streamName,
      CENTRALOG_LEASE_TABLE: leaseTable,
      CENTRALOG_DEAD_LETTER_BUCKET: bucket,
      CENTRALOG_OPENSEARCH_URL: opensearchUrl,
      CENTRALOG_KINESIS_ENDPOINT: endpoints.kinesis,
      CENTRALOG_DYNAMODB_ENDPOINT: endpoints.dynamodb,
      CENTRALOG_S3_ENDPOINT: endpoints.s3,
      CENTRALOG_REGION: endpoints.region,
      CENTRALOG_INDEX_PREFIX: prefix,
      // The consumer installs the templates its own build ships, as at a first start.
      CENTRALOG_INSTALL_TEMPLATES: 'true',
      CENTRALOG_STATUS_PORT: String(port),
      CENTRALOG_LOG_LEVEL: 'warn',
      CENTRALOG_MAX_IN_FLIGHT_BATCHES: String(CONCURRENCY),
      // Mapped as an operator maps them: the simulator's CloudTrail and GuardDuty are parsed as such, as in the floor.
      CENTRALOG_LOG_GROUP_SOURCES: JSON.stringify(CloudWatchLogsSimulator.LOG_GROUP_SOURCES),
    },
  });
  const exited = once(child, 'exit');
  try {
    // Healthy once the worker has started (lease table ready, shards synced).
    const deadline = Date.now() + 60_000;
    while (!(await fetch(`${statusUrl}/healthz`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('the consumer did not start');
      await sleep(20);
    }
    const idle = rssMiB(child.pid!);
    const cpuAtStart = cpuSeconds(child.pid!);
    const started = performance.now();
    // Done when every shard's checkpoint is its last record. Watched in the lease table (dynalite
    // runs in this process), not by scraping /metrics ten times a second, which would bill the
    // worker for the benchmark's own polling.
    const done = async () => {
      for (const [shardId, sequenceNumber] of lastSequences) if ((await leases.get(shardId))?.checkpoint !== sequenceNumber) return false;
      return true;
    };
    while (!(await done())) {
      if (child.exitCode !== null) throw new Error('the consumer exited');
      await sleep(50);
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(child.pid!) - cpuAtStart;
    const peak = peakRssMiB(child.pid!);
    const eventsIn = await metricValue(statusUrl, 'centralog_consumer_events_in_total');
    if (eventsIn !== events) throw new Error(`the consumer made ${eventsIn} documents of ${events} events`);
    return { eventsPerSecond: events / seconds, peakRssMiB: peak, idleRssMiB: idle, cpuSeconds: cpu, seconds };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/**
 * The consumer end to end: a pre-filled stream of mixed VPC flow, CloudTrail and GuardDuty
 * events read by one `centralog consume` process into OpenSearch. Baseline: the same
 * documents, already serialised, sent to the same node with plain _bulk calls at the same
 * concurrency. Rounds alternate (A B A B) into fresh indices; medians are kept.
 */
export async function benchConsumer(): Promise<BenchResult[]> {
  const events = Number(process.env.BENCH_CONSUMER_EVENTS ?? 60_000);
  const rounds = Number(process.env.BENCH_CONSUMER_ROUNDS ?? 3);
  const workDir = mkdtempSync(join(tmpdir(), 'centralog-bench-'));
  // Names of this run's indices and streams: a shared OpenSearch may hold an earlier run's.
  const runId = `bench-${Date.now().toString(36)}`;
  const status = (m: string) => process.stderr.write(`${m}\n`);
  status('building the consumer bundle the image runs...');
  await buildAll();
  const stack = await startLocalStack({ workDir, onStatus: status });
  try {
    const kinesis = createKinesisClient(stack.endpoints);
    const s3 = createS3Client(stack.endpoints);
    const opensearch = createOpenSearchClient(stack.opensearchUrl);
    const bucket = 'bench-dead-letters';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const simulator = new CloudWatchLogsSimulator({ accounts: 3 });
    const records = simulator.buildRecords(events);
    const entries = records.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data }));
    const asKinesis: _Record[] = records.map((r, i) => ({ Data: r.data, PartitionKey: r.partitionKey, SequenceNumber: String(i) }));
    const recordsFile = join(workDir, 'records.json');
    writeFileSync(recordsFile, JSON.stringify(records.map((r) => ({ data: r.data.toString('base64'), partitionKey: r.partitionKey }))));

    const consumer: number[] = [];
    const baseline: number[] = [];
    const cpuPerEvent: number[] = [];
    const floorPerEvent: number[] = [];
    let peak = 0;
    let idle = 0;
    // Warm-up, not counted: OpenSearch's first bulk requests (JIT, index creation) run slow.
    {
      await installIndexTemplates(opensearch, `${runId}-warmup`);
      const docs = prepareBatch(asKinesis, { streamName: 'bench', shardId: 'shardId-000000000000', indexPrefix: `${runId}-warmup` }).documents;
      await plainBulk(opensearch, [...chunkBySize(docs.map((d) => d.ndjson!), (x) => x.length, 5 * MiB)].map((c) => Buffer.concat(c)));
    }
    for (let round = 0; round < rounds; round++) {
      const basePrefix = `${runId}-base-${round}`;
      await installIndexTemplates(opensearch, basePrefix);
      floorPerEvent.push(await floorRun(recordsFile, basePrefix));
      const docs = prepareBatch(asKinesis, { streamName: 'bench', shardId: 'shardId-000000000000', indexPrefix: basePrefix }).documents;
      const bodies = [...chunkBySize(docs.map((d) => d.ndjson ?? bulkLines(d)), (b) => b.length, 5 * MiB)].map((c) => Buffer.concat(c));
      const t0 = performance.now();
      await plainBulk(opensearch, bodies);
      baseline.push(docs.length / ((performance.now() - t0) / 1000));

      const prefix = `${runId}-consumer-${round}`;
      const streamName = `${prefix}-stream`;
      await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: SHARDS }));
      await waitUntilStreamExists({ client: kinesis, maxWaitTime: 30, minDelay: 1 }, { StreamName: streamName });
      await putRecordsWithRetry(kinesis, streamName, entries);
      const run = await consumerRun(stack.endpoints, stack.opensearchUrl, streamName, bucket, prefix, events, await lastSequenceNumbers(kinesis, streamName));
      consumer.push(run.eventsPerSecond);
      cpuPerEvent.push((run.cpuSeconds * 1e6) / events);
      peak = Math.max(peak, run.peakRssMiB);
      idle = Math.max(idle, run.idleRssMiB);
      status(
        `round ${round + 1}/${rounds}: consumer ${Math.round(run.eventsPerSecond)} events/s ` +
          `(busy ${Math.round((run.cpuSeconds / run.seconds) * 100)}% of a core, ${cpuPerEvent.at(-1)!.toFixed(1)} µs CPU per event, ` +
          `floor ${floorPerEvent.at(-1)!.toFixed(1)} µs, peak RSS ${run.peakRssMiB} MiB), ` +
          `plain _bulk ${Math.round(baseline.at(-1)!)} events/s`,
      );
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const value = Math.round(median(consumer));
    const base = Math.round(median(baseline));
    return [
      { name: 'consumer: stream -> OpenSearch', value, unit: 'events/s', baseline: base, ratio: Math.round((value / base) * 1000) / 1000 },
      {
        name: 'consumer: worker CPU per event',
        value: Math.round(median(cpuPerEvent) * 10) / 10,
        unit: 'µs',
        baseline: Math.round(median(floorPerEvent) * 10) / 10,
        ratio: Math.round((median(cpuPerEvent) / median(floorPerEvent)) * 1000) / 1000,
      },
      { name: 'consumer: peak RSS per worker', value: peak, unit: 'MiB', baseline: idle, ratio: Math.round((peak / idle) * 1000) / 1000 },
    ];
  } finally {
    // An OpenSearch given by CENTRALOG_OPENSEARCH_URL outlives the run: leave nothing of it there.
    if (!stack.opensearch) {
      const client = createOpenSearchClient(stack.opensearchUrl);
      await client.indices.delete({ index: `${runId}-*` }).catch(() => undefined);
      await client.transport.request({ method: 'DELETE', path: `/_index_template/${runId}-*` }).catch(() => undefined);
      await client.transport.request({ method: 'DELETE', path: `/_component_template/${runId}-*` }).catch(() => undefined);
    }
    await stack.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
