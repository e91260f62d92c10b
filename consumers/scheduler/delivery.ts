import type { IndexableDocument } from '../../processors/index.ts';
import type { Alerting } from '../alerts/index.ts';
import { refusedDocument, type DeadLetterSink } from '../sinks/dead-letter.ts';
import type { BulkSink } from '../sinks/opensearch-bulk.ts';
import { SystemicRefusalError } from '../sinks/refusals.ts';
import type { DeliveryOutcome } from './accounting.ts';
import type { PreparedBatch } from './batch.ts';
import type { RefusalBreaker } from './breaker.ts';

/**
 * Sends one prepared batch to its sinks: documents to OpenSearch, then everything that
 * cannot be indexed (undecodable records, oversized events, refused documents) to dead
 * letters. Throws when a sink cannot take the batch, and SystemicRefusalError when
 * OpenSearch refuses for a reason outside the documents (or the breaker sees a flood of
 * one document error); the caller retries the whole batch, and deterministic ids make the
 * documents indexed last time harmless 409s.
 */
export class BatchDelivery {
  constructor(
    private readonly bulk: BulkSink,
    private readonly deadLetters: DeadLetterSink,
    private readonly streamName: string,
    private readonly breaker?: RefusalBreaker,
    /** Detections: told of the documents OpenSearch now holds; throwing has the batch delivered again. */
    private readonly alerting?: Pick<Alerting, 'afterIndexed'>,
  ) {}

  /**
   * `created` carries over between attempts at one batch: a document created by an attempt
   * that then failed is a 409 next time, and still counts as created.
   */
  async deliver(shardId: string, batch: PreparedBatch, signal: AbortSignal, created = new Map<string, IndexableDocument>()): Promise<DeliveryOutcome> {
    const earlier = new Set(created.keys());
    let result;
    try {
      result = await this.bulk.write(batch.documents, signal);
    } catch (err) {
      if (err instanceof SystemicRefusalError) for (const d of err.created) created.set(d.id, d);
      throw err;
    }
    for (const d of result.created) created.set(d.id, d);
    // Before any dead letter: a flood is held like a systemic refusal, not written to S3.
    const flood = this.breaker?.observe(shardId, batch.documents.length, result.rejected);
    if (flood) throw new SystemicRefusalError([flood]);
    await this.alerting?.afterIndexed(batch.alerts, result.rejected.map((r) => r.document));
    const letters = [...batch.deadLetters, ...result.rejected.map((r) => refusedDocument(this.streamName, shardId, r))];
    signal.throwIfAborted();
    await this.deadLetters.write(letters);
    return {
      created: [...created.values()].map((d) => ({ source: d.source, eventTimestamp: d.eventTimestamp })),
      duplicates: result.duplicates.filter((d) => !earlier.has(d.id)).length,
      deadLetters: letters,
    };
  }
}
