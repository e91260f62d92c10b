import aggregation from 'aws-kinesis-agg';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  createFirehoseTransformHandler,
  deaggregate,
  decodeCwlRecord,
  encodeCwlRecord,
  planFirehoseTransform,
  type CwlEnvelope,
  type FirehoseTransformationEvent,
  type ReingestRecord,
} from '../../processors/index.ts';
import { reingestRecords } from '../../processors/firehose/reingest.ts';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
/** A real CloudWatch Logs DATA_MESSAGE (otel-contrib sample). */
const real = JSON.parse(fixture('valid_cloudwatch_log.json').toString('utf8')) as CwlEnvelope;
const [trail] = JSON.parse(fixture('aws.defense-evasion.cloudtrail-stop.json').toString('utf8')) as unknown[];

function aggregate(records: Array<{ partitionKey: string; data: Buffer }>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    aggregation.aggregate(
      records,
      (encoded, done) => {
        out.push(encoded.data);
        done();
      },
      () => (out.length === 1 ? resolve(out[0]!) : reject(new Error(`expected one aggregate, got ${out.length}`))),
      reject,
    );
  });
}

let nextId = 0;
function trailEnvelope(events: number, logStream: string): CwlEnvelope {
  return {
    messageType: 'DATA_MESSAGE',
    owner: '111122223333',
    logGroup: 'aws-cloudtrail-logs-111122223333',
    logStream,
    subscriptionFilters: ['central'],
    logEvents: Array.from({ length: events }, () => ({ id: `e-${nextId++}`, timestamp: 1_722_431_463_000 + nextId, message: JSON.stringify(trail) })),
  };
}

function firehoseEvent(records: Array<{ data: Buffer; partitionKey: string }>, prefix = 'rec'): FirehoseTransformationEvent {
  return {
    invocationId: prefix,
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:111122223333:deliverystream/archive',
    sourceKinesisStreamArn: 'arn:aws:kinesis:us-east-1:111122223333:stream/central-logs',
    region: 'us-east-1',
    records: records.map((r, i) => ({
      recordId: `${prefix}-${i}`,
      approximateArrivalTimestamp: 1_722_431_463_000,
      data: r.data.toString('base64'),
      kinesisRecordMetadata: {
        shardId: 'shardId-000000000000',
        partitionKey: r.partitionKey,
        approximateArrivalTimestamp: 1_722_431_463_000,
        sequenceNumber: String(49_000_000 + i),
        subsequenceNumber: 0,
      },
    })),
  };
}

const archivedIds = (plan: ReturnType<typeof planFirehoseTransform>): string[] =>
  plan.response.records
    .filter((r) => r.result === 'Ok')
    .flatMap((r) => Buffer.from(r.data, 'base64').toString('utf8').split('\n').filter(Boolean))
    .map((l) => (JSON.parse(l) as { id: string }).id);

