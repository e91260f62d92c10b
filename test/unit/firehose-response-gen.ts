// Seeded generator of Firehose transformation events for the response-limit property test.
import aggregation from 'aws-kinesis-agg';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { encodeCwlRecord, type CwlEnvelope, type FirehoseTransformationEvent } from '../../processors/index.ts';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
const ndjson = (name: string): string[] => fixture(name).toString('utf8').split('\n').filter(Boolean);

/** Real messages: CloudTrail and GuardDuty records, VPC flow lines, Lambda log lines. */
const REAL_MESSAGES: string[] = [
  ...ndjson('cloudtrail/panther-analysis_cloudtrail_rule_test_logs.ndjson'),
  ...ndjson('cloudtrail/otrf_ec2_proxy_s3_exfiltration_2020-09-14011940.ndjson'),
  ...ndjson('panther-analysis_guardduty_rule_test_logs.ndjson'),
  ...(JSON.parse(fixture('awsdocs_vpc-user-guide_flow-logs-records-examples.json').toString('utf8')) as Array<{ lines?: string[] }>).flatMap(
    (e) => e.lines ?? [],
  ),
  ...(JSON.parse(fixture('valid_cloudwatch_log.json').toString('utf8')) as CwlEnvelope).logEvents.map((e) => e.message),
];

/** mulberry32: small, fast and seedable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = ReturnType<typeof prng>;
export const int = (rand: Rand, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
export const logUniform = (rand: Rand, lo: number, hi: number): number => Math.round(Math.exp(Math.log(lo) + rand() * (Math.log(hi) - Math.log(lo))));
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;

// Characters that cost more than one byte in the response: escapes, multi-byte UTF-8, lone surrogates.
const AWKWARD = ['"', '\\', '\n', '\t', '\u0001', 'é', '€', '😀', '\ud800', '<', '/'];

// Slices of two fixed random texts: building fresh text per call would dominate the run.
const TEXT_BYTES = 300_000;
const textSource = (awkward: boolean): string => {
  const rand = prng(awkward ? 2 : 1);
  const chars: string[] = [];
  for (let i = 0; i < TEXT_BYTES; i++) chars.push(awkward && rand() < 0.05 ? pick(rand, AWKWARD) : String.fromCharCode(int(rand, 0x20, 0x7e)));
  return chars.join('');
};
const TEXT = { plain: textSource(false), awkward: textSource(true) };

function randomText(rand: Rand, length: number, awkward: boolean): string {
  const source = awkward ? TEXT.awkward : TEXT.plain;
  let s = '';
  while (s.length < length) {
    const from = int(rand, 0, source.length - 1);
    s += source.slice(from, from + length - s.length);
  }
  return s;
}

/** One pool record: its bytes and the ids of the log events a decoder must find in it. */
export interface PoolRecord {
  data: Buffer;
  base64: string;
  kind: 'data' | 'control' | 'failed';
  ids: string[];
  rawBytes: number;
}

let nextEvent = 0;

function dataEnvelope(rand: Rand, target: number): CwlEnvelope {
  const flavour = pick(rand, ['real', 'real', 'random', 'awkward'] as const);
  const logEvents: CwlEnvelope['logEvents'] = [];
  let bytes = 0;
  while (bytes < target) {
    // A CloudWatch Logs event is at most 256 KB.
    const want = Math.min(target - bytes, 256 * 1024);
    let message = flavour === 'real' ? pick(rand, REAL_MESSAGES) : randomText(rand, Math.max(1, Math.min(want, int(rand, 1, 64 * 1024))), flavour === 'awkward');
    if (message.length > want) message = message.slice(0, Math.max(1, want));
    const event: CwlEnvelope['logEvents'][number] = { id: `ev-${nextEvent++}`, timestamp: int(rand, 0, 4_102_444_800_000), message };
    if (rand() < 0.1) event.extractedFields = { '@aws.account': String(int(rand, 1e11, 1e12 - 1)), k: randomText(rand, 5, true) };
    logEvents.push(event);
    bytes += message.length + 60;
  }
  const envelope: CwlEnvelope = {
    messageType: 'DATA_MESSAGE',
    owner: rand() < 0.9 ? String(int(rand, 1e11, 1e12 - 1)) : randomText(rand, int(rand, 1, 20), true),
    logGroup: pick(rand, ['aws-cloudtrail-logs-1', '/vpc/flow', '/aws/lambda/fn', `/odd/${randomText(rand, 10, true)}`]),
    logStream: randomText(rand, int(rand, 1, 300), rand() < 0.2),
    subscriptionFilters: ['central'],
    logEvents,
  };
  if (rand() < 0.1) envelope.policyLevel = 'ACCOUNT_LEVEL_POLICY';
  return envelope;
}

