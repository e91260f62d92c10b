import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  waitUntilStreamExists,
  type PutRecordsInput,
  type PutRecordsCommandOutput,
  type PutRecordsResultEntry,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listShards } from '../../consumers/retrieval/list-shards.ts';
import { PUT_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_ENTRIES, PutRecordsFailedError } from '../../consumers/sinks/kinesis-put.ts';
import { kinesisReingest } from '../../consumers/sinks/kinesis-reingest.ts';
import { startKinesis, type RunningEmulator } from '../../local/emulators.ts';

let kinesalite: RunningEmulator;

beforeAll(async () => {
  kinesalite = await startKinesis();
});

afterAll(async () => {
  await kinesalite?.stop();
});

interface PutCall {
  startedAt: number;
  endedAt: number;
  /** Record ids sent, in order, and which of them this call failed. */
  sent: string[];
  failed: Map<string, string>;
  bytes: number;
}

const idOf = (data: Uint8Array): string => (JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id;

/**
 * A real client to kinesalite (which never throttles) whose PutRecords calls fail the entries
 * `failWith` names: those entries are not sent, and the answer carries their ErrorCode in their
 * place, as Kinesis answers a partial failure.
 */
function faultyKinesis(failWith: (id: string, timesSeen: number) => string | undefined) {
  const client = new KinesisClient({
    region: 'us-east-1',
    endpoint: kinesalite.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // kinesalite fails the default HTTP/2 handler.
    requestHandler: new NodeHttpHandler(),
  });
  const calls: PutCall[] = [];
  const seen = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!/^PutRecords(Command)?$/.test(context.commandName ?? '')) return next(args);
      const input = args.input as PutRecordsInput;
      const entries = input.Records ?? [];
      const call: PutCall = { startedAt: Date.now(), endedAt: 0, sent: [], failed: new Map(), bytes: 0 };
      calls.push(call);
      const codes = entries.map((e) => {
        const id = idOf(e.Data!);
        call.sent.push(id);
        call.bytes += e.Data!.byteLength + Buffer.byteLength(e.PartitionKey!);
        const times = (seen.get(id) ?? 0) + 1;
        seen.set(id, times);
        const code = failWith(id, times);
        if (code) call.failed.set(id, code);
        return code;
      });
      const passing = entries.filter((_, i) => codes[i] === undefined);
      let accepted: PutRecordsResultEntry[] = [];
      let result: Awaited<ReturnType<typeof next>> = { output: { $metadata: {}, Records: [] }, response: {} };
      if (passing.length > 0) {
        result = await next({ ...args, input: { ...input, Records: passing } });
        accepted = (result.output as PutRecordsCommandOutput).Records ?? [];
      }
      let j = 0;
      const merged = codes.map((code) =>
        code ? { ErrorCode: code, ErrorMessage: `injected ${code}` } : accepted[j++]!,
      );
      call.endedAt = Date.now();
      const output: PutRecordsCommandOutput = {
        ...(result.output as PutRecordsCommandOutput),
        FailedRecordCount: merged.filter((r) => r.ErrorCode).length,
        Records: merged,
      };
      return { ...result, output };
    },
    { step: 'initialize', name: 'injectPutRecordsFailures' },
  );
  return { client, calls };
}

async function createStream(client: KinesisClient, shards: number): Promise<string> {
  const name = `reingest-${randomUUID().slice(0, 8)}`;
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  await waitUntilStreamExists({ client, maxWaitTime: 30, minDelay: 1 }, { StreamName: name });
  return name;
}

/** Everything in the stream, read back with GetRecords shard by shard. */
async function readAll(client: KinesisClient, streamName: string): Promise<_Record[]> {
  const records: _Record[] = [];
  for (const shard of await listShards(client, streamName)) {
    const it = await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }));
    let iterator = it.ShardIterator;
    while (iterator) {
      const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
      records.push(...(out.Records ?? []));
      if ((out.Records ?? []).length === 0) break;
      iterator = out.NextShardIterator;
    }
  }
  return records;
}

/**
 * 700 small records, then small and 40 KiB ones in turn, so calls are cut both by count
 * (500 small) and by bytes (5 MiB is ~128 large ones).
 */
function makeRecords(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const id = `r${i}`;
    const pad = i >= 700 && i % 2 === 0 ? 'x'.repeat(40 * 1024) : 'y'.repeat(i % 50);
    return { id, partitionKey: `account-${i % 29}/group-${i % 7}`, data: Buffer.from(JSON.stringify({ id, pad })), recordId: id };
  });
}

