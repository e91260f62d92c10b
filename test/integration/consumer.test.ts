import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseTable, TRIM_HORIZON } from '../../consumers/leases/lease-table.ts';
import { createOpenSearchClient } from '../../consumers/opensearch-client.ts';
import { listShards } from '../../consumers/retrieval/list-shards.ts';
import { Worker, type WorkerOptions } from '../../consumers/scheduler/worker.ts';
import { DeadLetterSink } from '../../consumers/sinks/dead-letter.ts';
import { BulkSink } from '../../consumers/sinks/opensearch-bulk.ts';
import { readDeadLetters, indexedEventIdCounts } from '../../cli/verify.ts';
import { baseComponentTemplate, indexTemplates, installIndexTemplates } from '../../infra/opensearch/index.ts';
import { CloudWatchLogsSimulator, freePort } from '../../local/index.ts';
import { documentId, encodeCwlRecord, indexName } from '../../processors/index.ts';
import { createBucket, createStream, plainEventRecord, readShard, startTestStack, uniqueName, waitFor } from '../helpers.ts';

type Stack = Awaited<ReturnType<typeof startTestStack>>;

describe('consumer worker on the real local stack', () => {
  let stack: Stack;
  const prefix = uniqueName('consumer-it').toLowerCase();
  const pattern = `${prefix}-aws.*`;

  beforeAll(async () => {
    stack = await startTestStack();
    await installIndexTemplates(stack.opensearch, prefix);
  });
  afterAll(async () => {
    await stack.opensearch.indices.delete({ index: pattern, ignore_unavailable: true, allow_no_indices: true });
    for (const t of indexTemplates(prefix)) await stack.opensearch.indices.deleteIndexTemplate({ name: t.name });
    await stack.opensearch.cluster.deleteComponentTemplate({ name: baseComponentTemplate(prefix).name });
    await stack.stop();
  });

  async function setup(shards: number) {
    const streamName = uniqueName('stream');
    const bucket = uniqueName('dead-letters');
    await createStream(stack.kinesis, streamName, shards);
    await createBucket(stack.s3, bucket);
    const leases = new LeaseTable(stack.dynamodb, uniqueName('leases'));
    const checkpoints = { get: async (shardId: string) => (await leases.get(shardId))?.checkpoint };
    const options = (overrides: Partial<WorkerOptions> = {}): WorkerOptions => ({
      workerId: uniqueName('worker'),
      kinesis: stack.kinesis,
      streamName,
      leases,
      bulk: new BulkSink(stack.opensearch),
      deadLetters: new DeadLetterSink(stack.s3, bucket),
      indexPrefix: prefix,
      reader: { idleBackoffMs: 100 },
      ...overrides,
    });
    return { streamName, bucket, checkpoints, options };
  }

  /** The sequence number of the last record in each shard, read straight from Kinesis. */
  async function lastSequencePerShard(streamName: string): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    for (const shard of await listShards(stack.kinesis, streamName)) {
      const last = (await readShard(stack.kinesis, streamName, shard.ShardId!)).at(-1)?.SequenceNumber;
      if (last) result.set(shard.ShardId!, last);
    }
    return result;
  }

  it('indexes every produced event exactly once under its deterministic id and checkpoints each shard at its last record', async () => {
    const { streamName, checkpoints, options } = await setup(2);
    const simulator = new CloudWatchLogsSimulator({ kinesis: stack.kinesis, streamName, accounts: 2 });
    await simulator.subscribe();
    await simulator.produce(400);
    const worker = new Worker(options());
    await worker.start();
    await waitFor('all events indexed', () => worker.counters.eventsIn >= 400);
    await worker.stop();

    expect(worker.counters.created).toBe(400);
    expect(worker.counters.duplicates).toBe(0);
    expect(worker.counters.deadLettered).toBe(0);
    expect(worker.counters.controlDropped).toBe(simulator.controlMessagesSent);

    const keys = [...simulator.producedKeys];
    const counts = await indexedEventIdCounts(stack.opensearch, pattern, keys.map((k) => k.split('|')[3]!));
    expect(counts.size).toBe(400);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);

    // A VPC flow event is stored under the hash of owner|logGroup|logStream|id, in its day's index.
    const vpcKey = keys.find((k) => k.includes('/aws/vpc/flowlogs'))!;
    const [owner, logGroup, logStream, id] = vpcKey.split('|') as [string, string, string, string];
    const hits = await stack.opensearch.search({
      index: pattern,
      body: { query: { term: { 'aws.cloudwatch.event_id': id } } },
    } as never);
    const hit = (hits.body as unknown as { hits: { hits: Array<{ _id: string; _index: string; _source: Record<string, unknown> }> } }).hits
      .hits[0]!;
    expect(hit._id).toBe(documentId({ owner, logGroup, logStream }, id));
    expect(hit._index).toBe(indexName(prefix, 'vpcflow', new Date(hit._source['@timestamp'] as string)));

    for (const [shardId, last] of await lastSequencePerShard(streamName)) {
      expect(await checkpoints.get(shardId)).toBe(last);
    }
  });

  it('resumes after a restart from its checkpoint, reading only records written since', async () => {
    const { streamName, options } = await setup(1);
    const simulator = new CloudWatchLogsSimulator({ kinesis: stack.kinesis, streamName, accounts: 1 });
    await simulator.produce(50);
    const opts = options();
    const first = new Worker(opts);
    await first.start();
    await waitFor('first 50 indexed', () => first.counters.eventsIn >= 50);
    await first.stop();

    await simulator.produce(30);
    const second = new Worker({ ...opts, workerId: uniqueName('worker') });
    await second.start();
    await waitFor('next 30 indexed', () => second.counters.eventsIn >= 30);
    await new Promise((r) => setTimeout(r, 500));
    await second.stop();
    expect(second.counters.eventsIn).toBe(30);
    expect(second.counters.duplicates).toBe(0);
    expect(second.counters.created).toBe(30);
  });

  it('counts a re-delivered record as duplicates avoided (409) and leaves one document per event', async () => {
    const { streamName, options } = await setup(1);
    const envelope = {
      messageType: 'DATA_MESSAGE' as const,
      owner: '123456789012',
      logGroup: '/aws/vpc/flowlogs',
      logStream: 'eni-0123456789abcdef0-all',
      subscriptionFilters: ['f'],
      logEvents: [1, 2, 3].map((n) => ({
        id: `${Date.now()}${n}`.padStart(56, '7'),
        timestamp: Date.now(),
        message: `2 123456789012 eni-0123456789abcdef0 10.0.0.${n} 10.0.1.9 4433${n} 443 6 10 840 ${Math.floor(Date.now() / 1000) - 60} ${Math.floor(Date.now() / 1000)} ACCEPT OK`,
      })),
    };
    const data = encodeCwlRecord(envelope);
    // The same record twice: as a Firehose re-ingest or a producer retry would write it.
    await stack.kinesis.send(
      new PutRecordsCommand({ StreamName: streamName, Records: [{ PartitionKey: 'a', Data: data }, { PartitionKey: 'b', Data: data }] }),
    );
    const worker = new Worker(options());
    await worker.start();
    await waitFor('both copies handled', () => worker.counters.eventsIn >= 6);
    await worker.stop();
    expect(worker.counters.created).toBe(3);
    expect(worker.counters.duplicates).toBe(3);
    const counts = await indexedEventIdCounts(stack.opensearch, pattern, envelope.logEvents.map((e) => e.id));
    expect([...counts.values()]).toEqual([1, 1, 1]);
  });

  it('dead-letters corrupt gzip, truncated JSON and mapping conflicts with their reasons, and keeps the shard flowing', async () => {
    const { streamName, bucket, checkpoints, options } = await setup(1);
    const now = Date.now();
    const good = (logStream: string, id: string, message: string) => plainEventRecord(logStream, id, message, now);
    // An index whose `message` is numeric: a plain-text event conflicts with it.
    const conflicting = indexName(prefix, 'cloudwatch_logs', new Date(now));
    await stack.opensearch.indices.create({ index: conflicting, body: { mappings: { properties: { message: { type: 'long' } } } } });
    const truncated = gzipSync('{"messageType":"DATA_MESSAGE","owner":"1","logGr');
    await stack.kinesis.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: [
          { PartitionKey: 'p', Data: Buffer.from('definitely not gzip') },
          { PartitionKey: 'p', Data: truncated },
          { PartitionKey: 'p', Data: good('s1', '1'.repeat(56), 'text that is not a number') },
          {
            PartitionKey: 'p',
            Data: good('s2', '2'.repeat(56), `2 210987654321 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 ${Math.floor(now / 1000) - 1} ${Math.floor(now / 1000)} ACCEPT OK`),
          },
        ],
      }),
    );
    const worker = new Worker(options());
    await worker.start();
    await waitFor('four records handled', () => worker.counters.recordsIn >= 4);
    await worker.stop();

    const letters = await readDeadLetters(stack.s3, bucket);
    const reasons = letters.map((l) => l.reason).sort();
    expect(letters).toHaveLength(3);
    expect(reasons[0]).toMatch(/^decode compression: not gzip or zlib/);
    expect(reasons[1]).toMatch(/^decode json: /);
    expect(reasons[2]).toMatch(/^index 400: mapper_parsing_exception/);
    const conflict = letters.find((l) => l.stage === 'index')!;
    expect(conflict.event?.message).toBe('text that is not a number');
    expect(conflict.envelope).toEqual({ owner: '210987654321', logGroup: '/app/plain', logStream: 's1' });
    expect(conflict.document?.id).toBe(documentId({ owner: '210987654321', logGroup: '/app/plain', logStream: 's1' }, '1'.repeat(56)));
    // The body OpenSearch refused, as it was sent (the worker let it go once serialised).
    expect(conflict.document?.body).toMatchObject({ message: 'text that is not a number', aws: { cloudwatch: { log_group: '/app/plain' } } });
    const corrupt = letters.find((l) => l.reason.startsWith('decode compression'))!;
    expect(Buffer.from(corrupt.rawData!, 'base64').toString()).toBe('definitely not gzip');
    // Handling the same records again (a lease taken over before its checkpoint) rewrites, never adds.
    await new DeadLetterSink(stack.s3, bucket).write(letters);
    expect(await readDeadLetters(stack.s3, bucket)).toHaveLength(3);

    // The good VPC flow record after the poison ones was indexed and the checkpoint passed all four.
    expect(worker.counters.created).toBe(1);
    const [shard] = await listShards(stack.kinesis, streamName);
    const last = (await lastSequencePerShard(streamName)).get(shard!.ShardId!);
    expect(await checkpoints.get(shard!.ShardId!)).toBe(last);
  });

  it('does not move the checkpoint while OpenSearch is unreachable, and indexes nothing twice once it is back', async () => {
    const { streamName, checkpoints, options } = await setup(1);
    const simulator = new CloudWatchLogsSimulator({ kinesis: stack.kinesis, streamName, accounts: 1 });
    await simulator.produce(20);
    const deadPort = await freePort();
    const down = new Worker(
      options({
        bulk: new BulkSink(createOpenSearchClient(`http://127.0.0.1:${deadPort}`), { maxAttempts: 2, baseDelayMs: 10 }),
        retryDelayMs: 100,
        shutdownTimeoutMs: 300,
      }),
    );
    await down.start();
    await new Promise((r) => setTimeout(r, 1500));
    const [shard] = await listShards(stack.kinesis, streamName);
    expect(await checkpoints.get(shard!.ShardId!)).toBe(TRIM_HORIZON);
    expect(down.counters.eventsIn).toBe(0);
    await down.stop();
    expect(await checkpoints.get(shard!.ShardId!)).toBe(TRIM_HORIZON);

    const up = new Worker(options());
    await up.start();
    await waitFor('20 indexed after recovery', () => up.counters.eventsIn >= 20);
    await up.stop();
    expect(up.counters.created).toBe(20);
    const counts = await indexedEventIdCounts(stack.opensearch, pattern, [...simulator.producedKeys].map((k) => k.split('|')[3]!));
    expect(counts.size).toBe(20);
  });
});
