import { CreateStreamCommand, waitUntilStreamExists } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConsumerOptionsSchema,
  createConsumer,
  createKinesisClient,
  createOpenSearchClient,
  createS3Client,
  LatencySample,
  sumCounters,
  type Worker,
} from '../consumers/index.ts';
import { installIndexTemplates } from '../infra/opensearch/index.ts';
import { CloudWatchLogsSimulator, FirehoseHarness, SIMULATED_SOURCES, startLocalStack, type LocalStack } from '../local/index.ts';
import { TRANSFORM_PROCESSOR_BUFFER_MB } from '../processors/index.ts';
import type { DemoOptions } from './demo-options.ts';
import { DemoS3Path, type DemoS3Summary } from './demo-s3.ts';
import { sumAlertCounters, type Alerting } from '../consumers/alerts/index.ts';
import { RULE_LEVELS, type RuleLevel } from '../processors/detections/index.ts';
import { alertCounts, archivedEventKeys, indexedEventIdCounts, readDeadLetters } from './verify.ts';

/** The summary `--json` prints; keys are a public contract. */
export interface DemoSummary {
  produced: number;
  controlDropped: number;
  archived: number;
  indexed: number;
  deadLettered: number;
  duplicates: number;
  unaccounted: number;
  eventsPerSecond: number;
  lagP50Ms: number;
  lagP99Ms: number;
  /** Alerts the run's events raised, by rule level (each read back from the alert index). */
  alerts: Record<RuleLevel, number>;
  /** Of those, how many are recorded as published to SNS. */
  alertsPublished: number;
  /** The S3 way in: ALB access log entries written to S3, announced on SQS, indexed by ingest-s3. */
  s3: DemoS3Summary;
}

export interface DemoIO {
  /** Results (table, JSON). */
  out: (line: string) => void;
  /** Progress and status. */
  err: (line: string) => void;
  /** Progress redraws one line on a terminal, prints a line every 5 s elsewhere. */
  interactive: boolean;
  signal?: AbortSignal;
}