/** Up to 1 MiB minus room for a partition key: larger records cannot be in a Kinesis stream. */
const MAX_RECORD = 1_048_576 - 256;

function dataRecord(rand: Rand, target: number, reingested: boolean): PoolRecord {
  const envelope = dataEnvelope(rand, target);
  let data = encodeCwlRecord(envelope, { reingested });
  while (data.length > MAX_RECORD) {
    envelope.logEvents.splice(Math.ceil(envelope.logEvents.length * 0.9));
    if (envelope.logEvents.length === 1) envelope.logEvents[0]!.message = envelope.logEvents[0]!.message.slice(0, 600_000);
    data = encodeCwlRecord(envelope, { reingested });
  }
  return { data, base64: data.toString('base64'), kind: 'data', ids: envelope.logEvents.map((e) => e.id), rawBytes: JSON.stringify(envelope).length };
}

function failedRecords(rand: Rand): PoolRecord[] {
  const corrupt = dataRecord(rand, 2000, false).data;
  for (let i = 12; i < 40; i++) corrupt[i] = 0;
  const kpl = JSON.parse(fixture('kpl/kinesis-aggregation_python-test_deagg_kpl-records.json').toString('utf8')) as Array<{
    event_record: { kinesis: { data: string } };
  }>;
  const badMd5 = Buffer.from(kpl[0]!.event_record.kinesis.data, 'base64');
  badMd5[badMd5.length - 1]! ^= 0xff;
  const empty = { messageType: 'DATA_MESSAGE', owner: '1', logGroup: 'g', logStream: 's', subscriptionFilters: [], logEvents: [] };
  return [
    corrupt,
    badMd5,
    Buffer.from('plain text, not gzip'),
    Buffer.from(Array.from({ length: 300 }, () => int(rand, 0, 255))),
    gzipSync('{"messageType":"DATA_MESSAGE",'),
    gzipSync(JSON.stringify(empty)),
    // A real KPL record whose user records are not CloudWatch Logs payloads.
    Buffer.from(kpl[1]!.event_record.kinesis.data, 'base64'),
  ].map((data) => ({ data, base64: data.toString('base64'), kind: 'failed' as const, ids: [], rawBytes: data.length }));
}

function aggregate(records: PoolRecord[]): Promise<PoolRecord> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    aggregation.aggregate(
      records.map((r, i) => ({ partitionKey: `agg-${i}`, data: r.data })),
      (encoded, done) => {
        out.push(encoded.data);
        done();
      },
      () =>
        out.length === 1
          ? resolve({ data: out[0]!, base64: out[0]!.toString('base64'), kind: 'data', ids: records.flatMap((r) => r.ids), rawBytes: records.reduce((n, r) => n + r.rawBytes, 0) })
          : reject(new Error(`expected one aggregate, got ${out.length}`)),
      reject,
    );
  });
}

/** Records of every kind, data ones sorted by size: from a few bytes to over 1 MB of log data. */
export async function buildPool(seed: number): Promise<{ data: PoolRecord[]; other: PoolRecord[] }> {
  const rand = prng(seed);
  const data = Array.from({ length: 200 }, () => dataRecord(rand, logUniform(rand, 4, 1_400_000), rand() < 0.1));
  const small = data.filter((r) => r.rawBytes < 20_000);
  for (let i = 0; i < 12; i++) {
    const parts = Array.from({ length: int(rand, 2, 4) }, () => pick(rand, small));
    data.push(await aggregate(parts));
  }
  data.sort((a, b) => a.rawBytes - b.rawBytes);
  const control = ['valid_cloudwatch_log_control.json', 'vector_remap-test_control-message.json'].map((name) => ({
    data: gzipSync(fixture(name)),
    base64: gzipSync(fixture(name)).toString('base64'),
    kind: 'control' as const,
    ids: [],
    rawBytes: 0,
  }));
  return { data, other: [...control, ...control, ...failedRecords(rand)] };
}

