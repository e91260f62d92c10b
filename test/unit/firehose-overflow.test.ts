import aggregation from 'aws-kinesis-agg';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  createFirehoseTransformHandler,
  decodeCwlRecord,
  encodeCwlRecord,
  FIREHOSE_MAX_RESPONSE_BYTES,
  planFirehoseTransform,
  type ArchiveLine,
  type CwlEnvelope,
  type FirehoseTransformationEvent,
  type ReingestRecord,
} from '../../processors/index.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
// A real CloudTrail event (StopLogging) to fill records with.
const SAMPLE = (JSON.parse(readFileSync(join(FIXTURES, 'aws.defense-evasion.cloudtrail-stop.json'), 'utf8')) as unknown[])[0] as Record<
  string,
  unknown
>;
const STREAM_ARN = 'arn:aws:kinesis:us-east-1:111122223333:stream/central-logs';

let counter = 0;
function envelope(events: number, logStream = 'acct_CloudTrail_us-east-1'): CwlEnvelope {
  return {
    messageType: 'DATA_MESSAGE',
    owner: '111122223333',
    logGroup: 'aws-cloudtrail-logs',
    logStream,
    subscriptionFilters: ['central'],
    logEvents: Array.from({ length: events }, () => {
      counter++;
      return {
        id: String(counter).padStart(56, '3'),
        timestamp: 1_700_000_000_000 + counter,
        message: JSON.stringify({ ...SAMPLE, eventID: `id-${counter}`, requestParameters: { pad: 'x'.repeat(800) } }),
      };
    }),
  };
}

function firehoseEvent(records: Array<{ data: Buffer; partitionKey: string }>): FirehoseTransformationEvent {
  return {
    invocationId: 'inv-1',
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:111122223333:deliverystream/archive',
    sourceKinesisStreamArn: STREAM_ARN,
    region: 'us-east-1',
    records: records.map((r, i) => ({
      recordId: `rec-${i}`,
      approximateArrivalTimestamp: 1_700_000_000_000,
      data: r.data.toString('base64'),
      kinesisRecordMetadata: {
        shardId: 'shardId-000000000000',
        partitionKey: r.partitionKey,
        approximateArrivalTimestamp: 1_700_000_000_000,
        sequenceNumber: String(49_000_000 + i),
        subsequenceNumber: 0,
      },
    })),
  };
}

function okLines(response: ReturnType<typeof planFirehoseTransform>['response']): ArchiveLine[] {
  return response.records
    .filter((r) => r.result === 'Ok')
    .flatMap((r) =>
      Buffer.from(r.data, 'base64')
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ArchiveLine),
    );
}

function reingestedIds(records: ReingestRecord[]): string[] {
  return records.flatMap((r) => {
    const d = decodeCwlRecord(r.data);
    if (d.kind !== 'data') throw new Error(`re-ingested record does not decode: ${d.kind}`);
    return d.envelope.logEvents.map((e) => e.id);
  });
}