describe('re-ingest mark in the CWL record', () => {
  it('survives encode -> KPL aggregate -> de-aggregate -> decode, and leaves the envelope as CloudWatch Logs wrote it', async () => {
    const aggregated = await aggregate([
      { partitionKey: 'a', data: encodeCwlRecord(real, { reingested: true }) },
      { partitionKey: 'b', data: encodeCwlRecord(real) },
    ]);
    const parts = deaggregate(aggregated, 'a', '1');
    if ('error' in parts) throw parts.error;
    expect(parts.records.map((p) => decodeCwlRecord(p.data))).toEqual([
      { kind: 'data', envelope: real, reingested: true },
      { kind: 'data', envelope: real },
    ]);
  });

  it('is a top-level key of the envelope JSON, inside the gzip', () => {
    const json = JSON.parse(gunzipSync(encodeCwlRecord(real, { reingested: true })).toString('utf8')) as Record<string, unknown>;
    expect(json.centralogReingested).toBe(true);
    expect({ ...json, centralogReingested: undefined }).toEqual({ ...real, centralogReingested: undefined });
  });

  it('is not reported on an unmarked record: real payloads, plain encodes, a re-encode without the option', () => {
    const capture = JSON.parse(fixture('powertools-py_kinesisStreamCloudWatchLogsEvent.json').toString('utf8')) as { Records: { kinesis: { data: string } }[] };
    for (const r of capture.Records) expect('reingested' in decodeCwlRecord(Buffer.from(r.kinesis.data, 'base64'))).toBe(false);
    expect('reingested' in decodeCwlRecord(gzipSync(fixture('valid_cloudwatch_log.json')))).toBe(false);
    expect('reingested' in decodeCwlRecord(encodeCwlRecord(real))).toBe(false);
    const marked = decodeCwlRecord(encodeCwlRecord(real, { reingested: true }));
    if (marked.kind !== 'data') throw new Error('marked record does not decode');
    expect('reingested' in decodeCwlRecord(encodeCwlRecord(marked.envelope))).toBe(false);
  });

  it('cannot be forged through what a member account controls: messages, extracted fields, names, filter names', () => {
    const forged: CwlEnvelope = {
      ...real,
      logGroup: 'centralogReingested',
      logStream: '"centralogReingested":true',
      subscriptionFilters: ['centralogReingested'],
      logEvents: [
        { id: '1', timestamp: 1, message: '{"centralogReingested":true}', extractedFields: { centralogReingested: 'true' } },
        { id: '2', timestamp: 2, message: '","centralogReingested":true,"x":"' },
      ],
    };
    const decoded = decodeCwlRecord(encodeCwlRecord(forged));
    expect(decoded).toEqual({ kind: 'data', envelope: forged });
    // Only the envelope's top level counts, not the same key deeper down.
    const nested = { ...real, logEvents: [{ ...real.logEvents[0]!, centralogReingested: true }] };
    expect('reingested' in decodeCwlRecord(gzipSync(JSON.stringify(nested)))).toBe(false);
  });

  it('counts only the value true', () => {
    const withValue = (value: unknown) => decodeCwlRecord(gzipSync(JSON.stringify({ ...real, centralogReingested: value })));
    expect(withValue(true)).toMatchObject({ kind: 'data', reingested: true });
    for (const value of ['true', 1, {}, null]) expect('reingested' in withValue(value)).toBe(false);
  });
});