export interface GeneratedCase {
  event: FirehoseTransformationEvent;
  records: PoolRecord[];
  overflow: 'reingest' | 'fail';
  /** The response limit to plan with. */
  limit: number;
  /** Bytes of the response that answers every record minimally. */
  minimalBytes: number;
}

/** How big a case may get: the run time goes with the records and bytes a case holds. */
export interface CaseShape {
  /** Records per case, drawn log-uniformly (a filling case stops at the upper bound). */
  records: [number, number];
  /** Log data per case, drawn log-uniformly; past it only the smallest records are added. */
  rawBytes: [number, number];
  /** Share of cases that keep adding records until their log data reaches the budget. */
  fill: number;
  /** Log data per record: records are drawn up to a cap drawn log-uniformly from this range, and not below its start. */
  recordBytes: [number, number];
  /** Response limit: fixed, or the minimal answers' size plus a log-uniform margin (sometimes less than none). */
  limit: number | { margin: [number, number] };
}

/** One invocation: 1 to 20,000 records, recordIds up to 100 characters, CONTROL and undecodable records mixed in. */
export function generateCase(rand: Rand, pool: { data: PoolRecord[]; other: PoolRecord[] }, shape: CaseShape): GeneratedCase {
  const n = logUniform(rand, ...shape.records);
  const rawBudget = logUniform(rand, ...shape.rawBytes);
  const sizeCap = logUniform(rand, Math.max(40, shape.recordBytes[0]), shape.recordBytes[1]);
  const firstTooBig = pool.data.findIndex((r) => r.rawBytes > sizeCap);
  const from = Math.max(0, pool.data.findIndex((r) => r.rawBytes >= shape.recordBytes[0]));
  const to = Math.max(from, (firstTooBig === -1 ? pool.data.length : firstTooBig) - 1);
  const pOther = rand() * 0.3;
  const idLength = int(rand, 1, 100);
  const awkwardIds = rand() < 0.1;
  // Some cases keep adding records until their log data reaches the budget: the ones that overflow.
  const fill = rand() < shape.fill;
  const records: PoolRecord[] = [];
  let raw = 0;
  for (let i = 0; fill ? raw < rawBudget && i < shape.records[1] : i < n; i++) {
    const r = rand() < pOther ? pick(rand, pool.other) : pool.data[raw > rawBudget ? int(rand, 0, 8) : int(rand, from, to)]!;
    raw += r.rawBytes;
    records.push(r);
  }
  const event: FirehoseTransformationEvent = {
    invocationId: 'prop',
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:111122223333:deliverystream/archive',
    sourceKinesisStreamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/central-logs',
    region: 'us-east-1',
    records: records.map((r, i) => {
      const prefix = `${i.toString(36)}:`;
      const recordId = prefix + randomText(rand, Math.max(0, idLength - prefix.length), awkwardIds).slice(0, Math.max(0, idLength - prefix.length));
      const record: FirehoseTransformationEvent['records'][number] = { recordId, approximateArrivalTimestamp: 1_700_000_000_000 + i, data: r.base64 };
      if (rand() < 0.9) {
        record.kinesisRecordMetadata = {
          shardId: 'shardId-000000000000',
          partitionKey: randomText(rand, int(rand, 1, 256), false),
          approximateArrivalTimestamp: 1_700_000_000_000 + i,
          sequenceNumber: String(49_000_000_000 + i),
          subsequenceNumber: 0,
        };
      }
      return record;
    }),
  };
  const overflow = rand() < 0.15 ? 'fail' : 'reingest';
  const minimalBytes = Buffer.byteLength(
    JSON.stringify({
      records: records.map((r, i) => ({
        recordId: event.records[i]!.recordId,
        result: r.kind === 'failed' || (r.kind === 'data' && overflow === 'fail') ? 'ProcessingFailed' : 'Dropped',
        data: '',
      })),
    }),
  );
  const limit =
    typeof shape.limit === 'number' ? shape.limit : minimalBytes + (rand() < 0.05 ? -int(rand, 1, 50) : logUniform(rand, ...shape.limit.margin) - 1);
  return { event, records, overflow, limit, minimalBytes };
}
