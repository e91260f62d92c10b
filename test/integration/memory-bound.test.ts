import { GetRecordsCommand, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexedEventIdCounts } from '../../cli/verify.ts';
import { createKinesisClient } from '../../consumers/aws-clients.ts';
import { LeaseTable } from '../../consumers/leases/lease-table.ts';
import { createOpenSearchClient } from '../../consumers/opensearch-client.ts';
import { listShards } from '../../consumers/retrieval/list-shards.ts';
import { Worker } from '../../consumers/scheduler/worker.ts';
import { DeadLetterSink } from '../../consumers/sinks/dead-letter.ts';
import { BulkSink } from '../../consumers/sinks/opensearch-bulk.ts';
import { baseComponentTemplate, indexTemplates, installIndexTemplates } from '../../infra/opensearch/index.ts';
import { startFaultProxy, type FaultProxy } from '../../local/index.ts';
import { encodeCwlRecord } from '../../processors/index.ts';
import { metricValue, waitForDocuments } from '../fleet.ts';
import { createBucket, createStream, startTestStack, uniqueName, waitFor } from '../helpers.ts';

type Stack = Awaited<ReturnType<typeof startTestStack>>;

const SHARDS = 6;
const RECORDS_PER_SHARD = 20;
/** Records per GetRecords call: every response is exactly this many records while a shard has a backlog. */
const RECORDS_PER_READ = 10;
const SLOTS = 2;

/**
 * The README's memory bound, driven all the way to it: every shard has a backlog of large
 * records, OpenSearch is down, and a worker with maxInFlightBatches = 2 must hold exactly
 * two GetRecords responses, read nothing more, and deliver everything once OpenSearch is back.
 */
