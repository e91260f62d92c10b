import type { Client } from '@opensearch-project/opensearch';
import { setTimeout as sleep } from 'node:timers/promises';
import { chunkBySize, type IndexableDocument } from '../../processors/index.ts';
import { backoffDelay } from '../backoff.ts';
import { errorSignature, isRetryableStatus, requestRefusal, systemicItemRefusal, SystemicRefusalError, type BulkItemError, type SystemicRefusal } from './refusals.ts';

export interface BulkSinkOptions {
  /** Bytes of NDJSON per _bulk request; OpenSearch does best at 5-15 MiB, some domains reject > 10 MiB. */
  maxRequestBytes?: number;
  /** Attempts for items (or whole requests) that failed with 429, 5xx or a connection error. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called after every _bulk request with its duration, for the latency histogram. */
  observeRequest?: (seconds: number, outcome: 'ok' | 'error') => void;
}

/**
 * A document to index; `ndjson` (and its `bytes`) when already serialised; `origin`
 * is where it came from, for a dead letter if OpenSearch refuses it.
 */
export type BulkDocument = IndexableDocument & {
  ndjson?: Buffer;
  bytes?: number;
  origin?: {
    record: { envelope: { owner: string; logGroup: string; logStream: string }; sequenceNumber: string; arrivedAt?: string };
    event: { id: string; timestamp: number; message: string };
  };
};

/** Stands in for the body of a document already serialised: see releaseBody. */
const RELEASED_BODY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/**
 * Lets a serialised document's body go while its NDJSON waits for OpenSearch: a slice's
 * thousands of small objects then die young instead of surviving into the old generation
 * (about 90 MiB less RSS and 5-10% less CPU in the worker's slices). documentBody gives it back.
 */
export function releaseBody(doc: BulkDocument): void {
  if (doc.ndjson) doc.body = RELEASED_BODY;
  if (doc.raw) doc.raw = undefined;
}

/** A document's body, parsed back from its NDJSON when it was released (dead letters only: rare). */
export function documentBody(doc: IndexableDocument & { ndjson?: Buffer }): Record<string, unknown> {
  if (doc.body !== RELEASED_BODY || !doc.ndjson) return doc.body;
  const text = doc.ndjson.toString('utf8');
  return JSON.parse(text.slice(text.indexOf('\n') + 1)) as Record<string, unknown>;
}

/** Documents' NDJSON is written into slabs of this size, not into a buffer of its own each. */
const SLAB_BYTES = 256 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

/**
 * The two NDJSON lines that create one document under its deterministic id, as UTF-8: encoded
 * once, measured for free, and copied into request bodies without another pass over the text
 * (a string would be measured, joined and encoded again on the socket). Each document's bytes
 * are a view of a shared slab that is never written again where a view has been handed out.
 */
export function bulkLines(doc: IndexableDocument): Buffer {
  const action = `{"create":{"_index":${JSON.stringify(doc.index)},"_id":${JSON.stringify(doc.id)}}}\n`;
  const body = JSON.stringify(doc.body);
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  const most = (action.length + body.length) * 3 + 1;
  if (slab.length - slabUsed < most) {
    slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, most));
    slabUsed = 0;
  }
  const start = slabUsed;
  slabUsed += slab.write(action, slabUsed);
  slabUsed += slab.write(body, slabUsed);
  slab[slabUsed++] = 0x0a;
  return slab.subarray(start, slabUsed);
}

export interface RejectedDocument {
  document: BulkDocument;
  status: number;
  reason: string;
  /** The error type and the field it names, so a flood of one error can be told from scattered ones. */
  signature?: string;
}

export interface BulkOutcome {
  created: IndexableDocument[];
  /** Already indexed (409 on create): a retry or replay, never a new document. */
  duplicates: IndexableDocument[];
  /** Refused for good (mapping conflict, too large...): to be dead-lettered. */
  rejected: RejectedDocument[];
}

/** OpenSearch kept refusing retryable items or could not be reached; nothing was dropped. */
export class BulkUnavailableError extends Error {
  override readonly name = 'BulkUnavailableError';
}

