import { connect, createServer } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStatusServer, type HealthReport, type StatusServer } from '../../consumers/status-server.ts';

const registry = new Registry();
const records = new Counter({ name: 'centralog_test_records_total', help: 'Records read in the test.', registers: [registry] });
const latency = new Histogram({
  name: 'centralog_test_latency_seconds',
  help: 'Latency observed in the test.',
  buckets: [0.1, 1],
  registers: [registry],
});

/** True if a TCP connection to host:port is accepted, false if it is refused. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(2000);
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

let report: HealthReport = { healthy: true, shards: 2 };
let status: StatusServer;

beforeAll(async () => {
  status = await startStatusServer({ registry, health: () => report });
});
afterAll(async () => {
  await status.stop();
});

describe('status server', () => {
  it('binds to a free port on 127.0.0.1 only by default', async () => {
    expect(status.url).toBe(`http://127.0.0.1:${status.port}`);
    expect(await accepts('127.0.0.1', status.port)).toBe(true);
    // Not every interface: another loopback address is refused.
    expect(await accepts('127.0.0.2', status.port)).toBe(false);
  });

  it('serves Prometheus text at /metrics', async () => {
    records.inc(3);
    latency.observe(0.5);
    const res = await fetch(`${status.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(registry.contentType);
    const text = await res.text();
    expect(text).toContain('# HELP centralog_test_records_total Records read in the test.');
    expect(text).toContain('# TYPE centralog_test_records_total counter');
    expect(text).toMatch(/^centralog_test_records_total 3$/m);
    expect(text).toContain('# TYPE centralog_test_latency_seconds histogram');
    expect(text).toMatch(/^centralog_test_latency_seconds_bucket\{le="0.1"\} 0$/m);
    expect(text).toMatch(/^centralog_test_latency_seconds_bucket\{le="1"\} 1$/m);
    expect(text).toMatch(/^centralog_test_latency_seconds_count 1$/m);
  });

  it('answers /healthz with 200 while healthy and 503 once not', async () => {
    report = { healthy: true, shards: 2 };
    let res = await fetch(`${status.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ healthy: true, shards: 2 });

    report = { healthy: false, reason: 'lease table unreachable' };
    res = await fetch(`${status.url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ healthy: false, reason: 'lease table unreachable' });
  });

  it('reports 503 when the health function throws', async () => {
    const throwing = await startStatusServer({
      registry,
      health: () => {
        throw new Error('boom');
      },
    });
    try {
      const res = await fetch(`${throwing.url}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ healthy: false, error: expect.stringContaining('boom') });
    } finally {
      await throwing.stop();
    }
  });

  it('answers 404 for unknown paths and 405 for other methods', async () => {
    const missing = await fetch(`${status.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: expect.any(String) });

    const post = await fetch(`${status.url}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect(await post.json()).toEqual({ error: expect.any(String) });
  });

  it('listens on a given port and frees it on stop, even with a connection mid-request', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const s = await startStatusServer({ registry, health: () => ({ healthy: true }), port, host: '127.0.0.1' });
    expect(s.port).toBe(port);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    // A scraper stuck half-way through its request: close() alone would wait for it to time out.
    const stuck = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => stuck.once('connect', () => resolve()));
    stuck.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const closed = new Promise<void>((resolve) => stuck.once('close', () => resolve()));
    stuck.on('error', () => {});
    const started = Date.now();
    await s.stop();
    await closed;
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });

  it('rejects when the port is taken', async () => {
    await expect(startStatusServer({ registry, health: () => report, port: status.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
