import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchLogsSimulator, FirehoseHarness, MAX_TRANSFORM_RESPONSE_BYTES, validateResponse, type TransformFunction } from '../../local/index.ts';
import {
  decodeCwlRecord,
  detectSource,
  encodeCwlRecord,
  firehoseTransformHandler,
  type CwlLogEvent,
  type FirehoseTransformationEvent,
  type FirehoseTransformationResult,
} from '../../processors/index.ts';
import { createBucket, createStream, readStream, startTestStack, uniqueName, waitFor } from '../helpers.ts';

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
        name: 'answers with more than 6,000,000 bytes',
        errorCode: 'Lambda.ResponseSizeExceeded',
        mangle: (r) => ({
          records: r.records.map((rec, i) => (i === 0 ? { ...rec, data: Buffer.alloc(4_600_000, 7).toString('base64') } : rec)),
        }),
      },
    ];

    for (const { name, errorCode, mangle } of misbehaviours) {
      it(`${name}: every record of the invocation goes to processing-failed/ with errorCode ${errorCode}`, async () => {
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
        // All records arrived in one invocation, so the broken answer concerns each of them.
        expect(invocations).toEqual([originals.length]);
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
          expect(typeof line.errorMessage).toBe('string');
          expect((line.errorMessage as string).length).toBeGreaterThan(0);
        }
        expect(lines.map((l) => l.rawData).sort()).toEqual([...originals].sort());
      });
    }
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