describe('memory bound: maxInFlightBatches GetRecords responses, not one byte more', () => {
  let stack: Stack;
  let proxy: FaultProxy;
  const prefix = uniqueName('memory-bound').toLowerCase();
  const pattern = `${prefix}-aws.*`;

  beforeAll(async () => {
    stack = await startTestStack();
    proxy = await startFaultProxy(stack.opensearchUrl);
    await installIndexTemplates(stack.opensearch, prefix);
  });
  afterAll(async () => {
    await proxy?.stop();
    await stack.opensearch.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
    for (const t of indexTemplates(prefix)) await stack.opensearch.indices.deleteIndexTemplate({ name: t.name });
    await stack.opensearch.cluster.deleteComponentTemplate({ name: baseComponentTemplate(prefix).name });
    await stack.stop();
  });

  it('holds 2 full responses of large records while OpenSearch is down, reads nothing more, then delivers every event once', async () => {
    const streamName = uniqueName('bound');
    const bucket = uniqueName('dead-letters');
    await createStream(stack.kinesis, streamName, SHARDS);
    await createBucket(stack.s3, bucket);

    // A backlog on every shard: records of ~75 KB (one event of 96 KiB random text, which gzip barely shrinks).
    const nonce = String(Math.floor(Math.random() * 1e8)).padStart(8, '0');
    const ids: string[] = [];
    const recordBytes: number[] = [];
    const lastSequence = new Map<string, string>();
    for (const shard of await listShards(stack.kinesis, streamName)) {
      const entries: PutRecordsRequestEntry[] = [];
      for (let r = 0; r < RECORDS_PER_SHARD; r++) {
        const id = `${String(Date.now()).padStart(20, '0')}${nonce}${String(ids.length).padStart(28, '0')}`;
        ids.push(id);
        const data = encodeCwlRecord({
          messageType: 'DATA_MESSAGE',
          owner: '210987654321',
          logGroup: '/app/large',
          logStream: shard.ShardId!,
          subscriptionFilters: ['f'],
          logEvents: [{ id, timestamp: Date.now(), message: randomBytes(72 * 1024).toString('base64') }],
        });
        recordBytes.push(data.byteLength);
        entries.push({ PartitionKey: 'p', ExplicitHashKey: shard.HashKeyRange!.StartingHashKey!, Data: data });
      }
      const out = await stack.kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: entries }));
      expect(out.FailedRecordCount).toBe(0);
      expect(new Set(out.Records!.map((r) => r.ShardId))).toEqual(new Set([shard.ShardId]));
      lastSequence.set(shard.ShardId!, out.Records!.at(-1)!.SequenceNumber!);
    }
    const largest = Math.max(...recordBytes);
    const smallest = Math.min(...recordBytes);
    // What the README promises: at most maxInFlightBatches GetRecords responses in memory.
    const bound = SLOTS * RECORDS_PER_READ * largest;

    // Every GetRecords call, with the number of records it returned.
    const kinesis = createKinesisClient(stack.endpoints);
    const reads: number[] = [];
    let bytesRead = 0;
    const send = kinesis.send.bind(kinesis) as (command: unknown, options?: unknown) => Promise<unknown>;
    (kinesis as unknown as { send: typeof send }).send = async (command, opts) => {
      const out = await send(command, opts);
      if (command instanceof GetRecordsCommand) {
        const records = (out as { Records?: Array<{ Data?: Uint8Array }> }).Records ?? [];
        reads.push(records.length);
        for (const r of records) bytesRead += r.Data?.byteLength ?? 0;
      }
      return out;
    };
    const leases = new LeaseTable(stack.dynamodb, uniqueName('leases'));
    proxy.setMode({ kind: 'down' });
    const worker = new Worker({
      workerId: uniqueName('worker'),
      kinesis,
      streamName,
      leases,
      bulk: new BulkSink(createOpenSearchClient(proxy.url), { maxAttempts: 2, baseDelayMs: 20 }),
      deadLetters: new DeadLetterSink(stack.s3, bucket),
      indexPrefix: prefix,
      reader: { limit: RECORDS_PER_READ, idleBackoffMs: 100 },
      maxInFlightBatches: SLOTS,
      retryDelayMs: 100,
      shutdownTimeoutMs: 2000,
    });

    // The gauge as /metrics exports it, sampled throughout.
    const inFlight = async () =>
      metricValue(await worker.metrics.registry.getSingleMetricAsString('centralog_consumer_in_flight_bytes'), 'centralog_consumer_in_flight_bytes') ?? NaN;
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await inFlight());
        await sleep(5);
      }
    })();

    await worker.start();
    try {
      await waitFor(`all ${SHARDS} leases held`, () => worker.heldShards.length === SHARDS, 10_000);
      // Saturated: two full responses in flight, stuck retrying.
      await waitFor('two full responses in flight', async () => (await inFlight()) >= SLOTS * RECORDS_PER_READ * smallest, 10_000);
      const readsAtBound = reads.length;
      const heldAtBound = await inFlight();
      // OpenSearch stays down: nothing more is read, nothing is let go.
      await sleep(3000);
      expect(proxy.counters.refusedConnections).toBeGreaterThan(0);
      expect(reads).toEqual(Array(SLOTS).fill(RECORDS_PER_READ));
      expect(reads.length).toBe(readsAtBound);
      expect(await inFlight()).toBe(heldAtBound);
      // The gauge is exactly the record data read and not yet delivered: all of it.
      expect(heldAtBound).toBe(bytesRead);
      expect(heldAtBound).toBeLessThanOrEqual(bound);
      expect(worker.counters.eventsIn).toBe(0);
      console.log(`memory bound: ${heldAtBound} bytes held in ${reads.length} responses (bound ${bound}; one response per shard would be ${SHARDS * RECORDS_PER_READ * largest})`);

      proxy.setMode({ kind: 'pass' });
      await waitFor('every event delivered', () => worker.counters.eventsIn >= ids.length, 60_000);
      await waitFor('nothing left in flight', async () => (await inFlight()) === 0, 5000);
    } finally {
      sampling = false;
      await sampler;
      await worker.stop();
    }

    // Never above the bound, before or after OpenSearch came back.
    expect(peak).toBeLessThanOrEqual(bound);
    // Each record read once: backpressure held records, it did not drop and re-read them.
    expect(reads.reduce((a, b) => a + b, 0)).toBe(ids.length);
    expect(worker.counters.created).toBe(ids.length);
    expect(worker.counters.duplicates).toBe(0);
    expect(worker.counters.deadLettered).toBe(0);
    await waitForDocuments(stack.opensearch, pattern, ids.length);
    const counts = await indexedEventIdCounts(stack.opensearch, pattern, ids);
    expect(counts.size).toBe(ids.length);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    for (const [shardId, sequenceNumber] of lastSequence) expect((await leases.get(shardId))?.checkpoint, shardId).toBe(sequenceNumber);
  }, 90_000);
});