export class DemoFailedError extends Error {
  override readonly name = 'DemoFailedError';
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * The product's main job on the local stack: member accounts' log groups deliver through
 * a subscription to Kinesis; Firehose archives to S3; the consumer indexes into
 * OpenSearch. Ends by reading back S3, dead letters and OpenSearch to account for every event.
 */
export async function runDemo(options: DemoOptions, io: DemoIO): Promise<{ summary: DemoSummary; ok: boolean }> {
  const workDir = mkdtempSync(join(tmpdir(), 'centralog-demo-'));
  const runId = Date.now().toString(36);
  let stack: LocalStack | undefined;
  let workers: Worker[] = [];
  let harness: FirehoseHarness | undefined;
  let s3Path: DemoS3Path | undefined;
  try {
    io.err(`centralog demo: ${options.accounts} account(s), ${options.rate} events/s for ${options.duration} s, ${options.shards} shard(s)`);
    stack = await startLocalStack({ workDir, onStatus: io.err, alerts: true, sqs: true });
    io.signal?.throwIfAborted();
    const endpoints = stack.endpoints;
    const kinesis = createKinesisClient(endpoints);
    const s3 = createS3Client(endpoints);
    const opensearch = createOpenSearchClient(stack.opensearchUrl);

    const streamName = `centralog-demo-${runId}`;
    const archiveBucket = `centralog-archive-${runId}`;
    const deadLetterBucket = `centralog-dead-letters-${runId}`;
    await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: options.shards }));
    await waitUntilStreamExists({ client: kinesis, maxWaitTime: 60, minDelay: 1 }, { StreamName: streamName });
    await s3.send(new CreateBucketCommand({ Bucket: archiveBucket }));
    await s3.send(new CreateBucketCommand({ Bucket: deadLetterBucket }));
    await installIndexTemplates(opensearch, options.indexPrefix);

    // Lease and shard events are worth seeing only when asked; warnings and errors always.
    const log = (level: string, message: string, fields?: Record<string, unknown>) => {
      if (options.verbose || level === 'warn' || level === 'error') io.err(JSON.stringify({ level, message, ...fields }));
    };
    // Workers share the shards through one lease table, as separate ECS tasks do, and are
    // built exactly as `centralog consume` builds them.
    const lag = new LatencySample();
    const alerting: Alerting[] = [];
    workers = Array.from({ length: options.workers }, (_, i) => {
      const consumer = ConsumerOptionsSchema.parse({
        streamName,
        leaseTable: `centralog-leases-${runId}`,
        deadLetterBucket,
        opensearchUrl: stack!.opensearchUrl,
        region: endpoints.region,
        kinesisEndpoint: endpoints.kinesis ?? 'aws',
        dynamodbEndpoint: endpoints.dynamodb ?? 'aws',
        s3Endpoint: endpoints.s3 ?? 'aws',
        workerId: `demo-worker-${i + 1}`,
        indexPrefix: options.indexPrefix,
        alertsTopicArn: stack!.sns?.topicArn,
        snsEndpoint: stack!.sns?.endpoint,
        logGroupSources: CloudWatchLogsSimulator.LOG_GROUP_SOURCES,
        idleBackoffMs: 250,
        retrieval: options.retrieval,
        fanoutEndpoint: stack!.fanoutEndpoint,
      });
      const parts = createConsumer(consumer, { log, lag });
      if (parts.alerting) alerting.push(parts.alerting);
      return parts.worker;
    });
    harness = new FirehoseHarness({
      kinesis,
      s3,
      streamName,
      bucket: archiveBucket,
      deliveryStreamName: `centralog-archive-${runId}`,
      region: endpoints.region,
      // The processor buffer the deployed Firehose gets, so the demo shows production's re-ingest rate.
      bufferBytes: TRANSFORM_PROCESSOR_BUFFER_MB * 1_000_000,
      // The Lambda gets the consumer's log group map, as the infra sets it.
      transformOptions: { logGroupSources: CloudWatchLogsSimulator.LOG_GROUP_SOURCES },
      log,
    });
    s3Path = await DemoS3Path.start(stack, { runId, indexPrefix: options.indexPrefix, deadLetterBucket, accounts: options.accounts, log });
    const s3p = s3Path;
    await Promise.all(workers.map((w) => w.start()));
    await harness.start().catch((err: Error) => {
      throw new DemoFailedError(err.message);
    });

    const simulator = new CloudWatchLogsSimulator({ kinesis, streamName, accounts: options.accounts, region: endpoints.region });
    const started = Date.now();
    const counters = () => sumCounters(workers.map((w) => w.counters));
    const h = harness;
    let lastPrinted = 0;
    const progress = (final = false) => {
      const secs = Math.round((Date.now() - started) / 1000);
      const parts = SIMULATED_SOURCES.map(
        (s) =>
          `${s} ${fmt(simulator.producedBySource[s])}/${fmt(h.counters.linesBySource[`aws.${s}`] ?? 0)}/${fmt(counters().indexedBySource[s])}`,
      );
      const line = `[${String(secs).padStart(4)}s] ${parts.join('  ')}  ${s3p.progress()}  dead-lettered ${fmt(counters().deadLettered)}  leases ${workers.map((w) => w.heldShards.length).join('/')}  (produced/archived/indexed)`;
      if (io.interactive) process.stderr.write(`\r${line}${final ? '\n' : ''}`);
      else if (final || Date.now() - lastPrinted >= 5000) {
        lastPrinted = Date.now();
        io.err(line);
      }
    };
    const failure = () => harness?.error;
    const ticker = setInterval(() => progress(), 1000);
    try {
      await simulator.subscribe();
      // Access logs at a tenth of the rate: one object per account and second, as many load balancers would write.
      const accessLogs = s3p.simulator.run({ durationMs: options.duration * 1000, ratePerSecond: Math.max(options.accounts, options.rate / 10), signal: io.signal });
      const run = Promise.all([simulator.run({ durationMs: options.duration * 1000, ratePerSecond: options.rate, signal: io.signal }), accessLogs]);
      // Stop producing as soon as a component fails rather than running on.
      while (!(await Promise.race([run.then(() => true), sleep(250).then(() => false)]))) {
        const err = failure();
        if (err) throw new DemoFailedError(err.message);
      }
      await run;
      const deadline = Date.now() + options.drainTimeout * 1000;
      // Also until the consumer has skipped every record the transform put back, so the summary's rows agree.
      while (
        Date.now() < deadline &&
        (counters().created + counters().deadLettered < simulator.produced ||
          h.counters.linesArchived < simulator.produced ||
          counters().reingestedSkipped < h.counters.reingestedRecords ||
          !s3p.drained())
      ) {
        io.signal?.throwIfAborted();
        const err = failure();
        if (err) throw new DemoFailedError(err.message);
        await sleep(100);
      }
    } finally {
      clearInterval(ticker);
      progress(true);
    }
    const drainedAt = Date.now();
    // Every batch is delivered: let its alerts reach SNS before the workers stop.
    await Promise.all(alerting.map((a) => a.idle()));
    await Promise.all(workers.map((w) => w.stop()));
    await harness.stop();
    await s3p.stop();
    // A failure while delivering the last records must not pass as a short archive.
    const stopped = failure();
    if (stopped) throw new DemoFailedError(stopped.message);
    io.signal?.throwIfAborted();

    io.err('verifying: reading back S3, dead letters and OpenSearch...');
    const produced = [...simulator.producedKeys];
    const idOf = (key: string) => key.slice(key.lastIndexOf('|') + 1);
    const archive = await archivedEventKeys(s3, archiveBucket);
    const letters = await readDeadLetters(s3, deadLetterBucket);
    const deadKeys = new Set(
      letters.filter((l) => l.envelope && l.event).map((l) => `${l.envelope!.owner}|${l.envelope!.logGroup}|${l.envelope!.logStream}|${l.event!.id}`),
    );
    const indexedCounts = await indexedEventIdCounts(opensearch, `${options.indexPrefix}-aws.*`, produced.map(idOf));
    let indexed = 0;
    let duplicates = 0;
    let archived = 0;
    let unaccounted = 0;
    for (const key of produced) {
      const n = indexedCounts.get(idOf(key)) ?? 0;
      if (n > 0) indexed++;
      duplicates += Math.max(0, n - 1);
      const inArchive = archive.has(key);
      if (inArchive) archived++;
      if (!inArchive || (n === 0 && !deadKeys.has(key))) unaccounted++;
    }
    // The run's own alerts, by its events' ids: the index may hold other runs' (a shared node, --keep).
    const alerts = await alertCounts(opensearch, `${options.indexPrefix}-alerts-*`, produced.map(idOf));
    const seconds = Math.max(0.001, (drainedAt - started) / 1000);
    const summary: DemoSummary = {
      produced: produced.length,
      controlDropped: counters().controlDropped,
      archived,
      indexed,
      deadLettered: letters.length,
      duplicates,
      unaccounted,
      eventsPerSecond: Math.round((indexed / seconds) * 10) / 10,
      lagP50Ms: Math.round(lag.percentile(50) ?? 0),
      lagP99Ms: Math.round(lag.percentile(99) ?? 0),
      alerts: alerts.byLevel,
      alertsPublished: alerts.published,
      s3: await s3p.verify(opensearch, options.indexPrefix),
    };
    const alertsRaised = RULE_LEVELS.reduce((n, l) => n + summary.alerts[l], 0);
    const created = sumAlertCounters(alerting.map((a) => a.counters)).raised;
    // What the workers created is what the index holds, and all of it reached SNS.
    const alertsOk = RULE_LEVELS.every((l) => created[l] === summary.alerts[l]) && summary.alertsPublished === alertsRaised;
    const s3Ok = summary.s3.produced > 0 && summary.s3.unaccounted === 0 && summary.s3.duplicates === 0;
    const ok = summary.produced > 0 && summary.unaccounted === 0 && summary.duplicates === 0 && alertsOk && s3Ok;

    const rows: Array<[string, string]> = [
      ['produced (log events)', fmt(summary.produced)],
      ['CONTROL messages dropped', `${fmt(summary.controlDropped)} (consumer), ${fmt(h.counters.controlDropped)} (Firehose)`],
      [
        're-ingested by the transform (Firehose)',
        `${fmt(h.counters.reingestedRecords)} records put back into the stream (${fmt(h.counters.reingestedEvents)} log events, from ${fmt(h.counters.reingestDropped)} records answered Dropped)`,
      ],
      ['re-ingested records skipped (consumer)', fmt(counters().reingestedSkipped)],
      ['archived to S3', fmt(summary.archived)],
      ['indexed in OpenSearch', fmt(summary.indexed)],
      ['dead-lettered', fmt(summary.deadLettered)],
      ['duplicates in OpenSearch', fmt(summary.duplicates)],
      ['duplicates avoided (409)', fmt(counters().duplicates)],
      ['unaccounted', fmt(summary.unaccounted)],
      ['events/s (produce to indexed)', String(summary.eventsPerSecond)],
      ['lag p50 / p99 (event time to indexed)', `${fmt(summary.lagP50Ms)} ms / ${fmt(summary.lagP99Ms)} ms`],
      ['alerts raised (Sigma rules)', `${fmt(alertsRaised)}: ${[...RULE_LEVELS].reverse().map((l) => `${l} ${fmt(summary.alerts[l])}`).join(', ')}`],
      ['alerts published to SNS', fmt(summary.alertsPublished)],
      [
        'ALB access logs via S3 -> SQS',
        `${fmt(summary.s3.produced)} entries in ${fmt(summary.s3.objects)} objects: indexed ${fmt(summary.s3.indexed)}, dead-lettered ${fmt(summary.s3.deadLettered)}, duplicates ${fmt(summary.s3.duplicates)}, unaccounted ${fmt(summary.s3.unaccounted)}`,
      ],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    io.out('');
    for (const [k, v] of rows) io.out(`  ${k.padEnd(width)}  ${v}`);
    io.out('');
    io.out(
      ok
        ? 'every produced event is in OpenSearch (or dead-lettered) and in S3; every alert is published'
        : alertsOk
          ? 'FAILED: some events are unaccounted for or duplicated'
          : 'FAILED: some alerts are not in the alert index or not published',
    );

    if (options.keep) {
      io.out('');
      io.out('services are up (Ctrl-C to stop):');
      for (const s of stack.services) io.out(`  ${s.name.padEnd(10)} ${s.endpoint}${s.embedded ? '' : ' (from environment)'}`);
      io.out(`  kinesis stream ${streamName}; S3 buckets ${archiveBucket}, ${deadLetterBucket}`);
      io.out('example queries:');
      io.out(`  curl -s '${stack.opensearchUrl}/_cat/indices/${options.indexPrefix}-*?v'`);
      io.out(`  curl -s '${stack.opensearchUrl}/${options.indexPrefix}-aws.cloudtrail-*/_search?q=event.action:ConsoleLogin&pretty'`);
      io.out(`  curl -s '${stack.opensearchUrl}/${options.indexPrefix}-aws.guardduty-*/_search?q=event.kind:alert&size=1&pretty'`);
      io.out(`  curl -s '${stack.opensearchUrl}/${options.indexPrefix}-alerts-*/_search?q=centralog.alert.level:high&size=1&pretty'`);
      // The operator commands read these variables, so one paste points them all at this stack.
      const vars: Array<[string, string | undefined]> = [
        ['CENTRALOG_REGION', endpoints.region],
        ['CENTRALOG_KINESIS_ENDPOINT', endpoints.kinesis],
        ['CENTRALOG_DYNAMODB_ENDPOINT', endpoints.dynamodb],
        ['CENTRALOG_S3_ENDPOINT', endpoints.s3],
        ['CENTRALOG_OPENSEARCH_URL', stack.opensearchUrl],
        ['CENTRALOG_STREAM_NAME', streamName],
        ['CENTRALOG_LEASE_TABLE', `centralog-leases-${runId}`],
        ['CENTRALOG_ARCHIVE_BUCKET', archiveBucket],
        ['CENTRALOG_DEAD_LETTER_BUCKET', deadLetterBucket],
        ['CENTRALOG_INDEX_PREFIX', options.indexPrefix],
        ['CENTRALOG_SNS_ENDPOINT', stack.sns?.endpoint],
        ['CENTRALOG_ALERTS_TOPIC_ARN', stack.sns?.topicArn],
        ['CENTRALOG_LOG_GROUP_SOURCES', `'${JSON.stringify(CloudWatchLogsSimulator.LOG_GROUP_SOURCES)}'`],
      ];
      io.out('point the operator commands here (in another shell), then try `npx centralog status`:');
      for (const [name, value] of vars) if (value !== undefined) io.out(`  export ${name}=${value}`);
    }
    if (options.json) io.out(JSON.stringify(summary));
    if (options.keep) {
      await new Promise<void>((resolve) => {
        if (io.signal?.aborted) resolve();
        io.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    return { summary, ok };
  } finally {
    await Promise.all(workers.map((w) => w.stop().catch(() => undefined)));
    await harness?.stop().catch(() => undefined);
    await s3Path?.stop().catch(() => undefined);
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
