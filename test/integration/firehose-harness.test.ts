import {
  DeleteStreamCommand,
  GetRecordsCommand,
  ListShardsCommand,
  ProvisionedThroughputExceededException,
  PutRecordCommand,
  PutRecordsCommand,
  type KinesisClient,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../../consumers/index.ts';
import {
  CloudWatchLogsSimulator,
  FirehoseHarness,
  MAX_TRANSFORM_RESPONSE_BYTES,
  validateResponse,
  type FirehoseHarnessOptions,
  type TransformFunction,
} from '../../local/index.ts';
import {
  createFirehoseTransformHandler,
  decodeCwlRecord,
  detectSource,
  encodeCwlRecord,
  firehoseTransformHandler,
  type CwlLogEvent,
  type FirehoseTransformationEvent,
  type FirehoseTransformationResult,
} from '../../processors/index.ts';
import { createBucket, createStream, readShard, readStream, startTestStack, uniqueName, waitFor } from '../helpers.ts';

type TestStack = Awaited<ReturnType<typeof startTestStack>>;

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const STAMP = '(\\d{4})-(\\d{2})-(\\d{2})-(\\d{2})-(\\d{2})-(\\d{2})';

/** Every key in a bucket, following ListObjectsV2 pagination. */
async function listKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token, MaxKeys: 5 }));
    for (const o of out.Contents ?? []) keys.push(o.Key!);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function getText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToString('utf8');
}

function ndjson(body: string): Record<string, unknown>[] {
  expect(body.endsWith('\n'), 'NDJSON object ends with a newline').toBe(true);
  return body
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}


const pad2 = (n: number): string => String(n).padStart(2, '0');

