import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenSearchClient } from '../../consumers/opensearch-client.ts';
import { BulkSink, bulkLines, type BulkDocument, type BulkOutcome } from '../../consumers/sinks/opensearch-bulk.ts';
import { startOpenSearch, type RunningOpenSearch } from '../../local/opensearch.ts';
import { uniqueName } from '../helpers.ts';

// A node of its own whose request limit is small enough to hit with a few hundred KiB.
const LIMIT = 64 * 1024;
// Generous for 2 busy cores: the request counts are the strict bound on resending.
const WRITE_TIMEOUT_MS = 90_000;

let node: RunningOpenSearch;
let baseDir: string;
let client: Client;

beforeAll(async () => {
  baseDir = mkdtempSync(join(tmpdir(), 'centralog-413-'));
  node = await startOpenSearch({ baseDir, heap: '512m', settings: { 'http.max_content_length': `${LIMIT}b` } });
  client = createOpenSearchClient(node.url);
});

afterAll(async () => {
  await node?.stop();
  if (baseDir) rmSync(baseDir, { recursive: true, force: true });
});

function doc(index: string, i: number, messageBytes = 200): BulkDocument {
  return {
    index,
    id: `doc-${i}`,
    source: 'cloudwatch_logs',
    eventTimestamp: Date.UTC(2026, 0, 1),
    body: { '@timestamp': '2026-01-01T00:00:00.000Z', message: `${i} ${'x'.repeat(messageBytes)}` },
  };
}

async function count(index: string): Promise<number> {
  await client.indices.refresh({ index });
  const res = await client.count({ index });
  return (res.body as { count: number }).count;
}

/** Fails instead of hanging when the sink keeps resending. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  return Promise.race([
    work,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`write did not finish within ${ms} ms`)), ms).unref()),
  ]);
}

describe('BulkSink against a node answering 413', () => {
  it('the node refuses a request over its http.max_content_length with 413', async () => {
    const body = Array.from({ length: 600 }, (_, i) => `{"create":{"_index":"probe-413","_id":"${i}"}}\n{"m":"${'x'.repeat(200)}"}\n`).join('');
    expect(Buffer.byteLength(body)).toBeGreaterThan(LIMIT);
    const res = await fetch(`${node.url}/_bulk`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status).toBe(413);
  });

  it('splits a request of many small documents in halves until each fits, and indexes all of them', async () => {
    const index = uniqueName('c413-small');
    const docs = Array.from({ length: 1500 }, (_, i) => doc(index, i));
    const sink = new BulkSink(client, { maxAttempts: 3, baseDelayMs: 10 });
    const started = Date.now();
    const outcome: BulkOutcome = await within(WRITE_TIMEOUT_MS, sink.write(docs));
    const ms = Date.now() - started;
    expect(outcome.rejected).toEqual([]);
    expect(outcome.created).toHaveLength(docs.length);
    expect(await count(index)).toBe(docs.length);
    // ~470 KiB in one 5 MiB chunk: halved down to requests that fit, after the refused ones.
    expect(sink.splits).toBeGreaterThan(0);
    expect(sink.requests).toBeLessThan(40);
    expect(ms).toBeLessThan(WRITE_TIMEOUT_MS);

    // Once the node's limit is known, the next batch is cut to fit: no 413 and no split.
    const more = Array.from({ length: 1500 }, (_, i) => doc(index, 10_000 + i));
    const splits = sink.splits;
    const again = await within(WRITE_TIMEOUT_MS, sink.write(more));
    expect(again.created).toHaveLength(more.length);
    expect(sink.splits).toBe(splits);
    expect(await count(index)).toBe(docs.length + more.length);
  }, 240_000);

  it('rejects only a document too large on its own, naming its size and the limit, and indexes the rest', async () => {
    const index = uniqueName('c413-one');
    const docs = Array.from({ length: 800 }, (_, i) => doc(index, i));
    const big = doc(index, 999_999, 100 * 1024);
    docs.splice(400, 0, big);
    const sink = new BulkSink(client, { maxAttempts: 3, baseDelayMs: 10 });
    const started = Date.now();
    const outcome = await within(WRITE_TIMEOUT_MS, sink.write(docs));
    expect(Date.now() - started).toBeLessThan(WRITE_TIMEOUT_MS);
    expect(outcome.rejected).toHaveLength(1);
    const [rejected] = outcome.rejected;
    expect(rejected!.document).toBe(big);
    expect(rejected!.status).toBe(413);
    expect(rejected!.reason).toContain(`request is ${Buffer.byteLength(bulkLines(big))} bytes`);
    expect(rejected!.reason).toContain(`${LIMIT}-byte request limit (http.max_content_length)`);
    expect(outcome.created).toHaveLength(docs.length - 1);
    expect(await count(index)).toBe(docs.length - 1);
    // Each 413 halves a request: about twice the number of leaves, never a resend loop.
    expect(sink.requests).toBeLessThan(40);
  }, 120_000);
});