const MAX_BULK_BYTES = 10 * 1024 * 1024;

/** One _bulk request: its documents and their NDJSON lines, in the same order. */
interface BulkChunk {
  docs: BulkDocument[];
  lines: Buffer[];
}

/**
 * What a _bulk response is read for: each item's status and error, in order. Everything
 * else (index, id, version, shards, sequence numbers) is dropped by OpenSearch before it is
 * sent, an eighth of the response to receive and parse.
 */
const BULK_RESPONSE_FIELDS = 'items.*.status,items.*.error';

interface BulkItemResult {
  status: number;
  error?: BulkItemError;
}

/**
 * Indexes documents with op_type create and their deterministic ids, so retries and
 * replays never duplicate. Retries only the items that failed, never a whole batch.
 */
export class BulkSink {
  private readonly opts: Required<Omit<BulkSinkOptions, 'observeRequest'>> & Pick<BulkSinkOptions, 'observeRequest'>;
  requests = 0;
  /** Requests answered 413 and sent again as two halves. */
  splits = 0;
  /**
   * The node's http.max_content_length once a 413 made us ask (null: it would not say);
   * later requests are cut to fit it instead of being split again on every batch.
   */
  private nodeLimit: number | null | undefined;

  constructor(
    private readonly client: Client,
    options: BulkSinkOptions = {},
  ) {
    this.opts = {
      maxRequestBytes: Math.min(options.maxRequestBytes ?? 5 * 1024 * 1024, MAX_BULK_BYTES),
      maxAttempts: options.maxAttempts ?? 6,
      baseDelayMs: options.baseDelayMs ?? 200,
      maxDelayMs: options.maxDelayMs ?? 10_000,
      observeRequest: options.observeRequest,
    };
  }

