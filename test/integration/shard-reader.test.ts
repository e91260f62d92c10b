import {
  CreateStreamCommand,
  ExpiredIteratorException,
  KinesisClient,
  ProvisionedThroughputExceededException,
  PutRecordsCommand,
  waitUntilStreamExists,
  type GetShardIteratorCommandInput,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listShards } from '../../consumers/retrieval/list-shards.ts';
import { ShardReader, type ShardReaderOptions, type StartPosition } from '../../consumers/retrieval/shard-reader.ts';
import { startKinesis, type RunningEmulator } from '../../local/emulators.ts';

let kinesalite: RunningEmulator;

beforeAll(async () => {
  kinesalite = await startKinesis();
});

afterAll(async () => {
  await kinesalite?.stop();
});

type Fault = 'expired' | 'throttled';

interface Call {
  command: string;
  at: number;
  input: unknown;
  fault?: Fault;
}

/**
 * A real client to kinesalite that fails chosen GetRecords calls (by their 1-based number)
 * before they are sent: kinesalite never throttles, and its iterators expire after 5 minutes.
 */
function faultyKinesis(faults: Record<number, Fault> = {}) {
  const client = new KinesisClient({
    region: 'us-east-1',
    endpoint: kinesalite.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // kinesalite fails the default HTTP/2 handler.
    requestHandler: new NodeHttpHandler(),
  });
  const calls: Call[] = [];
  let getRecords = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = (context.commandName ?? '').replace(/Command$/, '');
      const call: Call = { command, at: Date.now(), input: args.input };
      calls.push(call);
      if (command === 'GetRecords') {
        call.fault = faults[++getRecords];
        if (call.fault === 'expired') {
          throw new ExpiredIteratorException({ message: 'Iterator expired (injected)', $metadata: { httpStatusCode: 400 } });
        }
        if (call.fault === 'throttled') {
          throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded for shard (injected)', $metadata: { httpStatusCode: 400 } });
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectGetRecordsFaults' },
  );
  return { client, calls, getRecordsCalls: () => calls.filter((c) => c.command === 'GetRecords') };
}

/** A one-shard stream; returns its name and shard id. */
async function oneShardStream(client: KinesisClient): Promise<{ streamName: string; shardId: string }> {
  const streamName = `reader-${randomUUID().slice(0, 8)}`;
  await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 1 }));
  await waitUntilStreamExists({ client, maxWaitTime: 30, minDelay: 1 }, { StreamName: streamName });
  const [shard] = await listShards(client, streamName);
  return { streamName, shardId: shard!.ShardId! };
}

/** Puts `n` records in order; returns their sequence numbers. */
async function put(client: KinesisClient, streamName: string, n: number, from = 0): Promise<string[]> {
  const out = await client.send(
    new PutRecordsCommand({
      StreamName: streamName,
      Records: Array.from({ length: n }, (_, i) => ({ PartitionKey: 'k', Data: Buffer.from(`record ${from + i}`) })),
    }),
  );
  return out.Records!.map((r) => r.SequenceNumber!);
}

/** Reads until `count` records came back (or `maxBatches` calls of next()). */
async function readN(reader: ShardReader, count: number, maxBatches = 100): Promise<string[]> {
  const seqs: string[] = [];
  for (let i = 0; i < maxBatches && seqs.length < count; i++) {
    const batch = await reader.next();
    seqs.push(...batch.records.map((r) => r.SequenceNumber!));
  }
  return seqs;
}

function reader(client: KinesisClient, streamName: string, shardId: string, start: StartPosition, options: ShardReaderOptions): ShardReader {
  return new ShardReader(client, streamName, shardId, start, { idleBackoffMs: 0, ...options });
}

