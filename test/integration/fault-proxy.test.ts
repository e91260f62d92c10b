import { errors, type Client } from '@opensearch-project/opensearch';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createOpenSearchClient } from '../../consumers/index.ts';
import { isRejectedItem, startFaultProxy, type FaultProxy } from '../../local/index.ts';

type BulkItemResult = { status: number; _id?: string; _index?: string; error?: { type: string; reason: string } };
type BulkResponse = { errors: boolean; items: Array<Record<string, BulkItemResult>> };

describe('fault proxy in front of the real OpenSearch node', () => {
  const opensearchUrl = inject('opensearchUrl');
  const direct = createOpenSearchClient(opensearchUrl);
  const index = `faultproxy-test-${randomUUID().slice(0, 8)}`;
  let proxy: FaultProxy;
  let viaProxy: Client;

  beforeAll(async () => {
    proxy = await startFaultProxy(opensearchUrl);
    viaProxy = createOpenSearchClient(proxy.url);
  });
  beforeEach(() => {
    proxy.setMode({ kind: 'pass' });
    Object.assign(proxy.counters, { requests: 0, bulkRequests: 0, bulkItems: 0, rejectedItems: 0, refusedConnections: 0 });
  });
  afterAll(async () => {
    await viaProxy?.close();
    await proxy?.stop();
    await direct.indices.delete({ index: `${index}*`, ignore_unavailable: true, allow_no_indices: true });
    await direct.close();
  });

  async function idsIn(name: string): Promise<string[]> {
    await direct.indices.refresh({ index: name });
    const res = await direct.search({ index: name, body: { size: 100, query: { match_all: {} } } });
    return (res.body.hits.hits as Array<{ _id: string }>).map((h) => h._id).sort();
  }

  it('binds to loopback and proxies index and search requests unchanged in pass mode', async () => {
    expect(proxy.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const name = `${index}-pass`;
    const put = await viaProxy.index({ index: name, id: 'doc-1', body: { message: 'through the proxy' }, refresh: true });
    expect(put.statusCode).toBe(201);
    const found = await viaProxy.search({ index: name, q: 'message:proxy' });
    expect(found.statusCode).toBe(200);
    expect(found.body.hits.hits.map((h) => h._id)).toEqual(['doc-1']);
    expect(await idsIn(name)).toEqual(['doc-1']);
    expect(proxy.counters).toMatchObject({ requests: 2, bulkRequests: 0, rejectedItems: 0, refusedConnections: 0 });
  });

  it('resets connections in down mode, including the client’s open keep-alive socket, and recovers in pass mode', async () => {
    // Open a keep-alive connection first: switching to down must cut it, not only new ones.
    await viaProxy.cluster.health();
    proxy.setMode({ kind: 'down' });
    expect(proxy.mode).toEqual({ kind: 'down' });
    const requestsBefore = proxy.counters.requests;

    const attempt = () =>
      viaProxy.cluster.health().then(
        () => undefined,
        (err: unknown) => err,
      );
    // The first attempt may reuse the pooled socket the proxy just reset (ECONNRESET on write,
    // no new connection); the second one has to open a fresh connection, which is refused.
    for (const failure of [await attempt(), await attempt()]) {
      expect(failure).toBeInstanceOf(errors.ConnectionError);
      expect(String((failure as Error).message)).toMatch(/ECONNRESET|socket hang up/);
    }
    expect(proxy.counters.refusedConnections).toBeGreaterThanOrEqual(1);
    // No HTTP request ever got through while down.
    expect(proxy.counters.requests).toBe(requestsBefore);

    proxy.setMode({ kind: 'pass' });
    const health = await viaProxy.cluster.health();
    expect(health.statusCode).toBe(200);
    expect(proxy.counters.requests).toBe(requestsBefore + 1);
  });

  it('rejects every other bulk item with a 429 at fraction 0.5 and forwards only the rest', async () => {
    const name = `${index}-bulk`;
    const ids = Array.from({ length: 10 }, (_, i) => `id-${i}`);
    const body = ids.flatMap((id, i) => [JSON.stringify({ create: { _index: name, _id: id } }), JSON.stringify({ n: i })]).join('\n') + '\n';
    proxy.setMode({ kind: 'reject-bulk-items', status: 429, fraction: 0.5 });

    const res = await viaProxy.bulk({ body: body as never });
    expect(res.statusCode).toBe(200);
    const out = res.body as unknown as BulkResponse;
    expect(out.errors).toBe(true);
    expect(out.items).toHaveLength(10);

    // The rule: item i is rejected when floor((i+1)*f) > floor(i*f); for 0.5 that is every odd position.
    const expectRejected = ids.map((_, i) => isRejectedItem(i, 0.5));
    expect(expectRejected).toEqual(ids.map((_, i) => i % 2 === 1));
    out.items.forEach((item, i) => {
      const result = item.create!;
      // Results keep the request's order: each item answers for its own id.
      expect(result._id).toBe(ids[i]);
      if (expectRejected[i]) {
        expect(result.status).toBe(429);
        expect(result.error).toEqual({ type: 'es_rejected_execution_exception', reason: 'injected by fault proxy' });
      } else {
        expect(result.status).toBe(201);
        expect(result.error).toBeUndefined();
      }
    });

    expect(await idsIn(name)).toEqual(ids.filter((_, i) => !expectRejected[i]).sort());
    expect(proxy.counters).toEqual({ requests: 1, bulkRequests: 1, bulkItems: 10, rejectedItems: 5, refusedConnections: 0 });

    // Retrying only the rejected items in pass mode completes the set: the 429s were never written.
    proxy.setMode({ kind: 'pass' });
    const retryBody =
      ids
        .filter((_, i) => expectRejected[i])
        .flatMap((id) => [JSON.stringify({ create: { _id: id } }), JSON.stringify({ retried: true })])
        .join('\n') + '\n';
    const retry = await viaProxy.bulk({ index: name, body: retryBody as never });
    const retryOut = retry.body as unknown as BulkResponse;
    expect(retryOut.errors).toBe(false);
    expect(retryOut.items.map((item) => item.create!.status)).toEqual([201, 201, 201, 201, 201]);
    expect(await idsIn(name)).toEqual([...ids].sort());
    expect(proxy.counters).toMatchObject({ bulkRequests: 2, bulkItems: 15, rejectedItems: 5 });
  });

  it('answers a fully rejected bulk itself without forwarding it, keeping each item’s action and the path index', async () => {
    const name = `${index}-all`;
    proxy.setMode({ kind: 'reject-bulk-items', status: 429, fraction: 1 });
    const body = [JSON.stringify({ index: { _id: 'a' } }), JSON.stringify({ n: 1 }), JSON.stringify({ delete: { _id: 'b' } }), JSON.stringify({ create: { _id: 'c' } }), '{"n":3}'].join('\n') + '\n';
    const res = await viaProxy.bulk({ index: name, body: body as never });
    const out = res.body as unknown as BulkResponse;
    expect(out.errors).toBe(true);
    expect(out.items.map((item) => Object.keys(item)[0])).toEqual(['index', 'delete', 'create']);
    expect(out.items.map((item) => Object.values(item)[0])).toEqual(
      ['a', 'b', 'c'].map((id) => ({
        _index: name,
        _id: id,
        status: 429,
        error: { type: 'es_rejected_execution_exception', reason: 'injected by fault proxy' },
      })),
    );
    expect(proxy.counters).toMatchObject({ requests: 1, bulkRequests: 1, bulkItems: 3, rejectedItems: 3 });
    // Nothing reached OpenSearch, so the index was never created.
    const exists = await direct.indices.exists({ index: name });
    expect(exists.body).toBe(false);
  });
});
