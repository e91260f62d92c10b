import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { _Record } from '@aws-sdk/client-kinesis';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeadLetters } from '../../cli/verify.ts';
import { ConsumerMetrics, LatencySample } from '../../consumers/metrics.ts';
import { Accounting } from '../../consumers/scheduler/accounting.ts';
import { prepareBatch } from '../../consumers/scheduler/batch.ts';
import { BatchDelivery } from '../../consumers/scheduler/delivery.ts';
import { BulkSink, DeadLetterSink, documentBody } from '../../consumers/sinks/index.ts';
import { encodeCwlRecord, type CwlEnvelope } from '../../processors/index.ts';
import { createBucket, startTestStack, uniqueName } from '../helpers.ts';

type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;
const bucket = uniqueName('acct-dead');
const prefix = uniqueName('acct');
const DAY1 = Date.UTC(2026, 10, 30, 12, 0, 0);
const DAY2 = Date.UTC(2026, 10, 29, 12, 0, 0);
const ARRIVED = new Date('2026-12-01T22:15:30.000Z');

const envelope = (events: CwlEnvelope['logEvents'], messageType: CwlEnvelope['messageType'] = 'DATA_MESSAGE'): CwlEnvelope => ({
  messageType,
  owner: '111122223333',
  logGroup: '/app/accounting',
  logStream: 'stream-1',
  subscriptionFilters: ['centralog'],
  logEvents: events,
});
const record = (seq: string, data: Uint8Array): _Record => ({ SequenceNumber: seq, PartitionKey: 'k', Data: data, ApproximateArrivalTimestamp: ARRIVED });

/** Four records: one data record of four events, a CONTROL_MESSAGE, a re-ingested copy and a corrupt one. */
function records(): _Record[] {
  const events = [
    { id: 'e1', timestamp: DAY1, message: 'plain text one' },
    { id: 'e2', timestamp: DAY1, message: 'plain text two (indexed before)' },
    { id: 'e3', timestamp: DAY2, message: 'plain text three (its index refuses it)' },
    { id: 'e4', timestamp: DAY1, message: 'x'.repeat(300 * 1024) },
  ];
  return [
    record('49600000000000000000000000000000000000000000000000000001', encodeCwlRecord(envelope(events))),
    record('49600000000000000000000000000000000000000000000000000002', encodeCwlRecord(envelope([{ id: 'c', timestamp: DAY1, message: 'CWL CONTROL MESSAGE' }], 'CONTROL_MESSAGE'))),
    record('49600000000000000000000000000000000000000000000000000003', encodeCwlRecord(envelope(events.slice(0, 1)), { reingested: true })),
    record('49600000000000000000000000000000000000000000000000000004', gzipSync(Buffer.from('{"messageType": "DATA_MES')).subarray(0, 20)),
  ];
}

async function metric(metrics: ConsumerMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const values = (m?.values ?? []) as Array<{ value: number; labels: Record<string, string | number> }>;
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((n, v) => n + v.value, 0);
}

beforeAll(async () => {
  stack = await startTestStack();
  await createBucket(stack.s3, bucket);
});
afterAll(async () => {
  await stack?.opensearch.indices.delete({ index: `${prefix}-*` }).catch(() => undefined);
  await stack?.stop();
});

