import { SplitShardCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexedEventIdCounts } from '../../cli/verify.ts';
import { LeaseTable, SHARD_END } from '../../consumers/leases/lease-table.ts';
import { listShards } from '../../consumers/retrieval/list-shards.ts';
import { createFanOutKinesisClient } from '../../consumers/retrieval/fanout-client.ts';
import { FanOutRetrieval } from '../../consumers/retrieval/fanout-reader.ts';
import { StreamConsumer } from '../../consumers/retrieval/stream-consumer.ts';
import { Worker, type WorkerOptions } from '../../consumers/scheduler/worker.ts';
import { DeadLetterSink } from '../../consumers/sinks/dead-letter.ts';
import { BulkSink } from '../../consumers/sinks/opensearch-bulk.ts';
import { baseComponentTemplate, indexTemplates, installIndexTemplates } from '../../infra/opensearch/index.ts';
import { startFanOutEndpoint, type FanOutEndpoint } from '../../local/fanout-endpoint.ts';
import { CloudWatchLogsSimulator } from '../../local/index.ts';
import { createBucket, createStream, readShard, startTestStack, uniqueName, waitFor } from '../helpers.ts';

type Stack = Awaited<ReturnType<typeof startTestStack>>;

describe('consumer worker reading with enhanced fan-out (local SubscribeToShard endpoint)', () => {
  let stack: Stack;
  let endpoint: FanOutEndpoint;
  const prefix = uniqueName('fanout-it').toLowerCase();
  const pattern = `${prefix}-aws.*`;

  beforeAll(async () => {
    stack = await startTestStack();
    endpoint = await startFanOutEndpoint({ kinesisEndpoint: stack.endpoints.kinesis!, activationMs: 50, minResubscribeMs: 1000 });
    await installIndexTemplates(stack.opensearch, prefix);
  });
  afterAll(async () => {
    await stack.opensearch.indices.delete({ index: pattern, ignore_unavailable: true, allow_no_indices: true });
    for (const t of indexTemplates(prefix)) await stack.opensearch.indices.deleteIndexTemplate({ name: t.name });
    await stack.opensearch.cluster.deleteComponentTemplate({ name: baseComponentTemplate(prefix).name });
    await endpoint?.stop();
    await stack.stop();
  });

  async function setup(shards: number) {
    const streamName = uniqueName('stream');
    const bucket = uniqueName('dead-letters');
    await createStream(stack.kinesis, streamName, shards);
    await createBucket(stack.s3, bucket);
    const leases = new LeaseTable(stack.dynamodb, uniqueName('leases'));
    const client = createFanOutKinesisClient('us-east-1', endpoint.url);
    const logs: Array<{ message: string; fields?: Record<string, unknown> }> = [];
    const log: WorkerOptions['log'] = (_level, message, fields) => logs.push({ message, fields });
    const retrieval = new FanOutRetrieval({ kinesis: client, consumer: new StreamConsumer({ kinesis: client, streamName, name: 'centralog-it', pollMs: 50 }), retry: { baseMs: 200, maxMs: 1000 }, log });
    const options = (overrides: Partial<WorkerOptions> = {}): WorkerOptions => ({
      workerId: uniqueName('worker'),
      kinesis: stack.kinesis,
      streamName,
      leases,
      bulk: new BulkSink(stack.opensearch),
      deadLetters: new DeadLetterSink(stack.s3, bucket),
      indexPrefix: prefix,
      retrieval,
      parentPollMs: 200,
      log,
      ...overrides,
    });
    return { streamName, leases, options, logs };
  }

  it('indexes every event once, checkpoints each shard at its last record, and starts a split\'s children only after the parent reached SHARD_END', async () => {
    const { streamName, leases, options, logs } = await setup(1);
    const simulator = new CloudWatchLogsSimulator({ kinesis: stack.kinesis, streamName, accounts: 2 });
    await simulator.subscribe();
    await simulator.produce(200);
    await stack.kinesis.send(new SplitShardCommand({ StreamName: streamName, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 127n).toString() }));
    await waitFor('the split', async () => (await listShards(stack.kinesis, streamName)).length === 3, 10_000);
    await simulator.produce(200);
    const worker = new Worker(options({ shardSyncIntervalMs: 1000 }));
    await worker.start();
    await waitFor('all events indexed', () => worker.counters.created >= 400, 60_000);
    await worker.stop();

    expect(worker.counters.duplicates).toBe(0);
    const counts = await indexedEventIdCounts(stack.opensearch, pattern, [...simulator.producedKeys].map((k) => k.split('|')[3]!));
    expect(counts.size).toBe(400);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);

    // The parent was checkpointed at SHARD_END ('shard finished' follows that write); once a child has
    // started, shard sync may already have removed its lease.
    const parent = await leases.get('shardId-000000000000');
    expect(parent === undefined || parent.checkpoint === SHARD_END).toBe(true);
    for (const child of ['shardId-000000000001', 'shardId-000000000002']) {
      const last = (await readShard(stack.kinesis, streamName, child)).at(-1)?.SequenceNumber;
      expect((await leases.get(child))?.checkpoint).toBe(last ?? 'TRIM_HORIZON');
    }
    const parentFinished = logs.find((l) => l.message === 'shard finished' && l.fields?.shardId === 'shardId-000000000000')?.fields?.at as number;
    const childrenStarted = logs.filter((l) => l.message === 'shard reading' && l.fields?.shardId !== 'shardId-000000000000').map((l) => l.fields?.at as number);
    expect(childrenStarted).toHaveLength(2);
    for (const at of childrenStarted) expect(at).toBeGreaterThanOrEqual(parentFinished);
    expect(logs.some((l) => l.message === 'shard end reached by fan-out')).toBe(true);
  });

  it('on lease loss mid-subscription, cancels the subscription and writes no checkpoint', async () => {
    const { streamName, leases, options } = await setup(1);
    const simulator = new CloudWatchLogsSimulator({ kinesis: stack.kinesis, streamName, accounts: 1 });
    await simulator.subscribe();
    await simulator.produce(50);
    const worker = new Worker(options({ lease: { failoverTimeMs: 3000 } }));
    await worker.start();
    await waitFor('the first events indexed', () => worker.counters.created >= 50, 30_000);
    await waitFor('a subscription open', () => endpoint.openSubscriptions().some((s) => s.consumerArn.includes(`/${streamName}/`)), 10_000);
    // Another worker takes the lease (its counter moves on): this worker's next renewal fails.
    // The take is conditional on the counter just read, so a renewal in between makes it try again.
    await waitFor('the lease taken by another worker', async () => (await leases.take((await leases.get('shardId-000000000000'))!, 'someone-else')) !== undefined, 10_000);
    await waitFor('the lease loss', () => worker.heldShards.length === 0, 15_000);
    await waitFor('the subscription cancelled', () => !endpoint.openSubscriptions().some((s) => s.consumerArn.includes(`/${streamName}/`)), 5000);
    const after = (await leases.get('shardId-000000000000'))!;
    await simulator.produce(20);
    await new Promise((r) => setTimeout(r, 1500));
    await worker.stop();
    const final = (await leases.get('shardId-000000000000'))!;
    expect(final.leaseOwner).toBe('someone-else');
    expect(final.checkpoint).toBe(after.checkpoint);
    expect(worker.counters.created).toBe(50);
  });
});
