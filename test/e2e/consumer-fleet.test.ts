import { MergeShardsCommand, PutRecordsCommand, SplitShardCommand, waitUntilStreamExists } from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexedEventIdCounts, readDeadLetters } from '../../cli/verify.ts';
import { LeaseTable, SHARD_END } from '../../consumers/leases/lease-table.ts';
import { listShards } from '../../consumers/retrieval/list-shards.ts';
import { baseComponentTemplate, indexTemplates, installIndexTemplates } from '../../infra/opensearch/index.ts';
import { CloudWatchLogsSimulator, startFaultProxy, type FaultProxy } from '../../local/index.ts';
import { indexName } from '../../processors/index.ts';
import { Fleet, leasesByOwner, metricValue, scrape, waitForDocuments, type WorkerLog } from '../fleet.ts';
import { createBucket, createStream, plainEventRecord, startTestStack, uniqueName, waitFor } from '../helpers.ts';

type Stack = Awaited<ReturnType<typeof startTestStack>>;

const SHARDS = 8;
const WORKERS = 3;
const FAILOVER_MS = 6000;
const RATE = 120;

/**
 * The consumer fleet as deployed: 3 `centralog consume` processes sharing an 8-shard
 * stream through one lease table, under steady traffic, on the real local stack.
 */
describe('consumer fleet: 3 worker processes, 8 shards, steady traffic', () => {
  let stack: Stack;
  const prefixes: string[] = [];
  const fleets: Fleet[] = [];
  const proxies: FaultProxy[] = [];

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await Promise.all(fleets.map((f) => f.stop()));
    await Promise.all(proxies.map((p) => p.stop()));
    for (const prefix of prefixes) {
      await stack.opensearch.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
      for (const t of indexTemplates(prefix)) await stack.opensearch.indices.deleteIndexTemplate({ name: t.name });
      await stack.opensearch.cluster.deleteComponentTemplate({ name: baseComponentTemplate(prefix).name });
    }
    await stack.stop();
  });

  async function scenario(name: string, options: { opensearchUrl?: string; env?: Record<string, string> } = {}) {
    const streamName = uniqueName(name);
    const bucket = uniqueName('dead-letters');
    const leaseTable = uniqueName('leases');
    const prefix = uniqueName(`fleet-${name}`).toLowerCase();
    prefixes.push(prefix);
    await createStream(stack.kinesis, streamName, SHARDS);
    await createBucket(stack.s3, bucket);
    await installIndexTemplates(stack.opensearch, prefix);
    const fleet = new Fleet({
      endpoints: stack.endpoints,
      opensearchUrl: options.opensearchUrl ?? stack.opensearchUrl,
      streamName,
      leaseTable,
      deadLetterBucket: bucket,
      indexPrefix: prefix,
      env: { CENTRALOG_FAILOVER_TIME_MS: String(FAILOVER_MS), ...options.env },
    });
    fleets.push(fleet);
    const table = new LeaseTable(stack.dynamodb, leaseTable);
    const simulator = new CloudWatchLogsSimulator({ kinesis: stack.kinesis, streamName, accounts: 3 });
    await simulator.subscribe();
    for (let i = 0; i < WORKERS; i++) await fleet.add();
    const pattern = `${prefix}-aws.*`;

    /** Every produced event is in OpenSearch exactly once: same count, same ids. */
    const expectExactlyOnce = async (extra = 0) => {
      await waitForDocuments(stack.opensearch, pattern, simulator.produced + extra, 120_000);
      const ids = [...simulator.producedKeys].map((k) => k.slice(k.lastIndexOf('|') + 1));
      const counts = await indexedEventIdCounts(stack.opensearch, pattern, ids);
      expect(counts.size).toBe(ids.length);
      expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
      const total = await stack.opensearch.count({ index: pattern } as never);
      expect((total.body as unknown as { count: number }).count).toBe(simulator.produced + extra);
    };
    const checkpoints = async () => new Map((await table.list()).map((l) => [l.leaseKey, l.checkpoint]));
    const allOwned = async () => {
      const owners = leasesByOwner(await table.list());
      return !owners.has('(none)') && [...owners.values()].flat().length === SHARDS && owners.size === WORKERS;
    };
    return { streamName, bucket, table, fleet, simulator, prefix, pattern, expectExactlyOnce, checkpoints, allOwned };
  }

  it('balances 2-3 leases per worker; after kill -9 its shards are taken within failoverTime + 2 s and every event is indexed exactly once', async () => {
    const s = await scenario('failover');
    const traffic = s.simulator.run({ durationMs: 25_000, ratePerSecond: RATE });

    let owners = new Map<string, string[]>();
    await waitFor(
      'each worker holding 2-3 of the 8 leases',
      async () => {
        owners = leasesByOwner(await s.table.list());
        const counts = [...owners.entries()].filter(([o]) => o !== '(none)').map(([, shards]) => shards.length);
        return counts.length === WORKERS && counts.every((n) => n >= 2 && n <= 3) && counts.reduce((a, b) => a + b, 0) === SHARDS;
      },
      30_000,
    );
    // The owners in the table are the workers by the ids they were given (--worker-id), no one else.
    expect([...owners.keys()].sort()).toEqual(s.fleet.workers.map((w) => w.id).sort());

    // Kill the busiest worker while it is delivering (traffic keeps every shard busy).
    const victim = s.fleet.workers.reduce((a, b) => ((owners.get(a.id)?.length ?? 0) >= (owners.get(b.id)?.length ?? 0) ? a : b));
    await waitFor('the victim delivering a batch', () => victim.logs.length > 0, 5000);
    const killedAt = Date.now();
    victim.process.kill('SIGKILL');
    await victim.exited;
    // What the victim held when it died (balancing may have moved a lease since the snapshot above).
    const orphaned = (await s.table.list()).filter((l) => l.leaseOwner === victim.id && l.checkpoint !== SHARD_END).map((l) => l.leaseKey);
    expect(orphaned.length).toBeGreaterThanOrEqual(2);
    let takenAfterMs = 0;
    await waitFor(
      "the killed worker's shards owned by the survivors",
      async () => {
        const leases = await s.table.list();
        const done = orphaned.every((shard) => {
          const owner = leases.find((l) => l.leaseKey === shard)?.leaseOwner;
          return owner !== undefined && owner !== victim.id;
        });
        if (done) takenAfterMs = Date.now() - killedAt;
        return done;
      },
      FAILOVER_MS + 10_000,
    );
    console.log(`failover: ${orphaned.length} lease(s) taken ${takenAfterMs} ms after kill -9 (failoverTime ${FAILOVER_MS} ms)`);
    expect(takenAfterMs).toBeLessThanOrEqual(FAILOVER_MS + 2000);

    await traffic;
    await s.expectExactlyOnce();
    // The survivors share all 8 shards.
    const after = leasesByOwner(await s.table.list());
    expect([...after.keys()].sort()).toEqual(s.fleet.workers.filter((w) => w !== victim).map((w) => w.id).sort());
    // Taken from it, not released: the victim had no chance to say goodbye. Mostly as expired; a survivor
    // below its share may also steal one before it expires, as balancing does with any owner.
    const takenOver = s.fleet.logs().filter((l) => l.message === 'lease acquired' && l.from === victim.id && Date.parse(l.time) >= killedAt);
    // Every lease it held is among them; a take the victim sent just before its death may land after the table was read, and is taken over too.
    expect(takenOver.map((l) => l.shardId)).toEqual(expect.arrayContaining(orphaned));
    expect(takenOver.filter((l) => l.how !== 'expired' && l.how !== 'stolen')).toEqual([]);
    expect(takenOver.some((l) => l.how === 'expired')).toBe(true);
  }, 180_000);

  it('splits a shard and merges two others under traffic: every event present, no child read before its parents finished', async () => {
    const s = await scenario('reshard', { env: { CENTRALOG_SHARD_SYNC_INTERVAL_MS: '60000' } });
    const traffic = s.simulator.run({ durationMs: 20_000, ratePerSecond: RATE });
    await waitFor('all leases owned', s.allOwned, 30_000);
    await sleep(2000);

    const shards = await listShards(stack.kinesis, s.streamName);
    const first = shards.find((sh) => sh.ShardId === 'shardId-000000000000')!;
    const lo = BigInt(first.HashKeyRange!.StartingHashKey!);
    const hi = BigInt(first.HashKeyRange!.EndingHashKey!);
    await stack.kinesis.send(
      new SplitShardCommand({ StreamName: s.streamName, ShardToSplit: first.ShardId!, NewStartingHashKey: String((lo + hi) / 2n) }),
    );
    await waitUntilStreamExists({ client: stack.kinesis, maxWaitTime: 30, minDelay: 1 }, { StreamName: s.streamName });
    await sleep(2000);
    await stack.kinesis.send(
      new MergeShardsCommand({ StreamName: s.streamName, ShardToMerge: 'shardId-000000000006', AdjacentShardToMerge: 'shardId-000000000007' }),
    );
    await waitUntilStreamExists({ client: stack.kinesis, maxWaitTime: 30, minDelay: 1 }, { StreamName: s.streamName });
    await traffic;
    await s.expectExactlyOnce();

    const logs = s.fleet.logs();
    const reads = logs.filter((l) => l.message === 'shard reading');
    const finished = new Map<string, WorkerLog>();
    for (const l of logs) if (l.message === 'shard finished') finished.set(l.shardId as string, l);
    const children = reads.filter((r) => (r.parentShardIds as string[]).length > 0);
    // Shards 8 and 9 come from the split of 0; 10 from merging 6 and 7.
    expect(new Set(children.map((r) => r.shardId))).toEqual(new Set(['shardId-000000000008', 'shardId-000000000009', 'shardId-000000000010']));
    for (const read of children) {
      for (const parent of read.parentShardIds as string[]) {
        const end = finished.get(parent);
        expect(end, `${parent} finished before ${read.shardId as string} was read`).toBeDefined();
        expect(end!.at as number).toBeLessThanOrEqual(read.at as number);
      }
    }
    expect(finished.has('shardId-000000000000') && finished.has('shardId-000000000006') && finished.has('shardId-000000000007')).toBe(true);
    // The finished parents' leases are cleaned up once their children have started.
    await waitFor(
      'parent leases cleaned up',
      async () => {
        const leases = await s.table.list();
        return !leases.some((l) => ['shardId-000000000000', 'shardId-000000000006', 'shardId-000000000007'].includes(l.leaseKey));
      },
      90_000,
    );
    const leases = await s.table.list();
    expect(leases.filter((l) => l.checkpoint === SHARD_END)).toEqual([]);
  }, 240_000);

  it('keeps every checkpoint still while OpenSearch is unreachable for 30 s, loses nothing and resumes by itself', async () => {
    const proxy = await startFaultProxy(stack.opensearchUrl);
    proxies.push(proxy);
    const s = await scenario('outage', { opensearchUrl: proxy.url });
    const traffic = s.simulator.run({ durationMs: 40_000, ratePerSecond: RATE });
    await waitFor('all leases owned', s.allOwned, 30_000);
    await waitForDocuments(stack.opensearch, s.pattern, 200);

    proxy.setMode({ kind: 'down' });
    // Anything already answered before the switch may still checkpoint: let it land.
    await sleep(1500);
    const before = await s.checkpoints();
    const ownersBefore = leasesByOwner(await s.table.list());
    const inFlight = () =>
      Promise.all(s.fleet.workers.map(async (w) => metricValue(await scrape(w), 'centralog_consumer_in_flight_bytes') ?? Number.NaN));
    const heldBefore = await inFlight();
    await sleep(28_500);
    const after = await s.checkpoints();
    expect(after).toEqual(before);
    // Leases are renewed through the outage: nobody lost or stole one.
    expect(leasesByOwner(await s.table.list())).toEqual(ownersBefore);
    expect(proxy.counters.refusedConnections).toBeGreaterThan(0);
    // Backpressure: every worker still holds the batches it could not deliver (none dropped)
    // and has read nothing more, byte for byte, though traffic kept coming for 28 s.
    expect(heldBefore.every((bytes) => bytes > 0), String(heldBefore)).toBe(true);
    expect(await inFlight()).toEqual(heldBefore);
    for (const w of s.fleet.workers) {
      expect(metricValue(await scrape(w), 'centralog_consumer_process_resident_memory_bytes')).toBeLessThan(400 * 1024 * 1024);
    }
    proxy.setMode({ kind: 'pass' });

    await traffic;
    await s.expectExactlyOnce();
    const moved = [...(await s.checkpoints()).entries()].filter(([k, v]) => before.get(k) !== v);
    expect(moved.length).toBeGreaterThan(0);
  }, 180_000);

  it('survives 429 on half the bulk items for 20 s: nothing lost or duplicated, retries back off', async () => {
    const proxy = await startFaultProxy(stack.opensearchUrl);
    proxies.push(proxy);
    const s = await scenario('throttle', { opensearchUrl: proxy.url });
    const traffic = s.simulator.run({ durationMs: 30_000, ratePerSecond: RATE });
    await waitFor('all leases owned', s.allOwned, 30_000);
    await waitForDocuments(stack.opensearch, s.pattern, 200);

    const start = { ...proxy.counters };
    proxy.setMode({ kind: 'reject-bulk-items', status: 429, fraction: 0.5 });
    await sleep(20_000);
    proxy.setMode({ kind: 'pass' });
    const requests = proxy.counters.bulkRequests - start.bulkRequests;
    const rejected = proxy.counters.rejectedItems - start.rejectedItems;
    const items = proxy.counters.bulkItems - start.bulkItems;
    console.log(`429 window: ${requests} bulk requests, ${items} items sent, ${rejected} rejected with 429`);
    expect(rejected).toBeGreaterThan(0);
    // Each rejected item is resent after a back-off: the items sent stay within a small
    // multiple of the events produced in the window, and the request rate stays far from
    // a hot loop (which would be thousands of requests a second).
    expect(items).toBeLessThan(RATE * 20 * 3);
    expect(requests / 20).toBeLessThan(40);

    await traffic;
    await s.expectExactlyOnce();
  }, 180_000);

  it('dead-letters poison records (bad gzip, invalid JSON, a 300 KB message, a mapping conflict) with their reasons while the shards keep flowing', async () => {
    const s = await scenario('poison');
    const traffic = s.simulator.run({ durationMs: 12_000, ratePerSecond: RATE });
    await waitFor('all leases owned', s.allOwned, 30_000);
    const now = Date.now();
    const envelope = (logStream: string, id: string, message: string) => plainEventRecord(logStream, id, message, now);
    // The generic index of the day with a numeric `message`: plain text conflicts with it.
    await stack.opensearch.indices.create({
      index: indexName(s.prefix, 'cloudwatch_logs', new Date(now)),
      body: { mappings: { properties: { message: { type: 'long' } } } },
    } as never);
    const put = await stack.kinesis.send(
      new PutRecordsCommand({
        StreamName: s.streamName,
        Records: [
          { PartitionKey: 'poison-1', Data: Buffer.from('definitely not gzip') },
          { PartitionKey: 'poison-2', Data: gzipSync('{"messageType":"DATA_MESSAGE","owner":"1","logGr') },
          { PartitionKey: 'poison-3', Data: envelope('big', '3'.repeat(56), 'x'.repeat(300 * 1024)) },
          { PartitionKey: 'poison-4', Data: envelope('conflict', '4'.repeat(56), 'text that is not a number') },
        ],
      }),
    );
    await traffic;
    await s.expectExactlyOnce();
    await waitFor('four dead letters', async () => (await readDeadLetters(stack.s3, s.bucket)).length >= 4, 30_000);
    const letters = await readDeadLetters(stack.s3, s.bucket);
    const reasons = letters.map((l) => l.reason).sort();
    expect(letters).toHaveLength(4);
    expect(reasons[0]).toMatch(/^decode compression: not gzip or zlib/);
    expect(reasons[1]).toMatch(/^decode json: /);
    expect(reasons[2]).toMatch(/^index 400: mapper_parsing_exception/);
    expect(reasons[3]).toBe(`oversized: message of ${300 * 1024} bytes is over the 262144-byte event limit`);
    const big = letters.find((l) => l.stage === 'size')!;
    expect(big.event?.message.length).toBe(300 * 1024);
    expect(big.envelope).toEqual({ owner: '210987654321', logGroup: '/app/plain', logStream: 'big' });
    for (const l of letters) expect(l.shardId).toMatch(/^shardId-/);
    // Each poisoned shard's checkpoint moved past its poison record: nothing is stuck behind one.
    const leases = new Map((await s.table.list()).map((l) => [l.leaseKey, l.checkpoint]));
    for (const entry of put.Records!) {
      expect(BigInt(leases.get(entry.ShardId!)!)).toBeGreaterThanOrEqual(BigInt(entry.SequenceNumber!));
    }
  }, 180_000);
});