describe('accounting: every record and every event ends in exactly one counted place', () => {
  it('counts created, duplicate, refused, oversized, CONTROL, re-ingested and undecodable, and the metrics say the same', async () => {
    const batch = prepareBatch(records(), { streamName: 'acct-stream', shardId: 'shardId-000000000007', indexPrefix: prefix });
    const [first, second, third] = batch.documents;
    // e2 is there already (a replay), e3's index maps nothing dynamically (an operator's strict index).
    await stack.opensearch.index({ index: second!.index, id: second!.id, body: { message: 'earlier copy' }, refresh: true });
    await stack.opensearch.indices.create({ index: third!.index, body: { mappings: { dynamic: 'strict', properties: { x: { type: 'keyword' } } } } });

    const metrics = new ConsumerMetrics();
    const accounting = new Accounting(metrics, new LatencySample());
    const delivery = new BatchDelivery(new BulkSink(stack.opensearch), new DeadLetterSink(stack.s3, bucket), 'acct-stream');
    const outcome = await delivery.deliver('shardId-000000000007', batch, new AbortController().signal);
    accounting.delivered(batch, outcome);
    accounting.checkpointed('shardId-000000000007', batch);

    // e1 is the one created: OpenSearch holds it under its id.
    expect((await stack.opensearch.exists({ index: first!.index, id: first!.id })).body).toBe(true);
    expect(accounting.counters).toMatchObject({
      recordsIn: 4,
      controlDropped: 1,
      reingestedSkipped: 1,
      eventsIn: 3,
      created: 1,
      duplicates: 1,
      deadLettered: 3,
      checkpoints: 1,
      indexedBySource: { cloudtrail: 0, vpcflow: 0, guardduty: 0, cloudwatch_logs: 1 },
    });
    expect(outcome.deadLetters.map((l) => l.stage).sort()).toEqual(['decode', 'index', 'size']);
    // Every document carries the time the consumer made it (ECS event.ingested), after the event's own time.
    for (const d of batch.documents) {
      const ingested = Date.parse((documentBody(d).event as { ingested: string }).ingested);
      expect(Math.abs(ingested - Date.now())).toBeLessThan(60_000);
    }
    // The four events of the data record: created + duplicate + refused + oversized.
    const c = accounting.counters;
    expect(c.created + c.duplicates + outcome.deadLetters.filter((l) => l.stage !== 'decode').length).toBe(4);

    expect(await metric(metrics, 'centralog_consumer_records_in_total', { shard: 'shardId-000000000007' })).toBe(4);
    expect(await metric(metrics, 'centralog_consumer_events_in_total')).toBe(3);
    expect(await metric(metrics, 'centralog_consumer_documents_indexed_total', { source: 'cloudwatch_logs' })).toBe(1);
    expect(await metric(metrics, 'centralog_consumer_documents_duplicate_total')).toBe(1);
    expect(await metric(metrics, 'centralog_consumer_dropped_total', { reason: 'control_message' })).toBe(1);
    expect(await metric(metrics, 'centralog_consumer_dropped_total', { reason: 'reingested' })).toBe(1);
    for (const stage of ['decode', 'size', 'index']) expect(await metric(metrics, 'centralog_consumer_dead_lettered_total', { stage })).toBe(1);
  });

  it('a batch delivered again counts its documents as duplicates, never as created twice', async () => {
    const batch = prepareBatch(records().slice(0, 1), { streamName: 'acct-stream', shardId: 'shardId-000000000008', indexPrefix: prefix });
    const accounting = new Accounting(new ConsumerMetrics(), new LatencySample());
    const delivery = new BatchDelivery(new BulkSink(stack.opensearch), new DeadLetterSink(stack.s3, bucket), 'acct-stream');
    const signal = new AbortController().signal;
    accounting.delivered(batch, await delivery.deliver('shardId-000000000008', batch, signal));
    accounting.delivered(batch, await delivery.deliver('shardId-000000000008', batch, signal));
    // e1 and e2 exist from the first test: both are duplicates; e3 is refused each time.
    expect(accounting.counters.created).toBe(0);
    expect(accounting.counters.duplicates).toBe(4);
    expect(accounting.counters.indexedBySource.cloudwatch_logs).toBe(0);
  });

  it('writes dead letters under dead-letters/<arrival hour>/<stream>/<shard>/<sequence number>.ndjson.gz', async () => {
    const keys = ((await stack.s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key).sort();
    expect(keys).toContain('dead-letters/2026/12/01/22/acct-stream/shardId-000000000007/49600000000000000000000000000000000000000000000000000001.ndjson.gz');
    expect(keys).toContain('dead-letters/2026/12/01/22/acct-stream/shardId-000000000007/49600000000000000000000000000000000000000000000000000004.ndjson.gz');
    const letters = await readDeadLetters(stack.s3, bucket);
    const size = letters.find((l) => l.stage === 'size' && l.shardId === 'shardId-000000000007')!;
    expect(size.reason).toBe('oversized: message of 307200 bytes is over the 262144-byte event limit');
    expect(size.event?.id).toBe('e4');
    expect(size.envelope).toEqual({ owner: '111122223333', logGroup: '/app/accounting', logStream: 'stream-1' });
    const decode = letters.find((l) => l.stage === 'decode')!;
    expect(decode.reason).toMatch(/^decode /);
    expect(decode.rawData).toBe(Buffer.from(records()[3]!.Data!).toString('base64'));
    const refused = letters.find((l) => l.stage === 'index' && l.shardId === 'shardId-000000000007')!;
    expect(refused.event?.id).toBe('e3');
    expect(refused.reason).toMatch(/strict_dynamic_mapping_exception/);
  });
});
