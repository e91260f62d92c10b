import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { decodeBody, parseBulk, readAll, type BulkItem } from './bulk-body.ts';

/**
 * What the proxy does to traffic bound for OpenSearch.
 * - `pass`: forward everything unchanged.
 * - `down`: OpenSearch unreachable: every incoming connection is reset at once (no HTTP
 *   response), like a dead node.
 * - `reject-bulk-items`: for `_bulk` requests, reject a deterministic share of the items
 *   with a fabricated 429 (as an overloaded node does) and forward only the rest; item `i`
 *   of a request is rejected when `floor((i+1)*fraction) > floor(i*fraction)`, so 0.5
 *   rejects items 1, 3, 5, ... Other requests pass through.
 * - `refuse-bulk`: refuse every `_bulk` request without forwarding it, as OpenSearch does
 *   for a reason outside the documents (e.g. an unmapped role: 403 security_exception):
 *   `scope: 'items'` answers 200 with every item refused, `'request'` refuses the whole
 *   request with `status`. Other requests pass through.
 */
export type FaultMode =
  | { kind: 'pass' }
  | { kind: 'down' }
  | { kind: 'reject-bulk-items'; status: 429; fraction: number }
  | { kind: 'refuse-bulk'; scope: 'items' | 'request'; status: number; type: string; reason: string };

/** What fine-grained access control answers a role that is not mapped to any OpenSearch role. */
export function unmappedRole(scope: 'items' | 'request', role = 'arn:aws:iam::123456789012:role/centralog-consumer'): FaultMode {
  const action = scope === 'items' ? 'indices:data/write/bulk[s]' : 'indices:data/write/bulk';
  return { kind: 'refuse-bulk', scope, status: 403, type: 'security_exception', reason: `no permissions for [${action}] and User [name=${role}, backend_roles=[${role}], requestedTenant=null]` };
}

export interface FaultProxyCounters {
  /** Every HTTP request received (not counting refused connections). */
  requests: number;
  /** `_bulk` requests received, in any mode but `down`. */
  bulkRequests: number;
  /** Items seen in those `_bulk` requests. */
  bulkItems: number;
  /** Items answered with a fabricated rejection instead of being forwarded. */
  rejectedItems: number;
  /** Connections attempted (and reset) while the mode was `down`. */
  refusedConnections: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: point the OpenSearch client here. */
  url: string;
  /** The current mode; assigning it is the same as `setMode`. */
  mode: FaultMode;
  setMode(mode: FaultMode): void;
  counters: FaultProxyCounters;
  stop(): Promise<void>;
}

/** Item `i` of a bulk request is rejected under `fraction` (clamped to 0..1). */
export function isRejectedItem(i: number, fraction: number): boolean {
  const f = Math.min(1, Math.max(0, fraction));
  return Math.floor((i + 1) * f) > Math.floor(i * f);
}

// Connection-scoped headers must not be copied across a proxy: each hop negotiates its own.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const BULK_PATH = /^\/(?:[^/]+\/)?_bulk\/?$/;

function copyHeaders(headers: IncomingHttpHeaders, drop: string[] = []): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || drop.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

const OVERLOADED = { type: 'es_rejected_execution_exception', reason: 'injected by fault proxy' };

/** The item result OpenSearch returns for a refused write (by default, an overloaded node's). */
function rejectedItemResult(item: BulkItem, pathIndex: string | undefined, status: number, error: { type: string; reason: string } = OVERLOADED): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const index = item.index ?? pathIndex;
  if (index !== undefined) result._index = index;
  if (item.id !== undefined) result._id = item.id;
  result.status = status;
  result.error = error;
  return { [item.action]: result };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=UTF-8', 'content-length': String(payload.length) });
  res.end(payload);
}

/** Relays a buffered upstream response unchanged. */
function sendAsIs(res: ServerResponse, upstream: { status: number; headers: IncomingHttpHeaders; body: Buffer }): void {
  res.writeHead(upstream.status, { ...copyHeaders(upstream.headers, ['content-length']), 'content-length': String(upstream.body.length) });
  res.end(upstream.body);
}

