import type { Client } from '@opensearch-project/opensearch';
import { setTimeout as sleep } from 'node:timers/promises';
import { chunkBySize, type IndexableDocument } from '../../processors/index.ts';

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
 * A document to index; `ndjson` (and its UTF-8 `bytes`) when already serialised; `origin`
 * is where it came from, for a dead letter if OpenSearch refuses it.
 */
export type BulkDocument = IndexableDocument & {
  ndjson?: string;
  bytes?: number;
  origin?: {
    record: { envelope: { owner: string; logGroup: string; logStream: string }; sequenceNumber: string; arrivedAt?: string };
    event: { id: string; timestamp: number; message: string };
  };
};

/** The two NDJSON lines that create one document under its deterministic id. */
export function bulkLines(doc: IndexableDocument): string {
  return `${JSON.stringify({ create: { _index: doc.index, _id: doc.id } })}\n${JSON.stringify(doc.body)}\n`;
}

export interface RejectedDocument {
  document: BulkDocument;
  status: number;
  reason: string;
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

function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

interface BulkItemResult {
  status: number;
  error?: { type?: string; reason?: string; caused_by?: { reason?: string } };
}

/**
 * Indexes documents with op_type create and their deterministic ids, so retries and
 * replays never duplicate. Retries only the items that failed, never a whole batch.
 */
export class BulkSink {
  private readonly opts: Required<Omit<BulkSinkOptions, 'observeRequest'>> & Pick<BulkSinkOptions, 'observeRequest'>;
  requests = 0;

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
   * retries run out, or the signal's reason when aborted between requests.
   */
  async write(documents: BulkDocument[], signal?: AbortSignal): Promise<BulkOutcome> {
    const outcome: BulkOutcome = { created: [], duplicates: [], rejected: [] };
    let pending = documents;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const retry: IndexableDocument[] = [];
      for (const chunk of this.chunks(pending)) {
        signal?.throwIfAborted();
        retry.push(...(await this.send(chunk, outcome)));
      }
      pending = retry;
      if (pending.length === 0) break;
      if (attempt >= this.opts.maxAttempts) {
        throw new BulkUnavailableError(
          `OpenSearch did not accept ${pending.length} document(s) after ${attempt} attempts`,
        );
      }
      await sleep(this.backoff(attempt), undefined, { signal });
    }
    return outcome;
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.opts.baseDelayMs * 2 ** (attempt - 1), this.opts.maxDelayMs);
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  /** Serialises documents into request bodies no larger than maxRequestBytes. */
  private *chunks(documents: BulkDocument[]): Generator<{ docs: BulkDocument[]; body: string }> {
    const pairs = documents.map((doc) => ({ doc, ndjson: doc.ndjson ?? bulkLines(doc) }));
    for (const chunk of chunkBySize(pairs, (p) => p.doc.bytes ?? Buffer.byteLength(p.ndjson), this.opts.maxRequestBytes)) {
      yield { docs: chunk.map((p) => p.doc), body: chunk.map((p) => p.ndjson).join('') };
    }
  }

  /** Sends one request; returns the documents to retry. */
  private async send(chunk: { docs: BulkDocument[]; body: string }, outcome: BulkOutcome): Promise<BulkDocument[]> {
    this.requests++;
    let items: Array<Record<string, BulkItemResult>>;
    const started = performance.now();
    try {
      // A prebuilt NDJSON body: the client sends strings as they are.
      const res = await this.client.bulk({ body: chunk.body as unknown as Parameters<Client['bulk']>[0]['body'] });
      items = (res.body as unknown as { items: Array<Record<string, BulkItemResult>> }).items;
      this.opts.observeRequest?.((performance.now() - started) / 1000, 'ok');
    } catch (err) {
      this.opts.observeRequest?.((performance.now() - started) / 1000, 'error');
      const status = (err as { meta?: { statusCode?: number } }).meta?.statusCode;
      // Connection errors, 429 and 5xx on the whole request: every item is retried.
      if (status === undefined || isRetryableStatus(status)) return chunk.docs;
      if (status === 413) {
        if (chunk.docs.length === 1) {
          outcome.rejected.push({ document: chunk.docs[0]!, status, reason: 'document larger than the bulk request limit' });
          return [];
        }
        throw new BulkUnavailableError(`OpenSearch refused a ${chunk.body.length}-byte bulk request with 413`);
      }
      throw err;
    }
    const retry: BulkDocument[] = [];
    items.forEach((item, i) => {
      const doc = chunk.docs[i]!;
      const result = item.create ?? Object.values(item)[0]!;
      if (result.status === 201 || result.status === 200) outcome.created.push(doc);
      else if (result.status === 409) outcome.duplicates.push(doc);
      else if (isRetryableStatus(result.status)) retry.push(doc);
      else {
        const e = result.error;
        const reason = [e?.type, e?.reason, e?.caused_by?.reason].filter(Boolean).join(': ');
        outcome.rejected.push({ document: doc, status: result.status, reason: reason || `status ${result.status}` });
      }
    });
    return retry;
  }
}