  /**
   * Indexes every document or returns it as rejected; throws BulkUnavailableError when
   * retries run out, SystemicRefusalError when OpenSearch refuses for a reason outside the
   * documents (nothing is returned as rejected then), or the signal's reason when aborted
   * between requests.
   */
  async write(documents: BulkDocument[], signal?: AbortSignal): Promise<BulkOutcome> {
    const outcome: BulkOutcome = { created: [], duplicates: [], rejected: [] };
    let pending = documents;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const retry: IndexableDocument[] = [];
      for (const chunk of this.chunks(pending)) {
        signal?.throwIfAborted();
        retry.push(...(await this.send(chunk, outcome, signal)));
      }
      pending = retry;
      if (pending.length === 0) break;
      if (attempt >= this.opts.maxAttempts) {
        throw new BulkUnavailableError(
          `OpenSearch did not accept ${pending.length} document(s) after ${attempt} attempts`,
        );
      }
      await sleep(backoffDelay(attempt, { baseMs: this.opts.baseDelayMs, maxMs: this.opts.maxDelayMs }), undefined, { signal });
    }
    return outcome;
  }

  /** Serialises documents into request bodies no larger than maxRequestBytes (or the node's limit, once known). */
  private *chunks(documents: BulkDocument[]): Generator<BulkChunk> {
    const lines = documents.map((doc) => doc.ndjson ?? bulkLines(doc));
    const maxBytes = Math.min(this.opts.maxRequestBytes, this.nodeLimit ?? Number.POSITIVE_INFINITY);
    let from = 0;
    for (const chunk of chunkBySize(lines, (line) => line.length, maxBytes)) {
      yield { docs: documents.slice(from, from + chunk.length), lines: chunk };
      from += chunk.length;
    }
  }

  /** The node's request size limit, asked once; null when it cannot be read (e.g. no nodes-info permission). */
  private async requestLimit(): Promise<number | null> {
    if (this.nodeLimit === undefined) {
      try {
        const res = await this.client.nodes.info({ node_id: '_local', metric: ['http'] });
        const nodes = (res.body as unknown as { nodes?: Record<string, { http?: { max_content_length_in_bytes?: number } }> }).nodes;
        const limit = Object.values(nodes ?? {})[0]?.http?.max_content_length_in_bytes;
        this.nodeLimit = typeof limit === 'number' && limit > 0 ? limit : null;
      } catch {
        this.nodeLimit = null;
      }
    }
    return this.nodeLimit;
  }

  /**
   * A request too large for OpenSearch (413): each half is sent on its own, recursively, so
   * only a document too large by itself is refused, and every step sends fewer documents.
   */
  private async tooLarge(chunk: BulkChunk, bodyBytes: number, outcome: BulkOutcome, signal?: AbortSignal): Promise<BulkDocument[]> {
    const limit = await this.requestLimit();
    if (chunk.docs.length === 1) {
      // A limit no larger than this request is the one that refused it; otherwise a proxy in front did.
      const limitText = limit !== null && limit < bodyBytes ? `the ${limit}-byte request limit (http.max_content_length)` : 'the request size limit';
      outcome.rejected.push({
        document: chunk.docs[0]!,
        status: 413,
        signature: 'document_too_large',
        reason: `document too large: its _bulk request is ${bodyBytes} bytes, over ${limitText}`,
      });
      return [];
    }
    this.splits++;
    const half = Math.ceil(chunk.docs.length / 2);
    const retry: BulkDocument[] = [];
    for (const [from, to] of [[0, half], [half, chunk.docs.length]] as const) {
      signal?.throwIfAborted();
      retry.push(...(await this.send({ docs: chunk.docs.slice(from, to), lines: chunk.lines.slice(from, to) }, outcome, signal)));
    }
    return retry;
  }

  /** Sends one request; returns the documents to retry. */
  private async send(chunk: BulkChunk, outcome: BulkOutcome, signal?: AbortSignal): Promise<BulkDocument[]> {
    this.requests++;
    let items: Array<Record<string, BulkItemResult>>;
    const body = Buffer.concat(chunk.lines);
    const started = performance.now();
    try {
      // A prebuilt NDJSON body: the client sends buffers as they are.
      const res = await this.client.bulk({ body: body as unknown as Parameters<Client['bulk']>[0]['body'], filter_path: BULK_RESPONSE_FIELDS });
      items = (res.body as unknown as { items: Array<Record<string, BulkItemResult>> }).items;
      this.opts.observeRequest?.((performance.now() - started) / 1000, 'ok');
    } catch (err) {
      this.opts.observeRequest?.((performance.now() - started) / 1000, 'error');
      const meta = (err as { meta?: { statusCode?: number; body?: unknown } }).meta;
      const status = meta?.statusCode;
      // Connection errors, 429 and 5xx on the whole request: every item is retried.
      if (status === undefined || isRetryableStatus(status)) return chunk.docs;
      if (status === 413) return this.tooLarge(chunk, body.length, outcome, signal);
      const refusal = requestRefusal(status, meta?.body);
      if (refusal) throw new SystemicRefusalError([refusal], outcome.created);
      throw err;
    }
    const retry: BulkDocument[] = [];
    const systemic = new Map<string, { refusal: SystemicRefusal; n: number }>();
    items.forEach((item, i) => {
      const doc = chunk.docs[i]!;
      const result = item.create ?? Object.values(item)[0]!;
      if (result.status === 201 || result.status === 200) outcome.created.push(doc);
      else if (result.status === 409) outcome.duplicates.push(doc);
      else if (isRetryableStatus(result.status)) retry.push(doc);
      else {
        const e = result.error;
        const refusal = systemicItemRefusal(result.status, e);
        if (refusal) {
          const key = `${refusal.cause} ${refusal.index ?? ''}`;
          systemic.set(key, { refusal, n: (systemic.get(key)?.n ?? 0) + 1 });
          return;
        }
        const reason = [e?.type, e?.reason, e?.caused_by?.reason].filter(Boolean).join(': ');
        outcome.rejected.push({ document: doc, status: result.status, reason: reason || `status ${result.status}`, signature: errorSignature(e?.type, e?.reason) });
      }
    });
    // Sending the rest would only be refused the same way: the whole batch waits for the cause to go.
    if (systemic.size > 0) throw new SystemicRefusalError([...systemic.values()].sort((a, b) => b.n - a.n).map((s) => s.refusal), outcome.created);
    return retry;
  }
}