/**
 * A loopback HTTP proxy in front of OpenSearch that injects faults on demand, so tests can
 * exercise the consumer's handling of a dead node and of partial bulk rejections against a
 * real node.
 */
export async function startFaultProxy(targetUrl: string, options: { port?: number } = {}): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  if (target.protocol !== 'http:') throw new Error(`fault proxy supports http targets only, got ${targetUrl}`);
  const targetPort = Number(target.port || 80);
  // A path prefix on the target URL (OpenSearch behind a sub-path) is kept in front of every request.
  const targetBase = target.pathname.replace(/\/$/, '');
  // Keep-alive toward the target so the proxy adds no connection churn of its own.
  const agent = new Agent({ keepAlive: true });

  let mode: FaultMode = { kind: 'pass' };
  const counters: FaultProxyCounters = { requests: 0, bulkRequests: 0, bulkItems: 0, rejectedItems: 0, refusedConnections: 0 };
  const sockets = new Set<Socket>();

  // An RST rather than a FIN: the client sees ECONNRESET, as with a node that vanished.
  const reset = (socket: Socket) => {
    if (typeof socket.resetAndDestroy === 'function' && !socket.destroyed) socket.resetAndDestroy();
    else socket.destroy();
  };

  /** Sends one request to OpenSearch; the caller decides whether to stream or buffer the response. */
  const forward = (req: IncomingMessage, headers: Record<string, string | string[]>, onResponse: (upstream: IncomingMessage) => void, onError: (err: Error) => void) => {
    const upstreamReq = httpRequest(
      {
        host: target.hostname,
        port: targetPort,
        method: req.method,
        path: targetBase + (req.url ?? '/'),
        headers: { ...headers, host: target.host },
        agent,
      },
      onResponse,
    );
    upstreamReq.on('error', onError);
    return upstreamReq;
  };

  const badGateway = (res: ServerResponse) => (err: Error) => {
    if (!res.headersSent) sendJson(res, 502, { error: { type: 'fault_proxy_upstream_error', reason: err.message } });
    else res.destroy(err);
  };

  /** Plain pass-through: request and response are streamed without being buffered. */
  const passThrough = (req: IncomingMessage, res: ServerResponse) => {
    const upstreamReq = forward(
      req,
      copyHeaders(req.headers),
      (upstream) => {
        res.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, copyHeaders(upstream.headers));
        upstream.pipe(res);
      },
      badGateway(res),
    );
    // If the client goes away (or the mode turns to down), stop talking to OpenSearch too.
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    req.pipe(upstreamReq);
  };

  /** Forwards a buffered bulk body and hands back OpenSearch's status, headers and body. */
  const forwardBuffered = (req: IncomingMessage, res: ServerResponse, body: Buffer, headers: Record<string, string | string[]>) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const upstreamReq = forward(
        req,
        { ...headers, 'content-length': String(body.length) },
        (upstream) => {
          readAll(upstream).then((b) => resolve({ status: upstream.statusCode ?? 502, headers: upstream.headers, body: b }), reject);
        },
        reject,
      );
      res.on('close', () => {
        if (!res.writableFinished) upstreamReq.destroy();
      });
      upstreamReq.end(body);
    });

  const handleBulk = async (req: IncomingMessage, res: ServerResponse, pathIndex: string | undefined) => {
    counters.bulkRequests++;
    const raw = await readAll(req);
    const decoded = decodeBody(raw, req.headers['content-encoding']);
    const items = decoded ? parseBulk(decoded.toString('utf8')) : undefined;
    if (items) counters.bulkItems += items.length;

    const current = mode;
    if (current.kind === 'refuse-bulk') {
      const error = { type: current.type, reason: current.reason };
      counters.rejectedItems += items?.length ?? 0;
      if (current.scope === 'request' || !items) sendJson(res, current.status, { error: { root_cause: [error], ...error }, status: current.status });
      else sendJson(res, 200, { took: 0, errors: true, items: items.map((item) => rejectedItemResult(item, pathIndex, current.status, error)) });
      return;
    }
    const rejected = current.kind === 'reject-bulk-items' && items ? items.map((_, i) => isRejectedItem(i, current.fraction)) : [];
    const rejectCount = rejected.filter(Boolean).length;
    if (current.kind !== 'reject-bulk-items' || !items || rejectCount === 0) {
      // Nothing to inject: forward the body as received (content-length of the buffer).
      const upstream = await forwardBuffered(req, res, raw, copyHeaders(req.headers, ['content-length']));
      sendAsIs(res, upstream);
      return;
    }
    const status = current.status;
    counters.rejectedItems += rejectCount;

    if (rejectCount === items.length) {
      // Every item rejected: OpenSearch never sees the request.
      sendJson(res, 200, { took: 0, errors: true, items: items.map((item) => rejectedItemResult(item, pathIndex, status)) });
      return;
    }

    const kept = items.filter((_, i) => !rejected[i]);
    const body = Buffer.from(kept.flatMap((item) => item.lines).join('\n') + '\n');
    // The rewritten body is plain text, and asking for a plain response lets the proxy merge into it.
    const headers = copyHeaders(req.headers, ['content-length', 'content-encoding', 'accept-encoding']);
    const upstream = await forwardBuffered(req, res, body, headers);
    const responseHeaders = copyHeaders(upstream.headers, ['content-length', 'content-encoding', 'content-type']);
    if (upstream.status !== 200) {
      // A request-level failure (400, 413, 503, ...) applies to the whole request: pass it on as is.
      sendAsIs(res, upstream);
      return;
    }
    let parsed: { took?: number; errors?: boolean; items?: unknown[] } | undefined;
    try {
      parsed = JSON.parse(upstream.body.toString('utf8')) as typeof parsed;
    } catch {
      parsed = undefined;
    }
    if (!parsed || !Array.isArray(parsed.items) || parsed.items.length !== kept.length) {
      // e.g. filter_path trimmed the items: merging would misplace results, so say so loudly.
      sendJson(res, 502, { error: { type: 'fault_proxy_merge_error', reason: 'bulk response items do not match the forwarded items' } });
      return;
    }
    // Put OpenSearch's results back in the original positions, fabricated rejections in between.
    const forwardedResults = parsed.items[Symbol.iterator]();
    const merged = items.map((item, i) => (rejected[i] ? rejectedItemResult(item, pathIndex, status) : forwardedResults.next().value));
    sendJson(res, 200, { ...parsed, errors: true, items: merged }, responseHeaders);
  };

  const server = createServer((req, res) => {
    if (mode.kind === 'down') {
      // A request that raced the switch to down gets the same treatment as a new connection.
      reset(req.socket);
      return;
    }
    counters.requests++;
    const url = new URL(req.url ?? '/', 'http://proxy');
    const bulk = (req.method === 'POST' || req.method === 'PUT') && BULK_PATH.exec(url.pathname);
    if (!bulk) {
      passThrough(req, res);
      return;
    }
    const segments = url.pathname.split('/').filter(Boolean);
    const pathIndex = segments.length === 2 ? decodeURIComponent(segments[0]!) : undefined;
    handleBulk(req, res, pathIndex).catch(badGateway(res));
  });
  // Server-side keep-alive is left at its defaults; in `down` those open sockets are reset explicitly.
  server.on('connection', (socket: Socket) => {
    if (mode.kind === 'down') {
      counters.refusedConnections++;
      reset(socket);
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('fault proxy has no address');

  const setMode = (next: FaultMode) => {
    mode = next;
    if (next.kind === 'down') {
      // Clients reuse keep-alive sockets: reset them too, or a client would keep reaching OpenSearch.
      // Not counted as refused: only connection attempts made while down are.
      for (const socket of sockets) reset(socket);
      sockets.clear();
    }
  };

  return {
    url: `http://127.0.0.1:${address.port}`,
    get mode() {
      return mode;
    },
    set mode(next: FaultMode) {
      setMode(next);
    },
    setMode,
    counters,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await closed;
      agent.destroy();
    },
  };
}
