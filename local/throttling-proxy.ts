import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readAll } from './bulk-body.ts';

/**
 * Kinesis's read limits, which kinesalite does not enforce, in front of it: per shard,
 * 5 GetRecords calls in any second and 2 MB/s of returned data, shared by every client.
 * A call over either limit is answered as Kinesis answers it: 400 with a JSON `__type`
 * of ProvisionedThroughputExceededException.
 */
export interface ThrottlingProxyOptions {
  /** kinesalite's URL. */
  kinesisEndpoint: string;
  callsPerSecond?: number;
  bytesPerSecond?: number;
}

export interface ShardReadCounters {
  /** GetRecords calls answered with records (or none). */
  calls: number;
  /** Calls refused with ProvisionedThroughputExceededException. */
  throttled: number;
  bytes: number;
}

export interface ThrottlingProxy {
  /** `http://127.0.0.1:<port>`: every polling reader's Kinesis endpoint. */
  url: string;
  /** By shard id. */
  shards: Map<string, ShardReadCounters>;
  /** Most GetRecords calls any shard served in one sliding second (never above the limit). */
  peakCallsPerSecond: number;
  stop(): Promise<void>;
}

const TARGET_PREFIX = 'Kinesis_20131202.';

interface ShardState {
  /** When each accepted call of the last second was made. */
  calls: number[];
  /** Bytes that may still be read now: refills at the byte rate, up to one second's worth; a large response drives it negative. */
  allowance: number;
  refilledAt: number;
  counters: ShardReadCounters;
}

export async function startThrottlingProxy(options: ThrottlingProxyOptions): Promise<ThrottlingProxy> {
  const callsPerSecond = options.callsPerSecond ?? 5;
  const bytesPerSecond = options.bytesPerSecond ?? 2 * 1024 * 1024;
  const target = new URL(options.kinesisEndpoint);
  const agent = new Agent({ keepAlive: true });
  const shards = new Map<string, ShardReadCounters>();
  const states = new Map<string, ShardState>();
  /** Which shard an iterator reads: GetRecords names only the iterator. */
  const iteratorShard = new Map<string, string>();
  const sockets = new Set<Socket>();
  const proxy: ThrottlingProxy = { url: '', shards, peakCallsPerSecond: 0, stop: async () => undefined };

  const state = (key: string): ShardState => {
    let s = states.get(key);
    if (!s) {
      const counters = { calls: 0, throttled: 0, bytes: 0 };
      s = { calls: [], allowance: bytesPerSecond, refilledAt: Date.now(), counters };
      states.set(key, s);
      shards.set(key.slice(key.indexOf(' ') + 1), counters);
    }
    return s;
  };

  /** True when the call fits both limits (and is then counted against them). */
  const admit = (s: ShardState, now: number): boolean => {
    s.allowance = Math.min(bytesPerSecond, s.allowance + ((now - s.refilledAt) / 1000) * bytesPerSecond);
    s.refilledAt = now;
    while (s.calls.length > 0 && s.calls[0]! <= now - 1000) s.calls.shift();
    if (s.calls.length >= callsPerSecond || s.allowance <= 0) return false;
    s.calls.push(now);
    proxy.peakCallsPerSecond = Math.max(proxy.peakCallsPerSecond, s.calls.length);
    return true;
  };

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string>; body: Buffer }>((resolve, reject) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'content-length' && k !== 'connection') headers[k] = v;
      const up = httpRequest(
        { host: target.hostname, port: Number(target.port), method: req.method, path: req.url, headers: { ...headers, host: target.host, 'content-length': String(body.length) }, agent },
        (res) => {
          const out: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string' && k !== 'content-length' && k !== 'connection' && k !== 'transfer-encoding') out[k] = v;
          readAll(res).then((b) => resolve({ status: res.statusCode ?? 502, headers: out, body: b }), reject);
        },
      );
      up.on('error', reject);
      up.end(body);
    });

  const reply = (res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer) => {
    res.writeHead(status, { ...headers, 'content-length': String(body.length) });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readAll(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    let input: { StreamName?: string; ShardId?: string; ShardIterator?: string } = {};
    if (operation === 'GetShardIterator' || operation === 'GetRecords') {
      try {
        input = JSON.parse(body.toString('utf8')) as typeof input;
      } catch {
        input = {};
      }
    }
    let key: string | undefined;
    if (operation === 'GetRecords' && input.ShardIterator) {
      key = iteratorShard.get(input.ShardIterator);
      const s = key ? state(key) : undefined;
      if (s && !admit(s, Date.now())) {
        s.counters.throttled++;
        const shardId = key!.slice(key!.indexOf(' ') + 1);
        const streamName = key!.slice(0, key!.indexOf(' '));
        const payload = Buffer.from(
          JSON.stringify({ __type: 'ProvisionedThroughputExceededException', message: `Rate exceeded for shard ${shardId} in stream ${streamName} under account 000000000000.` }),
        );
        return reply(res, 400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': crypto.randomUUID() }, payload);
      }
    }
    const upstream = await forward(req, body);
    if (upstream.status === 200 && (operation === 'GetShardIterator' || operation === 'GetRecords')) {
      try {
        const out = JSON.parse(upstream.body.toString('utf8')) as { ShardIterator?: string; NextShardIterator?: string; Records?: Array<{ Data?: string }> };
        if (operation === 'GetShardIterator' && out.ShardIterator && input.ShardId) iteratorShard.set(out.ShardIterator, `${input.StreamName} ${input.ShardId}`);
        if (operation === 'GetRecords' && key) {
          iteratorShard.delete(input.ShardIterator!);
          if (out.NextShardIterator) iteratorShard.set(out.NextShardIterator, key);
          const s = state(key);
          // Base64 text: 3 bytes for every 4 characters.
          const bytes = (out.Records ?? []).reduce((n, r) => n + Math.floor(((r.Data?.length ?? 0) * 3) / 4), 0);
          s.allowance -= bytes;
          s.counters.calls++;
          s.counters.bytes += bytes;
        }
      } catch {
        // Not JSON: pass it on untouched.
      }
    }
    reply(res, upstream.status, upstream.headers, upstream.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) reply(res, 500, { 'content-type': 'application/x-amz-json-1.1' }, Buffer.from(JSON.stringify({ __type: 'InternalFailure', message: err.message })));
      else res.destroy(err);
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.stop = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
    agent.destroy();
  };
  return proxy;
}
