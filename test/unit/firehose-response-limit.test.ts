import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createFirehoseTransformHandler,
  decodeCwlRecord,
  encodeCwlRecord,
  FIREHOSE_MAX_RESPONSE_BYTES,
  planFirehoseTransform,
  type FirehoseTransformationEvent,
  type FirehoseTransformationResultRecord,
  type TransformPlan,
} from '../../processors/index.ts';
import { ResponseLimitError } from '../../processors/firehose/response-size.ts';
import { buildPool, generateCase, prng, type CaseShape, type GeneratedCase, type PoolRecord } from './firehose-response-gen.ts';

const KINESIS_MAX_RECORD_BYTES = 1_048_576;

/** The ids of the NDJSON lines of an Ok answer, in order. */
function okIds(out: FirehoseTransformationResultRecord): string[] {
  const text = Buffer.from(out.data, 'base64').toString('utf8');
  must(text.endsWith('\n'), () => 'Ok payload does not end its last line');
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => (JSON.parse(line) as { id: string }).id);
}

/** Bytes of the invocation as Firehose sends it, measured record by record. */
function eventBytes(event: FirehoseTransformationEvent): number {
  return event.records.reduce((n, r) => n + Buffer.byteLength(JSON.stringify({ ...r, data: '' })) + r.data.length + 1, 200);
}

/** A plain check: per-record `expect` calls would cost more than the transform itself. */
function must(ok: boolean, message: () => string): void {
  if (!ok) throw new Error(message());
}

const sameIds = (a: string[] | undefined, b: string[]): boolean => a !== undefined && a.length === b.length && a.every((id, i) => id === b[i]);

/** Checks one plan against the case that produced it; returns what happened, for coverage counts. */
function check(c: GeneratedCase, plan: TransformPlan, max: number): { overflowed: boolean; nearLimit: boolean } {
  const { response, reingest, stats } = plan;
  const bytes = Buffer.byteLength(JSON.stringify(response));
  expect(bytes).toBeLessThanOrEqual(max);
  expect(stats.responseBytes).toBe(bytes);
  // Every recordId answered once, in order.
  expect(response.records).toHaveLength(c.event.records.length);
  c.event.records.forEach((r, i) => must(response.records[i]!.recordId === r.recordId, () => `answer ${i} is for ${response.records[i]!.recordId}, not ${r.recordId}`));
  // The minimal answers are smaller than the invocation they answer.
  expect(stats.reservedBytes).toBeLessThan(eventBytes(c.event));

  const overflowResult = c.overflow === 'fail' ? 'ProcessingFailed' : 'Dropped';
  const back = new Map<string, string[]>();
  for (const r of reingest) {
    must(r.data.length + Buffer.byteLength(r.partitionKey) <= KINESIS_MAX_RECORD_BYTES, () => `re-ingested record of ${r.data.length} bytes`);
    must(r.partitionKey.length > 0, () => 'empty partition key');
    const decoded = decodeCwlRecord(r.data);
    must(decoded.kind === 'data' && decoded.reingested === true, () => `re-ingested record decodes as ${decoded.kind}, unmarked`);
    if (decoded.kind !== 'data') continue;
    const ids = back.get(r.recordId) ?? [];
    for (const e of decoded.envelope.logEvents) ids.push(e.id);
    back.set(r.recordId, ids);
  }
  let overflowed = 0;
  c.records.forEach((rec: PoolRecord, i) => {
    const out = response.records[i]!;
    const minimal = (result: string) => out.result === result && out.data === '' && out.metadata === undefined;
    if (rec.kind === 'control') must(minimal('Dropped'), () => `CONTROL record ${i} answered ${out.result}`);
    else if (rec.kind === 'failed') must(out.result === 'ProcessingFailed', () => `undecodable record ${i} answered ${out.result}`);
    else if (out.result === 'Ok') {
      // Every event of the record is in its Ok payload, in order...
      must(sameIds(okIds(out), rec.ids), () => `record ${i}: Ok payload does not hold its events`);
      must(!back.has(out.recordId), () => `record ${i} both archived and put back`);
    } else {
      // ...or, answered minimally, goes back into the stream (kept in processing-failed/ when there is no stream).
      overflowed++;
      must(minimal(overflowResult), () => `overflowing record ${i} answered ${out.result} with ${out.data.length} bytes of data`);
      if (c.overflow === 'reingest') must(sameIds(back.get(out.recordId), rec.ids), () => `record ${i}: what goes back does not hold its events`);
    }
  });
  // Nothing goes back that was not answered minimally.
  expect(back.size).toBe(c.overflow === 'reingest' ? overflowed : 0);
  expect(stats.reingested + stats.split + stats.overflowFailed).toBe(overflowed);
  expect(stats.ok + stats.controlDropped + stats.processingFailed + overflowed).toBe(c.records.length);
  return { overflowed: overflowed > 0, nearLimit: bytes > max * 0.9 };
}