describe('the Firehose transform and re-ingested records', () => {
  it('marks every record it puts back, one per KPL user record, each with its own partition key', async () => {
    const envelopes = [trailEnvelope(30, 'a'), trailEnvelope(30, 'b'), trailEnvelope(30, 'c')];
    const aggregated = await aggregate(envelopes.map((e, i) => ({ partitionKey: `user-${i}`, data: encodeCwlRecord(e) })));
    const first = { data: encodeCwlRecord(trailEnvelope(30, 'first')), partitionKey: 'pk-0' };
    const plan = planFirehoseTransform(firehoseEvent([first, { data: aggregated, partitionKey: 'pk-1' }]), { maxResponseBytes: 150_000 });
    expect(plan.response.records.map((r) => r.result)).toEqual(['Ok', 'Dropped']);
    expect(plan.reingest.map((r) => [r.recordId, r.partitionKey])).toEqual([
      ['rec-1', 'user-0'],
      ['rec-1', 'user-1'],
      ['rec-1', 'user-2'],
    ]);
    expect(plan.reingest.map((r) => decodeCwlRecord(r.data))).toEqual(envelopes.map((envelope) => ({ kind: 'data', envelope, reingested: true })));
  });

  it('splits a record that the mark would push past the 1 MiB Kinesis record limit (data and partition key) into marked records that fit', () => {
    // Printable noise barely compresses: about 1.3 MB of it gzips to more than 1 MiB.
    let seed = 1;
    const noise = (n: number) => Array.from({ length: n }, () => String.fromCharCode(32 + ((seed = (seed * 48271) % 2147483647) % 95))).join('');
    const envelope: CwlEnvelope = { ...trailEnvelope(0, 'noisy'), logEvents: Array.from({ length: 6 }, (_, i) => ({ id: `n-${i}`, timestamp: 1, message: noise(220_000) })) };
    const key = 'k'.repeat(256);
    expect(encodeCwlRecord(envelope, { reingested: true }).length + key.length).toBeGreaterThan(1_048_576);
    const pieces = reingestRecords([{ envelope, partitionKey: key }], 'r-0', false);
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) expect(p.data.length + Buffer.byteLength(p.partitionKey)).toBeLessThanOrEqual(1_048_576);
    const decoded = pieces.map((p) => decodeCwlRecord(p.data));
    expect(decoded.every((d) => d.kind === 'data' && d.reingested === true)).toBe(true);
    expect(decoded.flatMap((d) => (d.kind === 'data' ? d.envelope.logEvents : []))).toEqual(envelope.logEvents);
  });

  it('archives a marked record it reads back exactly as it archives the original', () => {
    const envelope = trailEnvelope(3, 'back');
    const original = planFirehoseTransform(firehoseEvent([{ data: encodeCwlRecord(envelope), partitionKey: 'p' }]));
    const again = planFirehoseTransform(firehoseEvent([{ data: encodeCwlRecord(envelope, { reingested: true }), partitionKey: 'p' }]));
    expect(again.response.records[0]!.result).toBe('Ok');
    expect(again.response).toEqual(original.response);
  });

  it('archives every event exactly once across passes: not on the pass that puts it back, once when it comes back', () => {
    const envelopes = Array.from({ length: 12 }, (_, i) => trailEnvelope(20, `s-${i}`));
    let pending: ReingestRecord[] | Array<{ data: Buffer; partitionKey: string }> = envelopes.map((e, i) => ({ data: encodeCwlRecord(e), partitionKey: `pk-${i}` }));
    const archived: string[] = [];
    for (let pass = 0; pending.length > 0; pass++) {
      expect(pass).toBeLessThan(20);
      const plan = planFirehoseTransform(firehoseEvent(pending, `p${pass}`), { maxResponseBytes: 150_000 });
      const now = archivedIds(plan);
      const back = plan.reingest.flatMap((r) => {
        const d = decodeCwlRecord(r.data);
        return d.kind === 'data' && d.reingested ? d.envelope.logEvents.map((e) => e.id) : [];
      });
      expect(back.filter((id) => now.includes(id))).toEqual([]);
      expect(back.length).toBe(plan.stats.reingestedEvents);
      archived.push(...now);
      pending = plan.reingest;
    }
    expect(archived.sort()).toEqual(envelopes.flatMap((e) => e.logEvents.map((ev) => ev.id)).sort());
  });

  it('says in a log line and metrics how much went back into the stream', async () => {
    const input = [trailEnvelope(60, 'x'), trailEnvelope(60, 'y')].map((e, i) => ({ data: encodeCwlRecord(e), partitionKey: `pk-${i}` }));
    const infos: Array<[string, Record<string, unknown> | undefined]> = [];
    const counted: Record<string, number> = {};
    const handler = createFirehoseTransformHandler({
      options: { maxResponseBytes: 150_000 },
      reingest: async () => {},
      logger: { info: (m, extra) => infos.push([m, extra]), warn: () => {}, error: () => {} },
      metrics: { addMetric: (name, _u, v) => (counted[name] = (counted[name] ?? 0) + v) },
    });
    await handler(firehoseEvent(input));
    expect(infos).toEqual([[expect.stringMatching(/put back into the source stream/), expect.objectContaining({ records: 1, reingested: 1, logEvents: 60 })]]);
    expect(counted).toMatchObject({ RecordsOk: 1, RecordsReingested: 1, LogEventsReingested: 60, LogEventsArchived: 60 });
  });
});
