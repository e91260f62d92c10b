import { MergeShardsCommand, SplitShardCommand, waitUntilStreamExists } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseCoordinator, LeaseTable, SHARD_END, syncShardLeases, TRIM_HORIZON, type LeaseEvent } from '../../consumers/leases/index.ts';
import { startDynamoDb, startKinesis, type RunningEmulator } from '../../local/index.ts';
import { createDynamoDbClient, createKinesisClient } from '../../consumers/index.ts';
import { createStream, uniqueName, waitFor } from '../helpers.ts';

describe('lease table on the real local DynamoDB', () => {
  let emulators: RunningEmulator[];
  let ddb: ReturnType<typeof createDynamoDbClient>;
  let kinesis: ReturnType<typeof createKinesisClient>;

  beforeAll(async () => {
    emulators = [await startDynamoDb(), await startKinesis()];
    const endpoints = { region: 'us-east-1', dynamodb: emulators[0]!.endpoint, kinesis: emulators[1]!.endpoint };
    ddb = createDynamoDbClient(endpoints);
    kinesis = createKinesisClient(endpoints);
  });
  afterAll(async () => {
    await Promise.all(emulators.map((e) => e.stop()));
  });

  async function table(): Promise<LeaseTable> {
    const t = new LeaseTable(ddb, uniqueName('leases'));
    await t.ensureTable();
    return t;
  }

  it('stores KCL attribute names and creates each lease once', async () => {
    const t = await table();
    expect(await t.create('shardId-000000000002', ['shardId-000000000000', 'shardId-000000000001'])).toBe(true);
    expect(await t.create('shardId-000000000002', [])).toBe(false);
    expect(await t.get('shardId-000000000002')).toEqual({
      leaseKey: 'shardId-000000000002',
      leaseOwner: undefined,
      leaseCounter: 0,
      checkpoint: TRIM_HORIZON,
      checkpointSubSequenceNumber: 0,
      ownerSwitchesSinceCheckpoint: 0,
      parentShardIds: ['shardId-000000000000', 'shardId-000000000001'],
    });
  });

  it('lets exactly one of two workers take the same lease', async () => {
    const t = await table();
    await t.create('s', []);
    const read = (await t.get('s'))!;
    const results = await Promise.all([t.take(read, 'a'), t.take(read, 'b')]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.find(Boolean)!.leaseOwner;
    expect((await t.get('s'))!.leaseOwner).toBe(winner);
  });

  it('refuses renewal, checkpoint and release once another worker took the lease, and keeps its checkpoint', async () => {
    const t = await table();
    await t.create('s', []);
    const mine = (await t.take((await t.get('s'))!, 'a'))!;
    expect(await t.checkpoint(mine, '100')).toBe(true);
    expect(await t.renew(mine)).toBe(true);
    const stolen = await t.take((await t.get('s'))!, 'b');
    expect(stolen?.ownerSwitchesSinceCheckpoint).toBe(1);
    expect(await t.renew(mine)).toBe(false);
    expect(await t.checkpoint(mine, '200')).toBe(false);
    expect(await t.release(mine)).toBe(false);
    const now = (await t.get('s'))!;
    expect(now.leaseOwner).toBe('b');
    expect(now.checkpoint).toBe('100');
  });

  it('lets anyone take a released lease at once; deletes only finished leases', async () => {
    const t = await table();
    await t.create('s', []);
    const mine = (await t.take((await t.get('s'))!, 'a'))!;
    expect(await t.release(mine)).toBe(true);
    expect((await t.get('s'))!.leaseOwner).toBeUndefined();
    const theirs = (await t.take((await t.get('s'))!, 'b'))!;
    expect(theirs.leaseOwner).toBe('b');
    expect(await t.deleteFinished('s')).toBe(false);
    expect(await t.checkpoint(theirs, SHARD_END)).toBe(true);
    expect(await t.deleteFinished('s')).toBe(true);
    expect(await t.get('s')).toBeUndefined();
  });

  it('reports a lease lost the moment a renewal is refused, and stops renewing it', async () => {
    const t = await table();
    await t.create('s', []);
    const events: LeaseEvent[] = [];
    const coordinator = new LeaseCoordinator(t, 'a', (e) => events.push(e), () => undefined, { failoverTimeMs: 900, takeIntervalMs: 100 });
    coordinator.start();
    try {
      await waitFor('lease acquired', () => coordinator.held.has('s'), 5000);
      const held = coordinator.held.get('s')!;
      await t.take((await t.get('s'))!, 'thief');
      await waitFor('lease lost', () => held.lost.signal.aborted, 2000);
      expect(events.map((e) => e.type)).toEqual(['acquired', 'lost']);
      expect(coordinator.held.has('s')).toBe(false);
      expect(await coordinator.checkpoint('s', '1')).toBe(false);
    } finally {
      await coordinator.stop();
    }
    expect((await t.get('s'))!.leaseOwner).toBe('thief');
  });

  it('syncs leases parents-first across split and merge, and cleans up finished parents once their children started', async () => {
    const t = await table();
    const stream = uniqueName('sync');
    await createStream(kinesis, stream, 3);
    expect((await syncShardLeases(kinesis, stream, t)).created).toHaveLength(3);
    await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: '1000' }));
    await waitUntilStreamExists({ client: kinesis, maxWaitTime: 30, minDelay: 1 }, { StreamName: stream });
    await kinesis.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: 'shardId-000000000001', AdjacentShardToMerge: 'shardId-000000000002' }));
    await waitUntilStreamExists({ client: kinesis, maxWaitTime: 30, minDelay: 1 }, { StreamName: stream });
    const second = await syncShardLeases(kinesis, stream, t);
    expect(second.created.sort()).toEqual(['shardId-000000000003', 'shardId-000000000004', 'shardId-000000000005']);
    expect((await t.get('shardId-000000000005'))!.parentShardIds.sort()).toEqual(['shardId-000000000001', 'shardId-000000000002']);

    // Parent 0 finishes and both its children start: its lease goes; a new sync does not bring it back.
    const finish = async (key: string, checkpoint: string) => {
      const l = (await t.take((await t.get(key))!, 'w'))!;
      await t.checkpoint(l, checkpoint);
    };
    await finish('shardId-000000000000', SHARD_END);
    await finish('shardId-000000000003', '49000000000000000000000000000000000000000000000001');
    expect((await syncShardLeases(kinesis, stream, t)).cleaned).toEqual([]);
    await finish('shardId-000000000004', '49000000000000000000000000000000000000000000000002');
    expect((await syncShardLeases(kinesis, stream, t)).cleaned).toEqual(['shardId-000000000000']);
    const third = await syncShardLeases(kinesis, stream, t);
    expect(third.created).toEqual([]);
    expect(await t.get('shardId-000000000000')).toBeUndefined();
  });
});