/**
 * Case shapes. Run time goes with the records and bytes a case holds (each record is
 * gunzipped, each overflowing one re-gzipped), so the cases that fill 6,000,000 bytes are
 * few and the many run at smaller limits, where the same arithmetic is at stake.
 */
const SHAPES: Array<{ name: string; cases: number; overflows: boolean; fillsUp: boolean; shape: CaseShape }> = [
  { name: 'past 6,000,000', cases: 4, overflows: true, fillsUp: true, shape: { records: [1, 20_000], fill: 1, rawBytes: [3_500_000, 7_000_000], recordBytes: [20_000, 1_500_000], limit: FIREHOSE_MAX_RESPONSE_BYTES } },
  { name: 'records over 1 MB', cases: 2, overflows: true, fillsUp: false, shape: { records: [1, 20], fill: 1, rawBytes: [4_000_000, 6_000_000], recordBytes: [1_000_000, 1_500_000], limit: FIREHOSE_MAX_RESPONSE_BYTES } },
  { name: '20,000 records', cases: 1, overflows: true, fillsUp: true, shape: { records: [20_000, 20_000], fill: 0, rawBytes: [2_000_000, 3_000_000], recordBytes: [0, 1_500_000], limit: FIREHOSE_MAX_RESPONSE_BYTES } },
  { name: 'under 6,000,000', cases: 100, overflows: false, fillsUp: false, shape: { records: [1, 1_000], fill: 0.2, rawBytes: [1_000, 3_000_000], recordBytes: [0, 1_500_000], limit: FIREHOSE_MAX_RESPONSE_BYTES } },
  { name: 'small limits', cases: 2000, overflows: true, fillsUp: true, shape: { records: [1, 25], fill: 0.3, rawBytes: [100, 50_000], recordBytes: [0, 50_000], limit: { margin: [1, 50_000] } } },
];

describe('Firehose transform response limit (property)', () => {
  let pool: Awaited<ReturnType<typeof buildPool>>;
  beforeAll(async () => {
    pool = await buildPool(20_240_601);
  });

  const covered: Array<{ maxRecords: number; biggestRecord: number; unanswerable: number }> = [];

  it.each(SHAPES)('keeps $cases generated invocations ($name) within their limit, answering every record once and losing no event', ({ cases, overflows, fillsUp, shape }) => {
    const rand = prng(cases);
    const seen = { overflowed: 0, nearLimit: 0, unanswerable: 0, failMode: 0, records: 0, maxRecords: 0, biggestRecord: 0 };
    for (let i = 0; i < cases; i++) {
      const c = generateCase(rand, pool, shape);
      expect(c.limit).toBeLessThanOrEqual(FIREHOSE_MAX_RESPONSE_BYTES);
      try {
        if (c.minimalBytes > c.limit) {
          // No valid response exists: the plan says so instead of returning one.
          expect(() => planFirehoseTransform(c.event, { overflow: c.overflow, maxResponseBytes: c.limit })).toThrow(ResponseLimitError);
          seen.unanswerable++;
          continue;
        }
        const plan = planFirehoseTransform(c.event, { overflow: c.overflow, maxResponseBytes: c.limit });
        expect(plan.stats.reservedBytes).toBe(c.minimalBytes);
        const result = check(c, plan, c.limit);
        seen.overflowed += result.overflowed ? 1 : 0;
        seen.nearLimit += result.nearLimit ? 1 : 0;
      } catch (err) {
        throw new Error(`case ${i} (${c.records.length} records, limit ${c.limit}, overflow ${c.overflow}): ${(err as Error).message}`);
      }
      seen.failMode += c.overflow === 'fail' ? 1 : 0;
      seen.records += c.records.length;
      seen.maxRecords = Math.max(seen.maxRecords, c.records.length);
      seen.biggestRecord = c.records.reduce((m, r) => Math.max(m, r.rawBytes), seen.biggestRecord);
    }
    // The generator really reached what the shape is for.
    if (overflows) expect(seen.overflowed).toBeGreaterThan(cases / 4);
    if (fillsUp) expect(seen.nearLimit).toBeGreaterThan(cases / 4);
    if (cases > 100) expect(seen.failMode).toBeGreaterThan(0);
    covered.push(seen);
  });

  it('covered 1 to 20,000 records, more than 1 MB of log data in a record and invocations without a valid response', () => {
    expect(covered).toHaveLength(SHAPES.length);
    expect(Math.max(...covered.map((s) => s.maxRecords))).toBe(20_000);
    expect(Math.max(...covered.map((s) => s.biggestRecord))).toBeGreaterThan(1_000_000);
    expect(covered.reduce((n, s) => n + s.unanswerable, 0)).toBeGreaterThan(0);
  });
});

