import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenSearchClient } from '../../consumers/opensearch-client.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let url: string;
const seen: Seen[] = [];

// Only static env credentials may resolve: no profile, no container endpoint, no instance metadata.
const credentialEnv: Record<string, string | undefined> = {
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
  AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
  AWS_EC2_METADATA_DISABLED: 'true',
};
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  for (const [key, value] of Object.entries(credentialEnv)) {
    saved[key] = process.env[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
});

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

describe('createOpenSearchClient SigV4 signing', () => {
  it('signs for Amazon OpenSearch Service (es) with credentials from the default chain', async () => {
    const client = createOpenSearchClient(url, { sigv4: { region: 'us-east-1' } });
    try {
      await client.bulk({ body: [{ index: { _index: 'logs' } }, { message: 'hello' }] });
    } finally {
      await client.close();
    }
    expect(seen).toHaveLength(1);
    const { headers, body, url: path } = seen[0]!;
    expect(path).toBe('/_bulk');
    const auth = String(headers.authorization);
    expect(auth.startsWith('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/')).toBe(true);
    expect(auth).toContain('/us-east-1/es/aws4_request');
    expect(auth).toMatch(/SignedHeaders=[^,]*\bhost\b/);
    expect(auth).toMatch(/SignedHeaders=[^,]*x-amz-content-sha256/);
    expect(auth).toMatch(/Signature=[0-9a-f]{64}$/);
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    // The payload hash covers exactly the bytes that arrived.
    expect(headers['x-amz-content-sha256']).toBe(sha256(body));
    expect(body).toContain('"message":"hello"');
  });

  it('signs for OpenSearch Serverless when service is aoss', async () => {
    const client = createOpenSearchClient(url, { sigv4: { region: 'eu-west-1', service: 'aoss' } });
    try {
      await client.cluster.health();
    } finally {
      await client.close();
    }
    expect(seen).toHaveLength(1);
    const { headers } = seen[0]!;
    expect(String(headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/aoss\/aws4_request, /);
    expect(headers['x-amz-date']).toBeDefined();
    expect(headers['x-amz-content-sha256']).toBe(sha256(''));
  });

  it('sends no Authorization header without sigv4', async () => {
    const client = createOpenSearchClient(url);
    try {
      await client.cluster.health();
    } finally {
      await client.close();
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.authorization).toBeUndefined();
    expect(seen[0]!.headers['x-amz-date']).toBeUndefined();
    expect(seen[0]!.headers['x-amz-content-sha256']).toBeUndefined();
  });
});
