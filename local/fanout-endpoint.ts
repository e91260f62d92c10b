import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type ShardIteratorType,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { constants, createServer, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKinesisClient } from '../consumers/index.ts';
import { StreamConsumerRegistry, type RegistryAnswer } from './stream-consumers.ts';

/**
 * A local stand-in for Kinesis enhanced fan-out, which no emulator implements: an HTTP/2
 * (cleartext) server on 127.0.0.1 that answers SubscribeToShard with the service's
 * event stream, read from kinesalite with GetRecords, and the stream consumer calls;
 * every other call is passed to kinesalite unchanged.
 */
export interface FanOutEndpointOptions {
  /** kinesalite's URL (HTTP/1). */
  kinesisEndpoint: string;
  region?: string;
  /** How long a subscription lasts (Kinesis: 5 minutes). */
  subscriptionMs?: number;
  /** A second SubscribeToShard for the same consumer and shard sooner than this after the last is refused (Kinesis: 5 s). */
  minResubscribeMs?: number;
  /** How often an idle subscription looks for new records in kinesalite. */
  pollMs?: number;
  /** An event with no records is sent at least this often on an idle shard. */
  heartbeatMs?: number;
  /** Each subscription gets this much record data per second (Kinesis: 2 MB/s per shard per consumer). */
  bytesPerSecond?: number;
  /** Record data per event at most. */
  maxEventBytes?: number;
  /** How long a registered consumer stays CREATING. */
  activationMs?: number;
}

export interface FanOutEndpointCounters {
  subscriptions: number;
  /** SubscribeToShard calls refused with ResourceInUseException. */
  refusedInUse: number;
  /** SubscribeToShardEvent messages written, and the records in them. */
  events: number;
  records: number;
  /** Subscriptions that ended after their full duration. */
  expired: number;
  /** Waits because the client had not read what was sent (HTTP/2 flow control). */
  backpressureWaits: number;
}

export interface FanOutEndpoint {
  /** `http://127.0.0.1:<port>`: the fan-out client's endpoint. */
  url: string;
  counters: FanOutEndpointCounters;
  /** Subscriptions open now, by shard. */
  openSubscriptions(): Array<{ shardId: string; consumerArn: string; sent: number }>;
  /** Resets every HTTP/2 connection, as a network failure would. */
  dropConnections(): void;
  /** The next event on this shard's subscriptions is this exception instead. */
  injectException(shardId: string, type: string, message: string): void;
  stop(): Promise<void>;
}

const utf8 = new EventStreamCodec(
  (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

/** One event-stream message: `:message-type` event with `:event-type`, or exception with `:exception-type`. */
export function eventMessage(kind: 'event' | 'exception', type: string, payload: unknown): Buffer {
  const typeHeader = kind === 'event' ? ':event-type' : ':exception-type';
  return Buffer.from(
    utf8.encode({
      headers: {
        [typeHeader]: { type: 'string', value: type },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: kind },
      },
      body: new Uint8Array(Buffer.from(JSON.stringify(payload), 'utf8')),
    }),
  );
}

/** A record as Kinesis's JSON protocol writes it (Data in base64, timestamps in epoch seconds). */
function wireRecord(r: _Record): Record<string, unknown> {
  return {
    SequenceNumber: r.SequenceNumber,
    ApproximateArrivalTimestamp: (r.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) / 1000,
    Data: Buffer.from(r.Data ?? new Uint8Array()).toString('base64'),
    PartitionKey: r.PartitionKey,
    ...(r.EncryptionType ? { EncryptionType: r.EncryptionType } : {}),
  };
}

function jsonError(stream: ServerHttp2Stream, status: number, type: string, message: string): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': status, 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID(), 'x-amzn-errortype': type });
  stream.end(JSON.stringify({ __type: type, message }));
}