describe('Firehose transform response limit', () => {
  it('keeps the response within 6,000,000 bytes and puts the records that do not fit back into the stream, losing no event', () => {
    const envelopes = Array.from({ length: 6 }, (_, i) => envelope(1000, `stream-${i}`));
    const input = envelopes.map((e, i) => ({ data: encodeCwlRecord(e), partitionKey: `pk-${i}` }));
    const plan = planFirehoseTransform(firehoseEvent(input));

    const size = Buffer.byteLength(JSON.stringify(plan.response));
    expect(size).toBeLessThanOrEqual(FIREHOSE_MAX_RESPONSE_BYTES);
    expect(plan.stats.responseBytes).toBe(size);
    expect(plan.response.records.map((r) => r.recordId)).toEqual(input.map((_, i) => `rec-${i}`));
    expect(plan.stats.ok).toBeGreaterThan(0);
    expect(plan.stats.reingested).toBeGreaterThan(0);
    expect(plan.stats.ok + plan.stats.reingested).toBe(6);

    // Each overflowing record goes back whole and marked, with its own partition key, and is answered Dropped.
    for (const r of plan.reingest) {
      const i = Number(r.recordId.slice(4));
      expect(r.partitionKey).toBe(`pk-${i}`);
      expect(decodeCwlRecord(r.data)).toEqual({ kind: 'data', envelope: envelopes[i], reingested: true });
      expect(plan.response.records[i]!.result).toBe('Dropped');
    }
    const all = envelopes.flatMap((e) => e.logEvents.map((ev) => ev.id)).sort();
    const delivered = [...okLines(plan.response).map((l) => l.id), ...reingestedIds(plan.reingest)].sort();
    expect(delivered).toEqual(all);
  });

  it('splits a record too big on its own into smaller CWL records of the same log stream, each under 1 MiB', () => {
    const big = envelope(6000, 'huge-stream');
    const data = encodeCwlRecord(big);
    const plan = planFirehoseTransform(firehoseEvent([{ data, partitionKey: 'pk-big' }]));

    expect(plan.response.records).toEqual([{ recordId: 'rec-0', result: 'Dropped', data: '' }]);
    expect(plan.stats.split).toBe(1);
    expect(plan.reingest.length).toBeGreaterThan(4);
    for (const piece of plan.reingest) {
      expect(piece.partitionKey).toBe('pk-big');
      expect(piece.data.length).toBeLessThan(1024 * 1024);
      const d = decodeCwlRecord(piece.data);
      if (d.kind !== 'data') throw new Error('piece does not decode');
      expect(d.envelope.owner).toBe(big.owner);
      expect(d.envelope.logGroup).toBe(big.logGroup);
      expect(d.envelope.logStream).toBe('huge-stream');
      // A piece fits in a later response on its own.
      const again = planFirehoseTransform(firehoseEvent([{ data: piece.data, partitionKey: 'pk-big' }]));
      expect(again.stats.ok).toBe(1);
    }
    expect(reingestedIds(plan.reingest)).toEqual(big.logEvents.map((e) => e.id));
  });

  it('answers overflow ProcessingFailed when the handler has nowhere to put it back, so it lands in processing-failed/', async () => {
    const input = [envelope(40), envelope(40)].map((e, i) => ({ data: encodeCwlRecord(e), partitionKey: `pk-${i}` }));
    const handler = createFirehoseTransformHandler({ options: { maxResponseBytes: 150_000 } });
    const response = await handler(firehoseEvent(input));
    expect(response.records.map((r) => r.result)).toEqual(['Ok', 'ProcessingFailed']);
  });

  it('puts overflow back into the source stream named by the event before answering, and fails the invocation if it cannot', async () => {
    const input = [envelope(40), envelope(40), envelope(40)].map((e, i) => ({ data: encodeCwlRecord(e), partitionKey: `pk-${i}` }));
    const calls: Array<{ stream: string; records: ReingestRecord[] }> = [];
    const counted: Record<string, number> = {};
    const handler = createFirehoseTransformHandler({
      options: { maxResponseBytes: 150_000 },
      reingest: async (stream, records) => {
        calls.push({ stream, records });
      },
      metrics: { addMetric: (name, _unit, value) => (counted[name] = (counted[name] ?? 0) + value) },
    });
    const response = await handler(firehoseEvent(input));
    expect(response.records.map((r) => r.result)).toEqual(['Ok', 'Dropped', 'Dropped']);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.stream).toBe('central-logs');
    expect(calls[0]!.records.map((r) => r.partitionKey)).toEqual(['pk-1', 'pk-2']);
    expect(counted.RecordsOk).toBe(1);
    expect(counted.RecordsReingested).toBe(2);
    expect(counted.LogEventsArchived).toBe(40);

    const failing = createFirehoseTransformHandler({
      options: { maxResponseBytes: 150_000 },
      reingest: async () => {
        throw new Error('stream throttled');
      },
    });
    await expect(failing(firehoseEvent(input))).rejects.toThrow('stream throttled');
  });
});

describe('Firehose transform with KPL aggregated records', () => {
  it('de-aggregates a KPL record holding several CWL records and archives every event of all of them', async () => {
    const envelopes = [envelope(3, 'a'), envelope(2, 'b'), envelope(4, 'c')];
    const aggregated = await new Promise<Buffer>((resolve, reject) => {
      const out: Buffer[] = [];
      aggregation.aggregate(
        envelopes.map((e, i) => ({ partitionKey: `pk-${i}`, data: encodeCwlRecord(e) })),
        (encoded, done) => {
          out.push(encoded.data);
          done();
        },
        () => (out.length === 1 ? resolve(out[0]!) : reject(new Error(`expected one aggregate, got ${out.length}`))),
        (err) => reject(err),
      );
    });
    expect([...aggregated.subarray(0, 4)]).toEqual([0xf3, 0x89, 0x9a, 0xc2]);
    const plan = planFirehoseTransform(firehoseEvent([{ data: aggregated, partitionKey: 'pk-0' }]));
    expect(plan.response.records[0]!.result).toBe('Ok');
    expect(okLines(plan.response).map((l) => l.id)).toEqual(envelopes.flatMap((e) => e.logEvents.map((ev) => ev.id)));
  });

  it('fails a KPL record whose MD5 does not match, naming the checksum', () => {
    const kpl = JSON.parse(readFileSync(join(FIXTURES, 'kpl', 'kinesis-aggregation_python-test_deagg_kpl-records.json'), 'utf8')) as Array<{
      event_record: { kinesis: { data: string } };
    }>;
    const data = Buffer.from(kpl[0]!.event_record.kinesis.data, 'base64');
    data[data.length - 1]! ^= 0xff;
    const plan = planFirehoseTransform(firehoseEvent([{ data, partitionKey: 'a' }]));
    expect(plan.response.records[0]!.result).toBe('ProcessingFailed');
    expect(plan.failures[0]!.reason).toMatch(/^kpl: .*checksum/i);
  });
});
