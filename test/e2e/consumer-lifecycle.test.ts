import { PutRecordCommand, type Shard } from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexedEventIdCounts } from '../../cli/verify.ts';
import { LeaseTable } from '../../consumers/leases/lease-table.ts';
import { listShards } from '../../consumers/retrieval/list-shards.ts';
import { baseComponentTemplate, indexTemplates, installIndexTemplates } from '../../infra/opensearch/index.ts';
import { startFaultProxy, type FaultProxy } from '../../local/index.ts';
import { encodeCwlRecord } from '../../processors/index.ts';
import { Fleet, healthz, metricValue, ownersNow, scrape, waitForDocuments } from '../fleet.ts';
import { createBucket, createStream, startGate, startTestStack, uniqueName, waitFor, type Gate } from '../helpers.ts';

type Stack = Awaited<ReturnType<typeof startTestStack>>;

const SYNC_INTERVAL_MS = 1000;
const FAILOVER_MS = 30_000;

/**
 * One `centralog consume` process at a time, from start to SIGTERM, as an orchestrator
 * sees it: /healthz while it runs, while its dependencies vanish and while it stops, and
 * what it leaves in the lease table for the next owner.
 */
describe('centralog consume lifecycle: /healthz and graceful stop', () => {
  let stack: Stack;
  const prefix = uniqueName('lifecycle').toLowerCase();
  const pattern = `${prefix}-aws.*`;
  const fleets: Fleet[] = [];
  const proxies: FaultProxy[] = [];
  const gates: Gate[] = [];

  beforeAll(async () => {
    stack = await startTestStack();
    await installIndexTemplates(stack.opensearch, prefix);
  });
  afterAll(async () => {
    await Promise.all(fleets.map((f) => f.stop()));
    await Promise.all(proxies.map((p) => p.stop()));
    await Promise.all(gates.map((g) => g.stop()));
    await stack.opensearch.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
    for (const t of indexTemplates(prefix)) await stack.opensearch.indices.deleteIndexTemplate({ name: t.name });
    await stack.opensearch.cluster.deleteComponentTemplate({ name: baseComponentTemplate(prefix).name });
    await stack.stop();
  });

  let nextEvent = 0;
  const nonce = String(Math.floor(Math.random() * 1e8)).padStart(8, '0');

  /** Puts one CloudWatch Logs record holding `events` plain-text events into exactly this shard. */
  async function putToShard(streamName: string, shard: Shard, events: number) {
    const now = Date.now();
    const ids = Array.from({ length: events }, () => `${String(now).padStart(20, '0')}${nonce}${String(++nextEvent).padStart(28, '0')}`);
    const data = encodeCwlRecord({
      messageType: 'DATA_MESSAGE',
      owner: '210987654321',
      logGroup: '/app/lifecycle',
      logStream: shard.ShardId!,
      subscriptionFilters: ['f'],
      logEvents: ids.map((id, i) => ({ id, timestamp: now, message: `event ${i} of ${id}` })),
    });
    const out = await stack.kinesis.send(
      new PutRecordCommand({ StreamName: streamName, PartitionKey: 'p', ExplicitHashKey: shard.HashKeyRange!.StartingHashKey!, Data: data }),
    );
    expect(out.ShardId).toBe(shard.ShardId);
    return { ids, sequenceNumber: out.SequenceNumber!, bytes: data.byteLength };
  }

  it('/healthz: 200 with JSON while shard sync works; 503 once DynamoDB or Kinesis is unreachable for 3 sync intervals; 200 again once back', async () => {
    // The worker reaches Kinesis and DynamoDB through gates that can be shut: to it, the service is gone.
    const kinesisGate = await startGate(stack.endpoints.kinesis!);
    const dynamoGate = await startGate(stack.endpoints.dynamodb!);
    gates.push(kinesisGate, dynamoGate);
    const endpoints = { ...stack.endpoints, kinesis: kinesisGate.endpoint, dynamodb: dynamoGate.endpoint };
    const streamName = uniqueName('health');
    const bucket = uniqueName('dead-letters');
    await createStream(stack.kinesis, streamName, 2);
    await createBucket(stack.s3, bucket);
    const fleet = new Fleet({
      endpoints,
      opensearchUrl: stack.opensearchUrl,
      streamName,
      leaseTable: uniqueName('leases'),
      deadLetterBucket: bucket,
      indexPrefix: prefix,
      env: { CENTRALOG_SHARD_SYNC_INTERVAL_MS: String(SYNC_INTERVAL_MS), CENTRALOG_FAILOVER_TIME_MS: String(FAILOVER_MS) },
    });
    fleets.push(fleet);
    const w = await fleet.add();
    await waitFor('both leases held', async () => (await healthz(w)).body.leasesHeld === 2, 15_000);

    // Running, shard sync working: 200 and JSON, and the last sync keeps being renewed
    // (its age drops at least once over 3 intervals).
    const ages: number[] = [];
    for (let i = 0; i < 7; i++) {
      const h = await healthz(w);
      expect(h.status).toBe(200);
      expect(h.contentType).toMatch(/^application\/json/);
      expect(h.body).toMatchObject({ healthy: true, status: 'ok', workerId: w.id, leasesHeld: 2 });
      expect(h.body.lastShardSyncAgeMs).toBeTypeOf('number');
      ages.push(h.body.lastShardSyncAgeMs as number);
      await sleep(SYNC_INTERVAL_MS / 2);
    }
    expect(ages.some((age, i) => i > 0 && age < ages[i - 1]!), `sync ages ${ages.join(', ')}`).toBe(true);

    for (const [what, gate] of [
      ['DynamoDB', dynamoGate],
      ['Kinesis', kinesisGate],
    ] as const) {
      await gate.shut();
      const downAt = Date.now();
      await waitFor(`503 with ${what} unreachable`, async () => (await healthz(w)).status === 503, 15_000);
      const unhealthyAfterMs = Date.now() - downAt;
      const h = await healthz(w);
      expect(h.status).toBe(503);
      expect(h.contentType).toMatch(/^application\/json/);
      expect(h.body).toMatchObject({ healthy: false, status: 'unhealthy', workerId: w.id });
      // Unhealthy because no shard sync succeeded for 3 intervals, not for any other reason.
      expect(h.body.lastShardSyncAgeMs as number).toBeGreaterThanOrEqual(3 * SYNC_INTERVAL_MS);
      // The process stays up for the orchestrator to decide; it does not crash.
      expect(w.process.exitCode).toBeNull();

      await gate.open();
      const upAt = Date.now();
      await waitFor(`200 with ${what} back`, async () => (await healthz(w)).status === 200, 15_000);
      console.log(`${what} unreachable: /healthz 503 after ${unhealthyAfterMs} ms; 200 again ${Date.now() - upAt} ms after it came back`);
      // A short outage (under failoverTime) costs no lease.
      expect((await healthz(w)).body).toMatchObject({ healthy: true, status: 'ok', leasesHeld: 2 });
    }
  }, 90_000);

  it('SIGTERM: 503 at once; batches in flight finish and checkpoint, then the leases are released and taken by the other worker in seconds (failoverTime 30 s); every event indexed once', async () => {
    const streamName = uniqueName('sigterm');
    const bucket = uniqueName('dead-letters');
    const leaseTable = uniqueName('leases');
    await createStream(stack.kinesis, streamName, 4);
    await createBucket(stack.s3, bucket);
    const shards = await listShards(stack.kinesis, streamName);
    const table = new LeaseTable(stack.dynamodb, leaseTable);
    // The worker to be stopped reaches OpenSearch through a proxy, so its batches can be held in flight.
    const proxy = await startFaultProxy(stack.opensearchUrl);
    proxies.push(proxy);
    const fleet = new Fleet({
      endpoints: stack.endpoints,
      opensearchUrl: stack.opensearchUrl,
      streamName,
      leaseTable,
      deadLetterBucket: bucket,
      indexPrefix: prefix,
      env: { CENTRALOG_FAILOVER_TIME_MS: String(FAILOVER_MS), CENTRALOG_SHUTDOWN_TIMEOUT_MS: '30000' },
    });
    fleets.push(fleet);
    // a takes 2 leases and b the other 2, so that no lease changes hands before the signal.
    const a = await fleet.add({ CENTRALOG_OPENSEARCH_URL: proxy.url, CENTRALOG_MAX_LEASES_FOR_WORKER: '2' });
    await waitFor('the first worker holding 2 leases', async () => (await ownersNow(table)).get(a.id)?.length === 2, 20_000);
    const b = await fleet.add();
    let owners = new Map<string, string[]>();
    await waitFor(
      '2 leases each, by the table and by each worker',
      async () => {
        owners = await ownersNow(table);
        return (
          owners.get(a.id)?.length === 2 &&
          owners.get(b.id)?.length === 2 &&
          (await healthz(a)).body.leasesHeld === 2 &&
          (await healthz(b)).body.leasesHeld === 2
        );
      },
      30_000,
    );
    const aShards = owners.get(a.id)!.sort();
    const ids: string[] = [];

    // Before: everything flows.
    for (const shard of shards) ids.push(...(await putToShard(streamName, shard, 5)).ids);
    await waitForDocuments(stack.opensearch, pattern, ids.length);

    // OpenSearch unreachable for `a` only: its next records stay in flight, b's are indexed.
    proxy.setMode({ kind: 'down' });
    const held = new Map<string, { sequenceNumber: string; bytes: number }>();
    for (const shard of shards) {
      const put = await putToShard(streamName, shard, 5);
      ids.push(...put.ids);
      if (aShards.includes(shard.ShardId!)) held.set(shard.ShardId!, put);
    }
    const heldBytes = [...held.values()].reduce((n, p) => n + p.bytes, 0);
    await waitForDocuments(stack.opensearch, pattern, ids.length - 5 * held.size);
    let aInFlight: number | undefined;
    await waitFor(
      `a holding both of its new records (${heldBytes} bytes) undelivered`,
      async () => (aInFlight = metricValue(await scrape(a), 'centralog_consumer_in_flight_bytes')) === heldBytes,
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; in flight: ${aInFlight}`);
    });

    const termAt = Date.now();
    a.process.kill('SIGTERM');
    // Stopping is not healthy, from the moment the signal arrives.
    await waitFor('a answering 503', async () => (await healthz(a)).status === 503, 2000);
    expect((await healthz(a)).body).toMatchObject({ healthy: false, status: 'unhealthy', workerId: a.id });
    // Still finishing its batches: it keeps (and renews) its leases, and b takes none of them.
    await sleep(1500);
    expect((await ownersNow(table)).get(a.id)?.sort()).toEqual(aShards);
    expect((await healthz(a)).status).toBe(503);

    proxy.setMode({ kind: 'pass' });
    expect(await a.exited).toBe(0);
    const exitedAt = Date.now();
    // The batches held in flight were delivered and checkpointed before the leases went.
    const afterExit = await table.list();
    for (const shardId of aShards) {
      const lease = afterExit.find((l) => l.leaseKey === shardId)!;
      expect(lease.leaseOwner, shardId).not.toBe(a.id);
      expect(lease.checkpoint, shardId).toBe(held.get(shardId)!.sequenceNumber);
    }

    await waitFor('b holding all 4 leases', async () => (await ownersNow(table)).get(b.id)?.length === 4, FAILOVER_MS);
    const takenAfterExitMs = Date.now() - exitedAt;
    const takenAfterTermMs = Date.now() - termAt;
    console.log(`SIGTERM: leases taken ${takenAfterExitMs} ms after the stopped worker exited, ${takenAfterTermMs} ms after the signal (failoverTime ${FAILOVER_MS} ms)`);
    // Released, so taken at b's next scan (every failoverTime / 10), not after failoverTime.
    expect(takenAfterExitMs).toBeLessThan(FAILOVER_MS / 3);
    const acquiredSinceTerm = () =>
      b.logs.filter((l) => l.message === 'lease acquired' && aShards.includes(l.shardId as string) && Date.parse(l.time) >= termAt);
    // The table can be ahead of b's stdout.
    await waitFor("b's log of both takes", () => acquiredSinceTerm().length >= aShards.length, 5000);
    const taken = acquiredSinceTerm();
    expect(taken.map((l) => l.shardId).sort()).toEqual(aShards);
    for (const l of taken) {
      expect(l.how, l.shardId as string).toBe('unowned');
      expect(l.checkpoint, l.shardId as string).toBe(held.get(l.shardId as string)!.sequenceNumber);
    }

    // After: b reads on from those checkpoints.
    for (const shard of shards) ids.push(...(await putToShard(streamName, shard, 5)).ids);
    await waitForDocuments(stack.opensearch, pattern, ids.length);
    const counts = await indexedEventIdCounts(stack.opensearch, pattern, ids);
    expect(counts.size).toBe(ids.length);
    expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    const total = await stack.opensearch.count({ index: pattern } as never);
    expect((total.body as unknown as { count: number }).count).toBe(ids.length);
    // Nothing a delivered was read again by b.
    expect(metricValue(await scrape(b), 'centralog_consumer_documents_duplicate_total')).toBe(0);
  }, 90_000);
});