function answer(stream: ServerHttp2Stream, a: RegistryAnswer): void {
  if ('error' in a) return jsonError(stream, 400, a.error, a.message);
  stream.respond({ ':status': 200, 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
  stream.end(JSON.stringify(a.body));
}

interface Subscription {
  consumerArn: string;
  shardId: string;
  stream: ServerHttp2Stream;
  startedAt: number;
  /** SubscribeToShardEvent messages written to it. */
  sent: number;
  close(): void;
}

export async function startFanOutEndpoint(options: FanOutEndpointOptions): Promise<FanOutEndpoint> {
  const subscriptionMs = options.subscriptionMs ?? 5 * 60_000;
  const minResubscribeMs = options.minResubscribeMs ?? 5000;
  const pollMs = options.pollMs ?? 200;
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const bytesPerSecond = options.bytesPerSecond ?? 2 * 1024 * 1024;
  const maxEventBytes = options.maxEventBytes ?? 1024 * 1024;
  const kinesis: KinesisClient = createKinesisClient({ region: options.region ?? 'us-east-1', kinesis: options.kinesisEndpoint });
  const target = new URL(options.kinesisEndpoint);
  const registry = new StreamConsumerRegistry(options.region ?? 'us-east-1', options.activationMs ?? 300);
  const counters: FanOutEndpointCounters = { subscriptions: 0, refusedInUse: 0, events: 0, records: 0, expired: 0, backpressureWaits: 0 };
  const subscriptions = new Set<Subscription>();
  /** When the last successful SubscribeToShard of a consumer and shard was made. */
  const lastSubscribed = new Map<string, number>();
  const injected = new Map<string, { type: string; message: string }>();
  const sessions = new Set<Http2Session>();

  /** Passes a call to kinesalite over HTTP/1 and relays its answer. */
  const proxy = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer) => {
    const forwarded: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (!k.startsWith(':') && typeof v === 'string') forwarded[k] = v;
    const req = httpRequest(
      { host: target.hostname, port: Number(target.port), method: 'POST', path: headers[':path'] ?? '/', headers: { ...forwarded, host: target.host, 'content-length': String(body.length) } },
      (res) => {
        const out: Record<string, string | number> = { ':status': res.statusCode ?? 502 };
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string' && !['connection', 'keep-alive', 'transfer-encoding'].includes(k)) out[k] = v;
        if (stream.destroyed) return res.resume();
        stream.respond(out);
        res.pipe(stream);
      },
    );
    req.on('error', (err) => jsonError(stream, 500, 'InternalFailureException', `kinesis unreachable: ${err.message}`));
    req.end(body);
  };

  const iteratorFor = async (streamName: string, shardId: string, position: { Type?: string; SequenceNumber?: string; Timestamp?: number }) => {
    const out = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shardId,
        ShardIteratorType: position.Type as ShardIteratorType,
        StartingSequenceNumber: position.SequenceNumber,
        Timestamp: position.Timestamp !== undefined ? new Date(position.Timestamp * 1000) : undefined,
      }),
    );
    return out.ShardIterator;
  };

  const childShards = async (streamName: string, shardId: string) => {
    const shards = [];
    let token: string | undefined;
    do {
      const out = await kinesis.send(token ? new ListShardsCommand({ NextToken: token }) : new ListShardsCommand({ StreamName: streamName }));
      shards.push(...(out.Shards ?? []));
      token = out.NextToken;
    } while (token);
    return shards
      .filter((s) => s.ParentShardId === shardId || s.AdjacentParentShardId === shardId)
      .map((s) => ({ ShardId: s.ShardId, ParentShards: [s.ParentShardId, s.AdjacentParentShardId].filter(Boolean), HashKeyRange: s.HashKeyRange }));
  };

  /** Writes one message, then waits while the client has not read what it was sent (its flow-control window is full). */
  const send = async (sub: Subscription, message: Buffer): Promise<boolean> => {
    if (sub.stream.destroyed || sub.stream.closed) return false;
    if (!sub.stream.write(message)) {
      counters.backpressureWaits++;
      await new Promise<void>((resolve) => {
        const done = () => {
          sub.stream.off('drain', done);
          sub.stream.off('close', done);
          resolve();
        };
        sub.stream.on('drain', done);
        sub.stream.on('close', done);
      });
    }
    return !sub.stream.destroyed;
  };

  /** Feeds one subscription from kinesalite until it expires, the shard ends or the client goes. */
  const pump = async (sub: Subscription, streamName: string, position: { Type?: string; SequenceNumber?: string; Timestamp?: number }) => {
    const exception = async (type: string, message: string) => {
      await send(sub, eventMessage('exception', type, { message }));
      sub.stream.end();
    };
    let iterator = await iteratorFor(streamName, sub.shardId, position).catch((err: Error) => {
      void exception(err.name === 'ResourceNotFoundException' ? 'ResourceNotFoundException' : 'InternalFailureException', err.message);
      return undefined;
    });
    let continuation = position.Type === 'AFTER_SEQUENCE_NUMBER' || position.Type === 'AT_SEQUENCE_NUMBER' ? position.SequenceNumber : undefined;
    let lastEventAt = Date.now();
    while (iterator && !sub.stream.destroyed && !sub.stream.closed) {
      const fault = injected.get(sub.shardId);
      if (fault) {
        injected.delete(sub.shardId);
        return exception(fault.type, fault.message);
      }
      if (Date.now() - sub.startedAt >= subscriptionMs) {
        counters.expired++;
        sub.stream.end();
        return;
      }
      let out;
      try {
        out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      } catch (err) {
        return exception('InternalFailureException', (err as Error).message);
      }
      const records = out.Records ?? [];
      iterator = out.NextShardIterator ?? undefined;
      for (let from = 0; from < records.length; ) {
        let bytes = 0;
        let to = from;
        while (to < records.length && (to === from || bytes + (records[to]!.Data?.byteLength ?? 0) <= maxEventBytes)) bytes += records[to++]!.Data?.byteLength ?? 0;
        const slice = records.slice(from, to);
        from = to;
        continuation = slice.at(-1)!.SequenceNumber;
        const newest = slice.at(-1)!.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
        const ended = iterator === undefined && from === records.length;
        const event = {
          Records: slice.map(wireRecord),
          // kinesalite reports 0 on open shards: the age of the newest record sent is the lag when more
          // records follow it or it is older than a poll or two (a reader at the tip is 0 behind).
          MillisBehindLatest: Math.max(out.MillisBehindLatest ?? 0, from < records.length || Date.now() - newest >= 1000 ? Date.now() - newest : 0),
          ...(ended ? { ChildShards: await childShards(streamName, sub.shardId) } : { ContinuationSequenceNumber: continuation }),
        };
        if (!(await send(sub, eventMessage('event', 'SubscribeToShardEvent', event)))) return;
        counters.events++;
        counters.records += slice.length;
        sub.sent++;
        lastEventAt = Date.now();
        if (ended) return void sub.stream.end();
        // A subscription gets its shard's bytes at the fan-out rate, no faster.
        if (bytes > 0) await sleep((bytes / bytesPerSecond) * 1000);
      }
      if (iterator === undefined && records.length === 0) {
        // The shard is closed and everything in it was sent: the last event names the children.
        const event = { Records: [], MillisBehindLatest: 0, ChildShards: await childShards(streamName, sub.shardId) };
        if (await send(sub, eventMessage('event', 'SubscribeToShardEvent', event))) counters.events++;
        return void sub.stream.end();
      }
      if (records.length === 0) {
        if (continuation !== undefined && Date.now() - lastEventAt >= heartbeatMs) {
          if (!(await send(sub, eventMessage('event', 'SubscribeToShardEvent', { Records: [], ContinuationSequenceNumber: continuation, MillisBehindLatest: 0 })))) return;
          counters.events++;
          sub.sent++;
          lastEventAt = Date.now();
        }
        await sleep(pollMs);
      }
    }
  };

  const subscribe = (stream: ServerHttp2Stream, input: { ConsumerARN?: string; ShardId?: string; StartingPosition?: { Type?: string; SequenceNumber?: string; Timestamp?: number } }) => {
    const consumer = input.ConsumerARN ? registry.byArn(input.ConsumerARN) : undefined;
    if (!consumer) return jsonError(stream, 400, 'ResourceNotFoundException', `Consumer ${input.ConsumerARN} not found.`);
    if (consumer.status !== 'ACTIVE') return jsonError(stream, 400, 'ResourceInUseException', `Consumer ${consumer.arn} is not ACTIVE (${consumer.status}).`);
    if (!input.ShardId || !input.StartingPosition?.Type) return jsonError(stream, 400, 'InvalidArgumentException', 'ShardId and StartingPosition.Type are required.');
    const key = `${consumer.arn} ${input.ShardId}`;
    const last = lastSubscribed.get(key);
    if (last !== undefined && Date.now() - last < minResubscribeMs) {
      counters.refusedInUse++;
      return jsonError(stream, 400, 'ResourceInUseException', `Another active subscription exists for consumer ${consumer.arn} on shard ${input.ShardId}.`);
    }
    // A later call takes the subscription over: the earlier connection's stream ends.
    for (const s of subscriptions) if (s.consumerArn === consumer.arn && s.shardId === input.ShardId) s.close();
    lastSubscribed.set(key, Date.now());
    counters.subscriptions++;
    stream.respond({ ':status': 200, 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': randomUUID() });
    const sub: Subscription = {
      consumerArn: consumer.arn,
      shardId: input.ShardId,
      stream,
      startedAt: Date.now(),
      sent: 0,
      close: () => {
        if (!stream.destroyed) stream.end();
      },
    };
    subscriptions.add(sub);
    stream.on('close', () => subscriptions.delete(sub));
    stream.on('error', () => undefined);
    stream.write(eventMessage('event', 'initial-response', {}));
    pump(sub, consumer.streamName, input.StartingPosition).catch(() => {
      if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    });
  };

  const server = createServer();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      if (!['SubscribeToShard', 'RegisterStreamConsumer', 'DescribeStreamConsumer', 'ListStreamConsumers', 'DeregisterStreamConsumer'].includes(operation)) {
        return proxy(stream, headers, body);
      }
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        return jsonError(stream, 400, 'SerializationException', 'request body is not JSON');
      }
      if (operation === 'SubscribeToShard') return subscribe(stream, input);
      answer(stream, registry.handle(operation, input));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    counters,
    openSubscriptions: () => [...subscriptions].map((s) => ({ shardId: s.shardId, consumerArn: s.consumerArn, sent: s.sent })),
    dropConnections: () => {
      for (const s of sessions) s.destroy();
    },
    injectException: (shardId, type, message) => {
      injected.set(shardId, { type, message });
    },
    stop: async () => {
      for (const s of subscriptions) s.stream.close(constants.NGHTTP2_CANCEL);
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      kinesis.destroy();
    },
  };
}
