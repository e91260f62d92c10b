import type { SourceType } from '../../processors/index.ts';
import { emptyCounters, type ConsumerCounters, type ConsumerMetrics, type LatencySample } from '../metrics.ts';
import type { DeadLetter } from '../sinks/dead-letter.ts';
import type { PreparedBatch } from './batch.ts';

/** What became of one delivered batch: each document is created, a duplicate, or dead-lettered. */
export interface DeliveryOutcome {
  /** Documents created now, by source, with their event times (for lag). */
  created: Array<{ source: SourceType; eventTimestamp: number }>;
  /** 409 on create: indexed before (a retry, a takeover or a re-read), not indexed twice. */
  duplicates: number;
  /** Everything written to dead letters for this batch: undecodable records, oversized events, refused documents. */
  deadLetters: DeadLetter[];
}

/**
 * The one place that counts what the consumer did: the counters the demo and tests read
 * and the Prometheus metrics are fed from the same call, so they cannot disagree.
 */
export class Accounting {
  readonly counters: ConsumerCounters = emptyCounters();

  constructor(
    readonly metrics: ConsumerMetrics,
    readonly lag: LatencySample,
  ) {}

  /** A batch was delivered and its checkpoint written. */
  delivered(shardId: string, batch: PreparedBatch, outcome: DeliveryOutcome): void {
    const c = this.counters;
    const m = this.metrics;
    c.recordsIn += batch.records;
    c.controlDropped += batch.controlDropped;
    c.reingestedSkipped += batch.reingestedSkipped;
    c.eventsIn += batch.documents.length;
    c.created += outcome.created.length;
    c.duplicates += outcome.duplicates;
    c.deadLettered += outcome.deadLetters.length;
    c.checkpoints++;
    m.recordsIn.inc({ shard: shardId }, batch.records);
    m.eventsIn.inc(batch.documents.length);
    if (outcome.duplicates > 0) m.duplicates.inc(outcome.duplicates);
    if (batch.controlDropped > 0) m.dropped.inc({ reason: 'control_message' }, batch.controlDropped);
    if (batch.reingestedSkipped > 0) m.dropped.inc({ reason: 'reingested' }, batch.reingestedSkipped);
    for (const l of outcome.deadLetters) m.deadLettered.inc({ stage: l.stage });
    m.checkpoints.inc();
    const now = Date.now();
    const bySource = new Map<SourceType, number>();
    for (const d of outcome.created) {
      bySource.set(d.source, (bySource.get(d.source) ?? 0) + 1);
      this.lag.add(now - d.eventTimestamp);
    }
    for (const [source, n] of bySource) {
      c.indexedBySource[source] += n;
      m.indexed.inc({ source }, n);
    }
  }

  /** A batch could not be delivered yet and will be tried again. */
  retried(): void {
    this.metrics.deliveryRetries.inc();
  }
}