/** Each call stays within PutRecords limits; a record is resent only after a call failed it. */
function expectOnlyFailedEntriesRetried(calls: PutCall[]): void {
  const state = new Map<string, 'failed' | 'accepted'>();
  for (const call of calls) {
    expect(call.sent.length).toBeLessThanOrEqual(PUT_RECORDS_MAX_ENTRIES);
    expect(call.bytes).toBeLessThanOrEqual(PUT_RECORDS_MAX_BYTES);
    for (const id of call.sent) {
      const before = state.get(id);
      expect(before, `${id} sent again after it was accepted`).not.toBe('accepted');
      state.set(id, call.failed.has(id) ? 'failed' : 'accepted');
    }
  }
}

describe('re-ingest through kinesalite with partial PutRecords failures', () => {
  it('retries only the failed entries until every record is in the stream exactly once, with its partition key', async () => {
    // Every third record is refused on its first two tries, as a hot shard would.
    const { client, calls } = faultyKinesis((id, times) =>
      Number(id.slice(1)) % 3 === 0 && times <= 2 ? 'ProvisionedThroughputExceededException' : undefined,
    );
    const streamName = await createStream(client, 4);
    const records = makeRecords(1500);

    await kinesisReingest(client, { baseDelayMs: 5, maxDelayMs: 50 })(streamName, records);

    expectOnlyFailedEntriesRetried(calls);
    expect(calls.filter((c) => c.sent.length === PUT_RECORDS_MAX_ENTRIES).length).toBeGreaterThan(0);
    expect(calls.filter((c) => c.bytes > PUT_RECORDS_MAX_BYTES * 0.9).length).toBeGreaterThan(0);
    const failures = calls.reduce((n, c) => n + c.failed.size, 0);
    expect(failures).toBe(2 * 500);
    expect(calls.reduce((n, c) => n + c.sent.length, 0)).toBe(records.length + failures);

    const stored = await readAll(client, streamName);
    const byId = new Map<string, _Record[]>();
    for (const r of stored) byId.set(idOf(r.Data!), [...(byId.get(idOf(r.Data!)) ?? []), r]);
    expect(stored).toHaveLength(records.length);
    for (const r of records) {
      const copies = byId.get(r.id) ?? [];
      expect(copies, `${r.id} copies in the stream`).toHaveLength(1);
      expect(copies[0]!.PartitionKey).toBe(r.partitionKey);
      expect(Buffer.from(copies[0]!.Data!).equals(r.data)).toBe(true);
    }
  });

  it('after max attempts throws PutRecordsFailedError naming the count and codes, with the rest stored once', async () => {
    const stuck: Record<string, string> = {
      r3: 'ProvisionedThroughputExceededException',
      r10: 'ProvisionedThroughputExceededException',
      r11: 'InternalFailure',
    };
    const { client, calls } = faultyKinesis((id) => stuck[id]);
    const streamName = await createStream(client, 2);
    const records = makeRecords(40);
    const policy = { baseDelayMs: 100, maxDelayMs: 400 };

    const error = await kinesisReingest(client, { ...policy, maxAttempts: 4 })(streamName, records).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PutRecordsFailedError);
    const failed = error as PutRecordsFailedError;
    expect(failed.failed).toBe(3);
    expect(failed.codes.sort()).toEqual(['InternalFailure', 'ProvisionedThroughputExceededException']);
    expect(failed.message).toMatch(/^3 record\(s\) not accepted by reingest-\w+ after 4 attempts/);
    expect(failed.message).toContain('ProvisionedThroughputExceededException');
    expect(failed.message).toContain('InternalFailure');

    expect(calls).toHaveLength(4);
    expectOnlyFailedEntriesRetried(calls);
    expect(calls.slice(1).map((c) => c.sent.sort())).toEqual([1, 2, 3].map(() => ['r10', 'r11', 'r3']));
    // The shared back-off: at least half the nominal wait (100, 200, 400 ms), growing.
    for (let i = 1; i < calls.length; i++) {
      const waited = calls[i]!.startedAt - calls[i - 1]!.endedAt;
      const nominal = Math.min(policy.baseDelayMs * 2 ** (i - 1), policy.maxDelayMs);
      expect(waited).toBeGreaterThanOrEqual(nominal / 2 - 2);
      // Timers on a busy machine fire late, never early: a loose upper bound.
      expect(waited).toBeLessThan(nominal + 1000);
    }

    const stored = await readAll(client, streamName);
    const ids = stored.map((r) => idOf(r.Data!)).sort();
    expect(ids).toEqual(records.map((r) => r.id).filter((id) => !(id in stuck)).sort());
  });
});