describe('Firehose harness over a real stream and bucket', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  describe('CloudWatch Logs traffic with a corrupt and a truncated record', () => {
    const streamName = uniqueName('cwl-archive');
    const bucket = uniqueName('archive');
    const deliveryStreamName = 'centralog-archive';
    let simulator: CloudWatchLogsSimulator;
    let harness: FirehoseHarness;
    let corrupt: Buffer;
    let truncated: Buffer;
    let totalRecords: number;
    let startedAt: number;
    let finishedAt: number;
    let keys: string[];
    /** Every event in the stream, by `owner|logGroup|logStream|id`. */
    const streamEvents = new Map<string, CwlLogEvent>();

    beforeAll(async () => {
      await createStream(stack.kinesis, streamName, 2);
      await createBucket(stack.s3, bucket);
      simulator = new CloudWatchLogsSimulator({ kinesis: stack.kinesis, streamName, accounts: 3 });
      startedAt = Date.now();
      await simulator.subscribe();
      await simulator.produce(150);

      corrupt = randomBytes(600);
      corrupt[0] = 0x42; // neither gzip nor zlib
      const valid = encodeCwlRecord({
        messageType: 'DATA_MESSAGE',
        owner: '999999999999',
        logGroup: '/aws/vpc/flowlogs',
        logStream: 'eni-0123456789abcdef0-all',
        subscriptionFilters: ['centralog-destination'],
        logEvents: [
          {
            id: '3'.repeat(56),
            timestamp: Date.now(),
            message: '2 999999999999 eni-0123456789abcdef0 10.0.0.1 10.0.0.2 443 49152 6 10 840 1700000000 1700000060 ACCEPT OK',
          },
        ],
      });
      truncated = valid.subarray(0, Math.floor(valid.length / 2));
      expect(decodeCwlRecord(valid).kind).toBe('data');
      await stack.kinesis.send(new PutRecordCommand({ StreamName: streamName, PartitionKey: 'corrupt', Data: corrupt }));
      await stack.kinesis.send(new PutRecordCommand({ StreamName: streamName, PartitionKey: 'truncated', Data: truncated }));
      await simulator.produce(150);
      totalRecords = simulator.recordsSent + 2;

      harness = new FirehoseHarness({
        kinesis: stack.kinesis,
        s3: stack.s3,
        streamName,
        bucket,
        deliveryStreamName,
        bufferIntervalMs: 200,
      });
      await harness.start();
      const c = harness.counters;
      await waitFor(
        'the harness to handle every record',
        () => harness.error !== undefined || (c.recordsIn === totalRecords && c.ok + c.dropped + c.processingFailed === totalRecords),
        45_000,
      );
      await harness.stop();
      finishedAt = Date.now();
      expect(harness.error).toBeUndefined();
      keys = await listKeys(stack.s3, bucket);

      for (const record of await readStream(stack.kinesis, streamName)) {
        const decoded = decodeCwlRecord(record.Data!);
        if (decoded.kind !== 'data') continue;
        const { owner, logGroup, logStream } = decoded.envelope;
        for (const e of decoded.envelope.logEvents) streamEvents.set(`${owner}|${logGroup}|${logStream}|${e.id}`, e);
      }
    }, 120_000);

    it('handles every record exactly once: data Ok, CONTROL_MESSAGEs dropped, the two bad records failed', () => {
      const c = harness.counters;
      expect(simulator.produced).toBe(300);
      expect(simulator.controlMessagesSent).toBe(9);
      expect(c.recordsIn).toBe(totalRecords);
      expect(c.dropped).toBe(simulator.controlMessagesSent);
      expect(c.controlDropped).toBe(simulator.controlMessagesSent);
      expect(c.reingestDropped).toBe(0);
      expect(c.processingFailed).toBe(2);
      expect(c.ok).toBe(simulator.recordsSent - simulator.controlMessagesSent);
      expect(c.linesArchived).toBe(300);
      expect(c.linesBySource).toEqual({
        ...(simulator.producedBySource.vpcflow > 0 ? { 'aws.vpcflow': simulator.producedBySource.vpcflow } : {}),
        ...(simulator.producedBySource.cloudtrail > 0 ? { 'aws.cloudtrail': simulator.producedBySource.cloudtrail } : {}),
        ...(simulator.producedBySource.guardduty > 0 ? { 'aws.guardduty': simulator.producedBySource.guardduty } : {}),
      });
    });

    it('writes every object under a partition prefix or processing-failed/, named <stream>-1-<yyyy-MM-dd-HH-mm-ss>-<uuid>', () => {
      const archive = new RegExp(
        `^source=aws\\.(vpcflow|cloudtrail|guardduty)/account=(\\d{12})/year=(\\d{4})/month=(\\d{2})/day=(\\d{2})/hour=(\\d{2})/${deliveryStreamName}-1-${STAMP}-${UUID}$`,
      );
      const failed = new RegExp(`^processing-failed/(\\d{4})/(\\d{2})/(\\d{2})/(\\d{2})/${deliveryStreamName}-1-${STAMP}-${UUID}$`);
      expect(keys.length).toBe(harness.counters.objectsWritten);
      expect(keys.some((k) => archive.test(k))).toBe(true);
      expect(keys.some((k) => failed.test(k))).toBe(true);
      const earliest = Math.floor(startedAt / 1000) * 1000;
      for (const key of keys) {
        const m = archive.exec(key) ?? failed.exec(key);
        expect(m, key).not.toBeNull();
        const [y, mo, d, h, mi, s] = m!.slice(-6).map(Number) as [number, number, number, number, number, number];
        const written = Date.UTC(y, mo - 1, d, h, mi, s);
        expect(written, key).toBeGreaterThanOrEqual(earliest);
        expect(written, key).toBeLessThanOrEqual(finishedAt);
        if (key.startsWith('processing-failed/')) {
          const [, fy, fm, fd, fh] = m!;
          // The hour folder is the hour of the object's own timestamp.
          expect(`${fy}/${fm}/${fd}/${fh}`).toBe(`${y}/${pad2(mo)}/${pad2(d)}/${pad2(h)}`);
        }
      }
    });

    it('archives exactly the produced events, once each, as NDJSON lines in their source/account/hour partition', async () => {
      const archive = /^source=([^/]+)\/account=(\d{12})\/year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/hour=(\d{2})\//;
      const archived: string[] = [];
      for (const key of keys.filter((k) => k.startsWith('source='))) {
        const [, source, account, year, month, day, hour] = archive.exec(key)!;
        for (const line of ndjson(await getText(stack.s3, bucket, key))) {
          expect(typeof line.message).toBe('string');
          expect(typeof line.timestamp).toBe('number');
          expect(typeof line.source).toBe('string');
          const message = line.message as string;
          const t = new Date(line.timestamp as number);
          expect(line.source).toBe(`aws.${detectSource(message).source}`);
          expect(line.source).toBe(source);
          expect(line.owner).toBe(account);
          expect([String(t.getUTCFullYear()), pad2(t.getUTCMonth() + 1), pad2(t.getUTCDate()), pad2(t.getUTCHours())]).toEqual([
            year,
            month,
            day,
            hour,
          ]);
          const id = `${line.owner as string}|${line.logGroup as string}|${line.logStream as string}|${line.id as string}`;
          const original = streamEvents.get(id);
          expect(original, id).toBeDefined();
          expect(message).toBe(original!.message);
          expect(line.timestamp).toBe(original!.timestamp);
          archived.push(id);
        }
      }
      expect(archived.length).toBe(300);
      expect(new Set(archived).size).toBe(archived.length);
      expect([...archived].sort()).toEqual([...simulator.producedKeys].sort());
    });

    it('does not archive CONTROL_MESSAGEs', async () => {
      for (const key of keys) {
        const body = await getText(stack.s3, bucket, key);
        expect(body, key).not.toContain('CWL CONTROL MESSAGE');
        expect(body, key).not.toContain('"owner":"CloudwatchLogs"');
      }
    });

    it('writes the corrupt and the truncated-gzip record to processing-failed/ with errorCode, errorMessage and the original data', async () => {
      const lines: Record<string, unknown>[] = [];
      for (const key of keys.filter((k) => k.startsWith('processing-failed/'))) {
        lines.push(...ndjson(await getText(stack.s3, bucket, key)));
      }
      expect(lines).toHaveLength(2);
      for (const line of lines) {
        expect(typeof line.errorCode).toBe('string');
        expect((line.errorCode as string).length).toBeGreaterThan(0);
        expect(typeof line.errorMessage).toBe('string');
        expect((line.errorMessage as string).length).toBeGreaterThan(0);
      }
      expect(lines.map((l) => l.rawData).sort()).toEqual([corrupt.toString('base64'), truncated.toString('base64')].sort());
    });
  });

  describe('a transform that breaks the response contract', () => {
    const misbehaviours: Array<{ name: string; errorCode: string; mangle: (r: FirehoseTransformationResult) => FirehoseTransformationResult }> = [
      {
        name: 'answers one recordId twice',
        errorCode: 'Lambda.DuplicatedRecordId',
        mangle: (r) => ({ records: r.records.map((rec, i) => (i === 1 ? { ...rec, recordId: r.records[0]!.recordId } : rec)) }),
      },
      {
        name: 'omits one recordId',
        errorCode: 'Lambda.MissingRecordId',
        mangle: (r) => ({ records: r.records.slice(0, -1) }),
      },
      {
        name: 'answers one record without its recordId',
        errorCode: 'Lambda.MissingRecordId',
        mangle: (r) => ({ records: r.records.map(({ recordId, ...rest }, i) => (i === 0 ? rest : { recordId, ...rest })) as FirehoseTransformationResult['records'] }),
      },
      {
        name: 'answers with more than 6,000,000 bytes',
        errorCode: 'Lambda.ResponseSizeExceeded',
        mangle: (r) => ({
          records: r.records.map((rec, i) => (i === 0 ? { ...rec, data: Buffer.alloc(4_600_000, 7).toString('base64') } : rec)),
        }),
      },
    ];

    for (const { name, errorCode, mangle } of misbehaviours) {
      it(`${name}: retried, then every record of the invocation goes to processing-failed/ with errorCode ${errorCode}`, async () => {
        const streamName = uniqueName('bad-transform');
        const bucket = uniqueName('bad-transform');
        await createStream(stack.kinesis, streamName, 1);
        await createBucket(stack.s3, bucket);
        const simulator = new CloudWatchLogsSimulator({ kinesis: stack.kinesis, streamName, accounts: 1 });
        await simulator.subscribe();
        await simulator.produce(40);
        const originals = (await readStream(stack.kinesis, streamName)).map((r) => Buffer.from(r.Data!).toString('base64'));
        expect(originals.length).toBe(simulator.recordsSent);
        expect(originals.length).toBeGreaterThanOrEqual(2);

        const invocations: number[] = [];
        const transform: TransformFunction = async (event) => {
          invocations.push(event.records.length);
          return mangle(await firehoseTransformHandler(event));
        };
        const harness = new FirehoseHarness({
          kinesis: stack.kinesis,
          s3: stack.s3,
          streamName,
          bucket,
          deliveryStreamName: 'centralog-archive',
          bufferIntervalMs: 200,
          transform,
          retry: { retries: 1, baseDelayMs: 50 },
        });
        await harness.start();
        try {
          await waitFor(
            'every record to be failed',
            () => harness.error !== undefined || harness.counters.processingFailed >= originals.length,
          );
        } finally {
          await harness.stop();
        }
        expect(harness.error).toBeUndefined();
        // All records arrived in one invocation, tried twice, so the broken answer concerns each of them.
        expect(invocations).toEqual([originals.length, originals.length]);
        expect(harness.counters.retries).toBe(1);
        expect(harness.counters.failedBatches).toBe(1);
        expect(harness.counters.processingFailed).toBe(originals.length);
        expect(harness.counters.ok).toBe(0);
        expect(harness.counters.dropped).toBe(0);
        expect(harness.counters.linesArchived).toBe(0);

        const keys = await listKeys(stack.s3, bucket);
        expect(keys.length).toBeGreaterThan(0);
        const lines: Record<string, unknown>[] = [];
        for (const key of keys) {
          expect(key.startsWith('processing-failed/'), key).toBe(true);
          lines.push(...ndjson(await getText(stack.s3, bucket, key)));
        }
        expect(lines).toHaveLength(originals.length);
        for (const line of lines) {
          expect(line.errorCode).toBe(errorCode);
          expect(line.attemptsMade).toBe(2);
          expect(typeof line.errorMessage).toBe('string');
          expect((line.errorMessage as string).length).toBeGreaterThan(0);
        }
        expect(lines.map((l) => l.rawData).sort()).toEqual([...originals].sort());
      });
    }
  });
  /** The processor buffer the batching tests use: Firehose's smallest, so a few records exceed it. */
  const BUFFER = 200_000;

  /** A CWL record of about `bytes` gzip bytes: one event of incompressible text. */
  function bigRecord(logStream: string, n: number, bytes: number): Buffer {
    return encodeCwlRecord({
      messageType: 'DATA_MESSAGE',
      owner: '210987654321',
      logGroup: '/app/bulk',
      logStream,
      subscriptionFilters: ['f'],
      // base64 of random bytes gzips to about 76% of its length.
      logEvents: [{ id: String(n).padStart(56, '0'), timestamp: Date.now(), message: randomBytes(Math.ceil(bytes / 1.01)).toString('base64') }],
    });
  }

  /** One PutRecords round into a chosen shard per entry (PutRecords keeps their order within a shard). */
  async function putInto(kinesis: KinesisClient, streamName: string, entries: Array<{ shard: number; data: Buffer }>): Promise<void> {
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: streamName }))).Shards!;
    const records: PutRecordsRequestEntry[] = entries.map(({ shard, data }) => ({
      PartitionKey: `p${shard}`,
      ExplicitHashKey: shards[shard]!.HashKeyRange!.StartingHashKey!,
      Data: data,
    }));
    const out = await kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: records }));
    expect(out.FailedRecordCount ?? 0).toBe(0);
  }

  interface GetRecordsCall {
    at: number;
    bytes: number;
    records: number;
    throttled: boolean;
  }

  /** A client on the same kinesalite that notes every GetRecords and can refuse the first few as throttled. */
  function spyingKinesis(throttleFirst = 0): { kinesis: KinesisClient; calls: GetRecordsCall[] } {
    const kinesis = createKinesisClient(stack.endpoints);
    const calls: GetRecordsCall[] = [];
    const send = kinesis.send.bind(kinesis) as (command: unknown, options?: unknown) => Promise<unknown>;
    const spied = async (command: unknown, options?: unknown) => {
      if (!(command instanceof GetRecordsCommand)) return send(command, options);
      const at = Date.now();
      if (calls.filter((c) => c.throttled).length < throttleFirst) {
        calls.push({ at, bytes: 0, records: 0, throttled: true });
        throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded for shard', $metadata: {} });
      }
      const out = (await send(command, options)) as { Records?: Array<{ Data?: Uint8Array }> };
      const bytes = (out.Records ?? []).reduce((n, r) => n + (r.Data?.byteLength ?? 0), 0);
      calls.push({ at, bytes, records: out.Records?.length ?? 0, throttled: false });
      return out;
    };
    Object.assign(kinesis, { send: spied });
    return { kinesis, calls };
  }

  interface Invocation {
    bytes: number;
    /** `shardId/sequenceNumber` of each record, in the event's order. */
    records: string[];
  }

  /** The real handler (no re-ingest), noting each invocation's input. */
  function spyTransform(invocations: Invocation[]): TransformFunction {
    return async (event, context) => {
      invocations.push({
        bytes: event.records.reduce((n, r) => n + Buffer.from(r.data, 'base64').length, 0),
        records: event.records.map((r) => `${r.kinesisRecordMetadata!.shardId}/${r.kinesisRecordMetadata!.sequenceNumber}`),
      });
      return createFirehoseTransformHandler({ metrics: context.metrics })(event);
    };
  }

  async function runHarness(options: Omit<FirehoseHarnessOptions, 's3' | 'deliveryStreamName'>, done: (h: FirehoseHarness) => boolean, timeoutMs = 45_000) {
    const harness = new FirehoseHarness({ s3: stack.s3, deliveryStreamName: 'centralog-archive', bufferIntervalMs: 200, ...options });
    await harness.start();
    try {
      await waitFor('the harness to finish', () => harness.error !== undefined || done(harness), timeoutMs);
    } finally {
      await harness.stop();
    }
    expect(harness.error).toBeUndefined();
    return harness;
  }

  describe('reading and batching as Firehose does', () => {
    it('splits a GetRecords response larger than the processor buffer into invocations of at most the buffer, in stream order, polling within the shard limits', async () => {
      const streamName = uniqueName('big-read');
      const bucket = uniqueName('big-read');
      await createStream(stack.kinesis, streamName, 1);
      await createBucket(stack.s3, bucket);
      // Over 2 MB in one shard, one record (~300 KB) larger than the buffer on its own.
      const entries = Array.from({ length: 45 }, (_, i) => ({ shard: 0, data: bigRecord('s', i, i === 10 ? 300_000 : 60_000) }));
      const big = entries[10]!.data.length;
      expect(big).toBeGreaterThan(BUFFER);
      await putInto(stack.kinesis, streamName, entries);
      const total = entries.reduce((n, e) => n + e.data.length, 0);

      const { kinesis, calls } = spyingKinesis();
      const invocations: Invocation[] = [];
      // Room to queue everything, so that only the read pacing spaces the calls, not waiting for delivery.
      const harness = await runHarness(
        { kinesis, streamName, bucket, bufferBytes: BUFFER, maxQueuedBytes: 20_000_000, transform: spyTransform(invocations) },
        (h) => h.counters.ok === entries.length && h.counters.getRecordsCalls >= 4,
      );

      // The premise: one GetRecords brought far more than one buffer.
      expect(calls[0]!.bytes).toBe(total);
      expect(calls[0]!.bytes).toBeGreaterThan(5 * BUFFER);
      for (const inv of invocations) {
        if (inv.records.length > 1) expect(inv.bytes).toBeLessThanOrEqual(BUFFER);
        else expect(inv.bytes).toBeLessThanOrEqual(big);
      }
      expect(invocations.filter((inv) => inv.bytes === big).map((inv) => inv.records.length)).toEqual([1]);
      expect(invocations.length).toBeGreaterThanOrEqual(Math.ceil(total / BUFFER));
      // Invocations one after another carry the shard's records in its order, each once.
      const shardId = (await kinesis.send(new ListShardsCommand({ StreamName: streamName }))).Shards![0]!.ShardId!;
      const inStream = (await readShard(stack.kinesis, streamName, shardId)).map((r) => `${shardId}/${r.SequenceNumber}`);
      expect(invocations.flatMap((inv) => inv.records)).toEqual(inStream);
      expect(harness.counters.linesArchived).toBe(entries.length);
      // About one GetRecords per second, and an answer over 2 MB spends the shard's 2 MB/s for over a second.
      for (let i = 1; i < calls.length; i++) {
        const gap = calls[i]!.at - calls[i - 1]!.at;
        expect(gap, `GetRecords ${i}`).toBeGreaterThanOrEqual(Math.max(1000, (calls[i - 1]!.bytes / 2_000_000) * 1000) - 20);
      }
    });

    it('keeps each shard in order across invocations that mix shards', async () => {
      const streamName = uniqueName('shard-order');
      const bucket = uniqueName('shard-order');
      await createStream(stack.kinesis, streamName, 3);
      await createBucket(stack.s3, bucket);
      const entries = Array.from({ length: 36 }, (_, i) => ({ shard: i % 3, data: bigRecord(`s${i % 3}`, i, 20_000 + (i % 5) * 9_000) }));
      await putInto(stack.kinesis, streamName, entries);

      const invocations: Invocation[] = [];
      const harness = await runHarness(
        { kinesis: stack.kinesis, streamName, bucket, bufferBytes: BUFFER, transform: spyTransform(invocations) },
        (h) => h.counters.ok === entries.length,
      );
      expect(invocations.length).toBeGreaterThan(3);
      expect(invocations.some((inv) => new Set(inv.records.map((r) => r.split('/')[0])).size > 1)).toBe(true);
      for (const inv of invocations) expect(inv.bytes).toBeLessThanOrEqual(BUFFER);
      const delivered = invocations.flatMap((inv) => inv.records);
      for (const shard of (await stack.kinesis.send(new ListShardsCommand({ StreamName: streamName }))).Shards!) {
        const id = shard.ShardId!;
        const inStream = (await readShard(stack.kinesis, streamName, id)).map((r) => `${id}/${r.SequenceNumber}`);
        expect(inStream.length).toBe(12);
        expect(delivered.filter((r) => r.startsWith(`${id}/`))).toEqual(inStream);
      }
      expect(harness.counters.linesArchived).toBe(entries.length);
    });

    it('backs off when GetRecords is throttled and still delivers every record', async () => {
      const streamName = uniqueName('throttled');
      const bucket = uniqueName('throttled');
      await createStream(stack.kinesis, streamName, 1);
      await createBucket(stack.s3, bucket);
      await putInto(stack.kinesis, streamName, Array.from({ length: 5 }, (_, i) => ({ shard: 0, data: bigRecord('s', i, 1_000) })));
      const { kinesis, calls } = spyingKinesis(3);
      const harness = await runHarness({ kinesis, streamName, bucket }, (h) => h.counters.ok === 5);
      const throttled = calls.filter((c) => c.throttled);
      expect(throttled).toHaveLength(3);
      // Each retry after a refusal waits (the reader's back-off starts at 250 ms with jitter, never under half).
      for (let i = 1; i < calls.length && calls[i - 1]!.throttled; i++) {
        expect(calls[i]!.at - calls[i - 1]!.at, `retry ${i}`).toBeGreaterThanOrEqual(100);
      }
      expect(harness.counters.linesArchived).toBe(5);
    });
  });

  describe('failed invocations: retried, then kept under processing-failed/', () => {
    async function failedLines(bucket: string): Promise<Record<string, unknown>[]> {
      const lines: Record<string, unknown>[] = [];
      for (const key of await listKeys(stack.s3, bucket)) {
        if (key.startsWith('processing-failed/')) lines.push(...ndjson(await getText(stack.s3, bucket, key)));
      }
      return lines;
    }

    async function setup(name: string, records = 4) {
      const streamName = uniqueName(name);
      const bucket = uniqueName(name);
      await createStream(stack.kinesis, streamName, 1);
      await createBucket(stack.s3, bucket);
      const entries = Array.from({ length: records }, (_, i) => ({ shard: 0, data: bigRecord('s', i, 500) }));
      await putInto(stack.kinesis, streamName, entries);
      return { streamName, bucket, originals: entries.map((e) => e.data.toString('base64')) };
    }

    it('retries a throwing transform with back-off, then writes every record to processing-failed/ with the attempts made', async () => {
      const { streamName, bucket, originals } = await setup('throws');
      const attempts: Array<{ at: number; ids: string[] }> = [];
      const transform: TransformFunction = async (event) => {
        attempts.push({ at: Date.now(), ids: event.records.map((r) => r.recordId) });
        throw new Error('boom');
      };
      const harness = await runHarness(
        { kinesis: stack.kinesis, streamName, bucket, transform, retry: { retries: 2, baseDelayMs: 200 } },
        (h) => h.counters.processingFailed === originals.length,
      );
      expect(attempts).toHaveLength(3);
      // The same batch each time, after waits of about 200 ms and then 400 ms.
      for (const a of attempts) expect(a.ids).toEqual(attempts[0]!.ids);
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(190);
      expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(390);
      expect(harness.counters).toMatchObject({ invocations: 3, retries: 2, failedBatches: 1, ok: 0, linesArchived: 0 });
      const lines = await failedLines(bucket);
      expect(lines.map((l) => l.rawData).sort()).toEqual([...originals].sort());
      for (const line of lines) expect(line).toMatchObject({ errorCode: 'Lambda.FunctionError', errorMessage: 'boom', attemptsMade: 3 });
    });

    it('archives the batch when a retry succeeds, with nothing in processing-failed/', async () => {
      const { streamName, bucket, originals } = await setup('flaky');
      let calls = 0;
      const transform: TransformFunction = async (event, context) => {
        if (++calls <= 2) throw new Error('cold start went wrong');
        return createFirehoseTransformHandler({ metrics: context.metrics })(event);
      };
      const harness = await runHarness(
        { kinesis: stack.kinesis, streamName, bucket, transform, retry: { retries: 3, baseDelayMs: 50 } },
        (h) => h.counters.ok === originals.length,
      );
      expect(harness.counters).toMatchObject({ invocations: 3, retries: 2, failedBatches: 0, processingFailed: 0, linesArchived: originals.length });
      expect(await failedLines(bucket)).toEqual([]);
    });

    it('fails an invocation that does not answer within the timeout, and retries it', async () => {
      const { streamName, bucket, originals } = await setup('hangs');
      let calls = 0;
      const transform: TransformFunction = () => {
        calls++;
        return new Promise(() => undefined);
      };
      const harness = await runHarness(
        { kinesis: stack.kinesis, streamName, bucket, transform, retry: { retries: 1, baseDelayMs: 50, timeoutMs: 300 } },
        (h) => h.counters.processingFailed === originals.length,
      );
      expect(calls).toBe(2);
      expect(harness.counters.failedBatches).toBe(1);
      const lines = await failedLines(bucket);
      expect(lines).toHaveLength(originals.length);
      for (const line of lines) expect(line).toMatchObject({ errorCode: 'Lambda.FunctionTimedOut', attemptsMade: 2 });
    });

    it('stops retrying once the retry duration is spent, whatever retries are left', async () => {
      const { streamName, bucket, originals } = await setup('duration');
      const transform: TransformFunction = async () => {
        throw new Error('still broken');
      };
      // 1st attempt at 0, 2nd after 400 ms; a 3rd would start after another 800 ms, past the 1 s duration.
      const harness = await runHarness(
        { kinesis: stack.kinesis, streamName, bucket, transform, retry: { retries: 10, baseDelayMs: 400, retryDurationMs: 1000 } },
        (h) => h.counters.processingFailed === originals.length,
      );
      expect(harness.counters.invocations).toBe(2);
      for (const line of await failedLines(bucket)) expect(line.attemptsMade).toBe(2);
    });
  });

  describe('when the harness itself stops', () => {
    it('sets harness.error at once, with the shard and the reason, when a shard reader dies', async () => {
      const streamName = uniqueName('reader-dies');
      const bucket = uniqueName('reader-dies');
      await createStream(stack.kinesis, streamName, 1);
      await createBucket(stack.s3, bucket);
      const harness = new FirehoseHarness({ kinesis: stack.kinesis, s3: stack.s3, streamName, bucket, deliveryStreamName: 'centralog-archive' });
      await harness.start();
      try {
        await waitFor('a first poll', () => harness.counters.getRecordsCalls > 0, 10_000);
        await stack.kinesis.send(new DeleteStreamCommand({ StreamName: streamName }));
        const deleted = Date.now();
        await waitFor('harness.error', () => harness.error !== undefined, 5_000);
        // Within a poll or two of the reader's death.
        expect(Date.now() - deleted).toBeLessThan(3_000);
      } finally {
        await harness.stop();
      }
      expect(harness.error!.message).toMatch(/^Firehose harness stopped: reading shard shardId-000000000000 of reader-dies-\w+ failed: .+/);
    });

    it('sets harness.error, naming the object, when the archive cannot be written', async () => {
      const streamName = uniqueName('no-bucket');
      const bucket = uniqueName('no-bucket'); // never created
      await createStream(stack.kinesis, streamName, 1);
      await putInto(stack.kinesis, streamName, [{ shard: 0, data: bigRecord('s', 1, 500) }]);
      const harness = new FirehoseHarness({ kinesis: stack.kinesis, s3: stack.s3, streamName, bucket, deliveryStreamName: 'centralog-archive', bufferIntervalMs: 200 });
      await harness.start();
      try {
        await waitFor('harness.error', () => harness.error !== undefined, 20_000);
      } finally {
        await harness.stop();
      }
      expect(harness.error!.message).toContain(`delivery stopped: writing s3://${bucket}/`);
      expect(harness.counters.linesArchived).toBe(0);
    });
  });

  describe('counting what the transform dropped', () => {
    it('tells CONTROL messages apart from records re-ingested for lack of response room, and archives every event once', async () => {
      const streamName = uniqueName('reingest');
      const bucket = uniqueName('reingest');
      await createStream(stack.kinesis, streamName, 1);
      await createBucket(stack.s3, bucket);
      const simulator = new CloudWatchLogsSimulator({ kinesis: stack.kinesis, streamName, accounts: 1 });
      await simulator.subscribe();
      // About 1 MB of gzip records: their NDJSON output is several times the 6 MB response limit.
      await simulator.produce(12_000);
      const harness = await runHarness(
        { kinesis: stack.kinesis, streamName, bucket },
        (h) => h.counters.linesArchived >= simulator.produced,
        90_000,
      );
      const c = harness.counters;
      expect(c.controlDropped).toBe(simulator.controlMessagesSent);
      expect(c.reingestDropped).toBeGreaterThan(0);
      expect(c.dropped).toBe(c.controlDropped + c.reingestDropped);
      expect(c.reingestedRecords).toBeGreaterThanOrEqual(c.reingestDropped);
      expect(c.reingestedEvents).toBeGreaterThan(0);
      expect(c.recordsIn).toBe(c.ok + c.dropped + c.processingFailed);
      expect(c.processingFailed).toBe(0);
      const ids: string[] = [];
      for (const key of await listKeys(stack.s3, bucket)) {
        expect(key.startsWith('processing-failed/'), key).toBe(false);
        for (const line of ndjson(await getText(stack.s3, bucket, key))) ids.push(`${line.owner}|${line.logGroup}|${line.logStream}|${line.id}`);
      }
      expect(ids.length).toBe(simulator.produced);
      expect(new Set(ids)).toEqual(simulator.producedKeys);
    }, 120_000);
  });

});

