import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthReport {
  healthy: boolean;
  [key: string]: unknown;
}

export interface StatusServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * Serves /metrics (Prometheus text) and /healthz (200 healthy, 503 not) for the
 * container's health check and the scraper. Loopback unless told otherwise.
 */
export async function startStatusServer(options: {
  registry: Registry;
  health: () => HealthReport;
  port?: number;
  host?: string;
}): Promise<StatusServer> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: `${req.method} not allowed; use GET` });
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': options.registry.contentType });
          res.end(text);
        },
        (err: unknown) => json(res, 500, { error: String(err) }),
      );
      return;
    }
    if (path === '/healthz') {
      const report = options.health();
      return json(res, report.healthy ? 200 : 503, report);
    }
    json(res, 404, { error: `no ${path}; try /metrics or /healthz` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
