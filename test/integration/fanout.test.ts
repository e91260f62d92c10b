import { DeregisterStreamConsumerCommand, PutRecordsCommand, SplitShardCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { connect } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../../consumers/index.ts';
import { createFanOutKinesisClient } from '../../consumers/retrieval/fanout-client.ts';
import { FanOutRetrieval, type FanOutReader } from '../../consumers/retrieval/fanout-reader.ts';
import type { StartPosition } from '../../consumers/retrieval/shard-reader.ts';
import { StreamConsumer } from '../../consumers/retrieval/stream-consumer.ts';
import { startKinesis, type RunningEmulator } from '../../local/emulators.ts';
import { startFanOutEndpoint, type FanOutEndpoint, type FanOutEndpointOptions } from '../../local/fanout-endpoint.ts';
import { createStream, uniqueName, waitFor } from '../helpers.ts';

const SHARD = 'shardId-000000000000';
let kinesalite: RunningEmulator;
let kinesis: KinesisClient;
const endpoints: FanOutEndpoint[] = [];

beforeAll(async () => {
  kinesalite = await startKinesis();
  kinesis = createKinesisClient({ region: 'us-east-1', kinesis: kinesalite.endpoint });
});

afterAll(async () => {
  await Promise.all(endpoints.map((e) => e.stop()));
  await kinesalite?.stop();
});

async function endpoint(options: Partial<FanOutEndpointOptions> = {}): Promise<FanOutEndpoint> {
  const e = await startFanOutEndpoint({ kinesisEndpoint: kinesalite.endpoint, activationMs: 50, ...options });
  endpoints.push(e);
  return e;
}

async function put(stream: string, from: number, count: number, bytes = 10): Promise<void> {
  for (let i = from; i < from + count; i += 500) {
    const n = Math.min(500, from + count - i);
    await kinesis.send(
      new PutRecordsCommand({ StreamName: stream, Records: Array.from({ length: n }, (_, j) => ({ Data: Buffer.from(String(i + j).padStart(bytes, '0')), PartitionKey: 'p' })) }),
    );
  }
}

interface Opened {
  reader: FanOutReader;
  retrieval: FanOutRetrieval;
  client: KinesisClient;
  stop: AbortController;
  logs: Array<{ message: string; fields?: Record<string, unknown> }>;
}

function open(ep: FanOutEndpoint, stream: string, opts: { shardId?: string; start?: StartPosition; renewAfterMs?: number; name?: string; maxBatchBytes?: number } = {}): Opened {
  const client = createFanOutKinesisClient('us-east-1', ep.url);
  const logs: Opened['logs'] = [];
  const consumer = new StreamConsumer({ kinesis: client, streamName: stream, name: opts.name ?? 'centralog-test', pollMs: 50 });
  const retrieval = new FanOutRetrieval({ kinesis: client, consumer, renewAfterMs: opts.renewAfterMs, maxBatchBytes: opts.maxBatchBytes, retry: { baseMs: 100, maxMs: 400 }, log: (_l, message, fields) => logs.push({ message, fields }) });
  const stop = new AbortController();
  const reader = retrieval.open(opts.shardId ?? SHARD, opts.start ?? { type: 'TRIM_HORIZON' }, { signal: stop.signal }) as FanOutReader;
  return { reader, stop, logs, retrieval, client };
}

/** Reads until `count` records or the shard's end; the records' payloads as numbers. */
async function readUntil(reader: FanOutReader, count: number, timeoutMs = 30_000): Promise<{ values: number[]; ended: boolean }> {
  const values: number[] = [];
  const deadline = AbortSignal.timeout(timeoutMs);
  while (values.length < count) {
    await reader.ready(deadline);
    const batch = await reader.next(deadline);
    values.push(...batch.records.map((r) => Number(Buffer.from(r.Data!).toString())));
    if (batch.shardEnded) return { values, ended: true };
  }
  return { values, ended: false };
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('enhanced fan-out against the local SubscribeToShard endpoint', () => {
  it('answers SubscribeToShard with the service frames: initial-response, then SubscribeToShardEvent with ContinuationSequenceNumber', async () => {
    const stream = uniqueName('fo-frames');
    await createStream(kinesis, stream, 1);
    await put(stream, 0, 3);
    const ep = await endpoint();
    const { reader, stop } = open(ep, stream);
    await readUntil(reader, 3); // registers the consumer
    const arn = ep.openSubscriptions()[0]!.consumerArn;
    stop.abort();
    await sleep(5100); // the service refuses a second subscription within 5 s
    // A raw HTTP/2 call, decoded with the event-stream codec, so the frames themselves are checked.
    const session = connect(ep.url);
    const req = session.request({ ':method': 'POST', ':path': '/', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.SubscribeToShard' });
    req.end(JSON.stringify({ ConsumerARN: arn, ShardId: SHARD, StartingPosition: { Type: 'TRIM_HORIZON' } }));
    const headers = await new Promise<Record<string, unknown>>((resolve) => req.once('response', resolve));
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve) => {
      req.on('data', (c: Buffer) => {
        chunks.push(c);
        if (Buffer.concat(chunks).length > 200) resolve();
      });
    });
    req.close();
    session.close();
    expect(headers[':status']).toBe(200);
    expect(headers['content-type']).toBe('application/vnd.amazon.eventstream');
    const codec = new EventStreamCodec((b) => Buffer.from(b).toString('utf8'), (s) => Buffer.from(s, 'utf8'));
    let buf = Buffer.concat(chunks);
    const messages: Array<ReturnType<typeof codec.decode>> = [];
    while (buf.length >= 4 && buf.readUInt32BE(0) <= buf.length) {
      const len = buf.readUInt32BE(0);
      messages.push(codec.decode(buf.subarray(0, len)));
      buf = buf.subarray(len);
    }
    const header = (m: (typeof messages)[number], name: string) => m.headers[name]?.value;
    expect(header(messages[0]!, ':message-type')).toBe('event');
    expect(header(messages[0]!, ':event-type')).toBe('initial-response');
    expect(header(messages[1]!, ':event-type')).toBe('SubscribeToShardEvent');
    expect(header(messages[1]!, ':content-type')).toBe('application/json');
    const body = JSON.parse(Buffer.from(messages[1]!.body).toString('utf8')) as { Records: Array<{ Data: string; SequenceNumber: string }>; ContinuationSequenceNumber: string; MillisBehindLatest: number };
    expect(Buffer.from(body.Records[0]!.Data, 'base64').toString()).toBe('0000000000');
    expect(body.ContinuationSequenceNumber).toBe(body.Records.at(-1)!.SequenceNumber);
    expect(typeof body.MillisBehindLatest).toBe('number');
  });

  it('resumes after a dropped connection from the last continuation: every record once, in order', async () => {
    const stream = uniqueName('fo-drop');
    await createStream(kinesis, stream, 1);
    await put(stream, 0, 200);
    // Small events, so the drop falls between them.
    const ep = await endpoint({ maxEventBytes: 50, minResubscribeMs: 0 });
    const { reader, stop } = open(ep, stream);
    const first = await readUntil(reader, 60);
    ep.dropConnections();
    await put(stream, 200, 100);
    const rest = await readUntil(reader, 300 - first.values.length);
    stop.abort();
    expect([...first.values, ...rest.values]).toEqual(range(0, 300));
    expect(reader.subscriptions).toBeGreaterThanOrEqual(2);
  });

  it('renews a subscription that ends (configured short) and, on its own, one about to end; nothing skipped', async () => {
    const stream = uniqueName('fo-renew');
    await createStream(kinesis, stream, 1);
    const ep = await endpoint({ subscriptionMs: 700, minResubscribeMs: 0, heartbeatMs: 100 });
    const { reader, stop } = open(ep, stream);
    const writing = (async () => {
      for (let i = 0; i < 10; i++) {
        await put(stream, i * 10, 10);
        await sleep(250);
      }
    })();
    const got = await readUntil(reader, 100);
    await writing;
    expect(got.values).toEqual(range(0, 100));
    expect(ep.counters.expired).toBeGreaterThanOrEqual(2);
    // Renewal before the end, by the reader itself.
    const before = ep.counters.subscriptions;
    const ep2 = await endpoint({ minResubscribeMs: 0, heartbeatMs: 100 });
    const own = open(ep2, stream, { renewAfterMs: 300 });
    const again = await readUntil(own.reader, 100);
    await readUntil(own.reader, 1, 1500).catch(() => undefined);
    expect(again.values).toEqual(range(0, 100));
    expect(own.reader.subscriptions).toBeGreaterThanOrEqual(2);
    expect(ep2.counters.expired).toBe(0);
    stop.abort();
    own.stop.abort();
    expect(before).toBeGreaterThan(0);
  });

  it('waits and retries on ResourceInUseException while another subscription holds the shard', async () => {
    const stream = uniqueName('fo-inuse');
    await createStream(kinesis, stream, 1);
    await put(stream, 0, 10);
    const ep = await endpoint({ minResubscribeMs: 1500 });
    const a = open(ep, stream);
    await readUntil(a.reader, 10);
    const b = open(ep, stream);
    const got = await readUntil(b.reader, 10);
    expect(got.values).toEqual(range(0, 10));
    expect(ep.counters.refusedInUse).toBeGreaterThanOrEqual(1);
    expect(b.logs.some((l) => l.message === 'shard has another subscription; retrying')).toBe(true);
    a.stop.abort();
    b.stop.abort();
  });

  it('at shard end the last event names the children: the reader reports the end after the last record', async () => {
    const stream = uniqueName('fo-split');
    await createStream(kinesis, stream, 1);
    await put(stream, 0, 25);
    await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: SHARD, NewStartingHashKey: (2n ** 127n).toString() }));
    await sleep(200);
    const ep = await endpoint();
    const { reader, stop, logs } = open(ep, stream);
    const got = await readUntil(reader, 1000);
    stop.abort();
    expect(got.ended).toBe(true);
    expect(got.values).toEqual(range(0, 25));
    const end = logs.find((l) => l.message === 'shard end reached by fan-out');
    expect(end?.fields?.childShards).toEqual(['shardId-000000000001', 'shardId-000000000002']);
  });

  it('a deregistered consumer fails the reader; the next reader registers it again and goes on', async () => {
    const stream = uniqueName('fo-deregistered');
    await createStream(kinesis, stream, 1);
    await put(stream, 0, 5);
    const ep = await endpoint({ minResubscribeMs: 0 });
    const { reader, stop, retrieval, client } = open(ep, stream);
    await readUntil(reader, 5);
    const consumerArn = ep.openSubscriptions()[0]!.consumerArn;
    await client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: consumerArn }));
    ep.dropConnections();
    await expect(readUntil(reader, 1, 10_000)).rejects.toThrow(/not found/);
    await put(stream, 5, 5);
    const again = retrieval.open(SHARD, { type: 'TRIM_HORIZON' }, { signal: stop.signal }) as FanOutReader;
    const got = await readUntil(again, 10);
    stop.abort();
    expect(got.values).toEqual(range(0, 10));
  });

  it('cancels the subscription when the lease is lost', async () => {
    const stream = uniqueName('fo-lost');
    await createStream(kinesis, stream, 1);
    await put(stream, 0, 5);
    const ep = await endpoint();
    const { reader, stop } = open(ep, stream);
    await readUntil(reader, 5);
    expect(ep.openSubscriptions()).toHaveLength(1);
    stop.abort(new Error('lease lost'));
    await waitFor('the subscription to close', () => ep.openSubscriptions().length === 0, 5000);
    await expect(reader.next()).rejects.toThrow();
  });

  it('backpressure: while a batch is undelivered nothing more is pulled, and the endpoint stops sending', async () => {
    const stream = uniqueName('fo-backpressure');
    await createStream(kinesis, stream, 1);
    await put(stream, 0, 2000, 1000);
    const ep = await endpoint({ maxEventBytes: 1000, bytesPerSecond: 100 * 1024 * 1024 });
    // One event a batch, so the first batch leaves the rest in the subscription.
    const { reader, stop } = open(ep, stream, { maxBatchBytes: 1 });
    await readUntil(reader, 1);
    // The consumer is "delivering": it does not ask for more.
    await sleep(1500);
    const sentWhileBlocked = ep.openSubscriptions()[0]!.sent;
    await sleep(1000);
    expect(ep.openSubscriptions()[0]!.sent).toBe(sentWhileBlocked);
    expect(sentWhileBlocked).toBeLessThan(1000);
    expect(ep.counters.backpressureWaits).toBeGreaterThanOrEqual(1);
    const rest = await readUntil(reader, 1999);
    stop.abort();
    expect(rest.values).toEqual(range(1, 1999));
  });
});