describe('validateResponse', () => {
  const event: FirehoseTransformationEvent = {
    invocationId: 'inv-1',
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/centralog-archive',
    region: 'us-east-1',
    records: [{ recordId: 'r-0', approximateArrivalTimestamp: 0, data: '' }],
  };
  /** A valid one-record response whose JSON is exactly `bytes` long. */
  const responseOfSize = (bytes: number): FirehoseTransformationResult => {
    const empty = JSON.stringify({ records: [{ recordId: 'r-0', result: 'Ok', data: '' }] }).length;
    return { records: [{ recordId: 'r-0', result: 'Ok', data: 'A'.repeat(bytes - empty) }] };
  };

  it('rejects a response over 6,000,000 bytes with Lambda.ResponseSizeExceeded', () => {
    expect(MAX_TRANSFORM_RESPONSE_BYTES).toBe(6_000_000);
    const response = responseOfSize(6_000_001);
    expect(Buffer.byteLength(JSON.stringify(response))).toBe(6_000_001);
    expect(validateResponse(event, response)).toMatch(/^Lambda\.ResponseSizeExceeded: /);
  });

  it('accepts a well-formed response of exactly 6,000,000 bytes', () => {
    const response = responseOfSize(6_000_000);
    expect(Buffer.byteLength(JSON.stringify(response))).toBe(6_000_000);
    expect(validateResponse(event, response)).toBeUndefined();
  });

  it('counts the size in bytes, not characters', () => {
    // 2,000,001 three-byte characters: 6,000,003 bytes of data in ~2 M characters.
    const response: FirehoseTransformationResult = { records: [{ recordId: 'r-0', result: 'Ok', data: '€'.repeat(2_000_001) }] };
    expect(validateResponse(event, response)).toMatch(/^Lambda\.ResponseSizeExceeded: /);
  });
});