describe('Firehose transform response limit (cases)', () => {
  const trail = (JSON.parse(readFileSync(new URL('../fixtures/aws.defense-evasion.cloudtrail-stop.json', import.meta.url), 'utf8')) as unknown[])[0];

  it('answers 5,000 CloudWatch Logs records of one real CloudTrail event each within the limit (before: 6,207,848 bytes)', () => {
    const envelopes = Array.from({ length: 5000 }, (_, i) => ({
      messageType: 'DATA_MESSAGE' as const,
      owner: '111122223333',
      logGroup: 'aws-cloudtrail-logs-111122223333',
      logStream: '111122223333_CloudTrail_us-east-1',
      subscriptionFilters: ['centralog'],
      logEvents: [{ id: `3719971756290717428835512580704011470483764099463${String(i).padStart(7, '0')}`, timestamp: 1_722_431_463_000 + i, message: JSON.stringify(trail) }],
    }));
    const event: FirehoseTransformationEvent = {
      invocationId: 'ct',
      deliveryStreamArn: 'arn:aws:firehose:us-east-1:111122223333:deliverystream/archive',
      sourceKinesisStreamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/central-logs',
      region: 'us-east-1',
      records: envelopes.map((e, i) => ({
        // 62 characters, as Firehose's recordIds for a Kinesis source are.
        recordId: `4965153542786203451647283495019793418627146891362796339${String(i).padStart(7, '0')}`,
        approximateArrivalTimestamp: 1_722_431_463_000,
        data: encodeCwlRecord(e).toString('base64'),
      })),
    };
    const plan = planFirehoseTransform(event);
    const bytes = Buffer.byteLength(JSON.stringify(plan.response));
    expect(bytes).toBeLessThanOrEqual(FIREHOSE_MAX_RESPONSE_BYTES);
    expect(bytes).toBe(plan.stats.responseBytes);
    expect(plan.stats.ok + plan.stats.reingested).toBe(5000);
    expect(plan.stats.reingested).toBeGreaterThan(0);
    const archived = plan.response.records.filter((r) => r.result === 'Ok').flatMap(okIds);
    const back = plan.reingest.flatMap((r) => {
      const d = decodeCwlRecord(r.data);
      return d.kind === 'data' && d.reingested ? d.envelope.logEvents.map((e) => e.id) : [];
    });
    expect([...archived, ...back].sort()).toEqual(envelopes.map((e) => e.logEvents[0]!.id).sort());
  });

  const tiny = (n: number): FirehoseTransformationEvent => ({
    invocationId: 'tiny',
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:111122223333:deliverystream/archive',
    sourceKinesisStreamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/central-logs',
    region: 'us-east-1',
    records: Array.from({ length: n }, (_, i) => ({ recordId: `${i}`.padStart(100, 'r'), approximateArrivalTimestamp: 1, data: 'AA==' })),
  });

  it('reserves exactly the minimal answers: a limit of their size is met, one byte less has no valid response', () => {
    const event = tiny(1000);
    const exact = Buffer.byteLength(JSON.stringify({ records: event.records.map((r) => ({ recordId: r.recordId, result: 'ProcessingFailed', data: '' })) }));
    const plan = planFirehoseTransform(event, { maxResponseBytes: exact });
    expect(plan.stats.reservedBytes).toBe(exact);
    expect(Buffer.byteLength(JSON.stringify(plan.response))).toBe(exact);
    expect(() => planFirehoseTransform(event, { maxResponseBytes: exact - 1 })).toThrow(ResponseLimitError);
  });

  it('fails an invocation whose minimal answers alone pass 6,000,000 bytes: nothing put back, an error log and a metric', async () => {
    // 45,000 records with 100-character ids: about 6.5 MB of minimal answers, from a ~8 MB
    // invocation that Firehose (processor buffer at most 3 MB) never sends.
    const event = tiny(45_000);
    const errors: Array<Record<string, unknown> | undefined> = [];
    const metrics: Record<string, number> = {};
    let putBack = 0;
    const handler = createFirehoseTransformHandler({
      reingest: async (_s, records) => {
        putBack += records.length;
      },
      logger: { info: () => {}, warn: () => {}, error: (_m, extra) => errors.push(extra) },
      metrics: { addMetric: (name, _u, v) => (metrics[name] = (metrics[name] ?? 0) + v) },
    });
    await expect(handler(event)).rejects.toThrow(ResponseLimitError);
    expect(putBack).toBe(0);
    expect(errors).toEqual([{ records: 45_000, minimalBytes: expect.any(Number), maxBytes: FIREHOSE_MAX_RESPONSE_BYTES }]);
    // Counted before decoding anything, from the least any answer takes (Dropped, no data).
    const floor = Buffer.byteLength(JSON.stringify({ records: event.records.map((r) => ({ recordId: r.recordId, result: 'Dropped', data: '' })) }));
    expect(floor).toBeGreaterThan(FIREHOSE_MAX_RESPONSE_BYTES);
    expect(errors[0]!.minimalBytes).toBe(floor);
    expect(metrics).toEqual({ InvocationsUnanswerable: 1 });
  });
});
