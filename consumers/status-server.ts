import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What /healthz reports; `healthy` decides between 200 and 503, the rest is detail for whoever looks. */
export interface HealthReport {
  healthy: boolean;
  [key: string]: unknown;
}

export interface StatusServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface StatusServerOptions {
  registry: Registry;
  health: () => HealthReport;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Loopback by default: metrics and health are exposed beyond the host only when asked for. */
  host?: string;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

/** Serves Prometheus metrics at /metrics and a health check at /healthz. */
export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const { registry, health, port = 0, host = '127.0.0.1' } = options;

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://status').pathname;
    if (req.method !== 'GET') {
      sendJson(res, 405, { error: `method ${req.method} not allowed` }, { allow: 'GET' });
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
          res.end(text);
        },
        (err: unknown) => sendJson(res, 500, { error: `collecting metrics failed: ${String(err)}` }),
      );
      return;
    }
    if (path === '/healthz') {
      let report: HealthReport;
      try {
        report = health();
      } catch (err) {
        // A health function that cannot answer is itself a sign of ill health.
        report = { healthy: false, error: String(err) };
      }
      sendJson(res, report.healthy ? 200 : 503, report);
      return;
    }
    sendJson(res, 404, { error: `not found: ${path}` });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${bound}`,
    port: bound,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Scrapers keep connections alive; without this close() would wait for them to time out.
        server.closeAllConnections();
      }),
  };
}