describe('ShardReader on kinesalite with injected faults', () => {
  it('after an expired iterator resumes just after the last record read: none skipped, none twice', async () => {
    // Expiries before any record, after two batches, and twice in a row later on.
    const { client, calls, getRecordsCalls } = faultyKinesis({ 1: 'expired', 4: 'expired', 7: 'expired', 8: 'expired' });
    const { streamName, shardId } = await oneShardStream(client);
    const written = await put(client, streamName, 30);

    const r = reader(client, streamName, shardId, { type: 'TRIM_HORIZON' }, { limit: 4, minCallIntervalMs: 0 });
    const read = await readN(r, written.length);

    expect(read).toEqual(written);
    expect(getRecordsCalls().filter((c) => c.fault === 'expired')).toHaveLength(4);
    // Every fresh iterator starts where reading stopped: the start before any record, else after the last one.
    const iterators = calls.filter((c) => c.command === 'GetShardIterator').map((c) => c.input as GetShardIteratorCommandInput);
    expect(iterators.map((i) => [i.ShardIteratorType, i.StartingSequenceNumber])).toEqual([
      ['TRIM_HORIZON', undefined],
      ['TRIM_HORIZON', undefined],
      ['AFTER_SEQUENCE_NUMBER', written[7]],
      ['AFTER_SEQUENCE_NUMBER', written[15]],
      ['AFTER_SEQUENCE_NUMBER', written[15]],
    ]);
  });

  it('a LATEST iterator that expires before any record resumes from when it was taken, not from a new LATEST', async () => {
    const { client } = faultyKinesis({ 2: 'expired' });
    const { streamName, shardId } = await oneShardStream(client);
    await put(client, streamName, 3);
    // Arrival times are compared at the emulator's timestamp precision: the earlier records lie clearly before.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const r = reader(client, streamName, shardId, { type: 'LATEST' }, { limit: 100, minCallIntervalMs: 0 });
    expect((await r.next()).records).toEqual([]);
    const after = await put(client, streamName, 5, 3);

    expect(await readN(r, after.length, 5)).toEqual(after);
  });

  it('backs off on ProvisionedThroughputExceededException with growing waits within the policy, then returns the records', async () => {
    const policy = { throttleBackoffMs: 200, maxThrottleBackoffMs: 800 };
    const { client, getRecordsCalls } = faultyKinesis({ 1: 'throttled', 2: 'throttled', 3: 'throttled', 4: 'throttled' });
    const { streamName, shardId } = await oneShardStream(client);
    const written = await put(client, streamName, 10);

    const r = reader(client, streamName, shardId, { type: 'TRIM_HORIZON' }, { minCallIntervalMs: 0, ...policy });
    const batch = await r.next();

    expect(batch.records.map((x) => x.SequenceNumber)).toEqual(written);
    const at = getRecordsCalls().map((c) => c.at);
    expect(at).toHaveLength(5);
    const waits = at.slice(1).map((t, i) => t - at[i]!);
    // Equal jitter: between half and all of 200, 400, 800, 800 ms. Timers fire late on a
    // busy machine, never early: the lower bounds are exact, the upper ones loose.
    waits.forEach((wait, i) => {
      const nominal = Math.min(policy.throttleBackoffMs * 2 ** i, policy.maxThrottleBackoffMs);
      expect(wait, `wait after throttle ${i + 1}`).toBeGreaterThanOrEqual(nominal / 2 - 2);
      expect(wait, `wait after throttle ${i + 1}`).toBeLessThan(nominal + 400);
    });
    expect(waits[2]! + waits[3]!).toBeGreaterThan(waits[0]! + waits[1]!);
  });

  it('keeps GetRecords calls at least minCallIntervalMs apart', async () => {
    const minCallIntervalMs = 250;
    const { client, getRecordsCalls } = faultyKinesis({ 3: 'expired' });
    const { streamName, shardId } = await oneShardStream(client);
    const written = await put(client, streamName, 35);

    const r = reader(client, streamName, shardId, { type: 'TRIM_HORIZON' }, { limit: 5, minCallIntervalMs });
    expect(await readN(r, written.length)).toEqual(written);

    const at = getRecordsCalls().map((c) => c.at);
    expect(at.length).toBeGreaterThanOrEqual(8);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!, `gap before call ${i + 1}`).toBeGreaterThanOrEqual(minCallIntervalMs - 2);
  });
});
