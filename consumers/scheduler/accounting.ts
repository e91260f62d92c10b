import type { SourceType } from '../../processors/index.ts';
import { emptyCounters, type ConsumerCounters, type ConsumerMetrics, type LatencySample } from '../metrics.ts';
import type { DeadLetter } from '../sinks/dead-letter.ts';
import type { RefusalCause, SystemicRefusal } from '../sinks/refusals.ts';
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

/** A shard holding a batch because OpenSearch refuses it for a reason outside the documents. */
export interface Pause {
  shardId: string;
  /** When the first attempt was refused (ms since the epoch). */
  since: number;
  /** What the last attempt was refused with. */
  refusals: SystemicRefusal[];
}

/**
 * The one place that counts what the consumer did: the counters the demo and tests read
 * and the Prometheus metrics are fed from the same call, so they cannot disagree.
 */
export class Accounting {
  readonly counters: ConsumerCounters = emptyCounters();
  private readonly pauses = new Map<string, Pause>();
  private readonly seenCauses = new Set<RefusalCause>();

  constructor(
    readonly metrics: ConsumerMetrics,
    readonly lag: LatencySample,
  ) {}

  /**
   * A batch reached its sinks. Counted now, before its checkpoint: what OpenSearch created
   * is created even if the lease is lost before the checkpoint (the next owner then meets
   * those documents as 409s), so documents created add up across the fleet.
   */
  delivered(batch: PreparedBatch, outcome: DeliveryOutcome): void {
    const c = this.counters;
    const m = this.metrics;
    c.eventsIn += batch.documents.length;
    c.duplicates += outcome.duplicates;
    c.deadLettered += outcome.deadLetters.length;
    m.eventsIn.inc(batch.documents.length);
    if (outcome.duplicates > 0) m.duplicates.inc(outcome.duplicates);
    for (const l of outcome.deadLetters) m.deadLettered.inc({ stage: l.stage });
    this.countCreated(outcome.created);
  }

  /**
   * Documents OpenSearch created, counted once: at delivery, or, for a slice whose delivery a
   * lost lease or a stop cut short, when it was abandoned. Either way they add up across the
   * fleet, since the next owner of the shard meets them as 409s.
   */
  countCreated(created: ReadonlyArray<{ source: SourceType; eventTimestamp: number }>): void {
    const c = this.counters;
    const m = this.metrics;
    c.created += created.length;
    const now = Date.now();
    const bySource = new Map<SourceType, number>();
    for (const d of created) {
      bySource.set(d.source, (bySource.get(d.source) ?? 0) + 1);
      this.lag.add(now - d.eventTimestamp);
    }
    for (const [source, n] of bySource) {
      c.indexedBySource[source] += n;
      m.indexed.inc({ source }, n);
    }
  }

  /** A delivered batch's checkpoint is written: its records are done with. */
  checkpointed(shardId: string, batch: PreparedBatch): void {
    const c = this.counters;
    const m = this.metrics;
    c.recordsIn += batch.records;
    c.controlDropped += batch.controlDropped;
    c.reingestedSkipped += batch.reingestedSkipped;
    c.checkpoints++;
    m.recordsIn.inc({ shard: shardId }, batch.records);
    if (batch.controlDropped > 0) m.dropped.inc({ reason: 'control_message' }, batch.controlDropped);
    if (batch.reingestedSkipped > 0) m.dropped.inc({ reason: 'reingested' }, batch.reingestedSkipped);
    m.checkpoints.inc();
  }

  /** A batch could not be delivered yet and will be tried again. */
  retried(): void {
    this.metrics.deliveryRetries.inc();
  }

  /** An attempt at a shard's batch was refused systemically: the shard is paused until one succeeds. */
  refused(shardId: string, refusals: SystemicRefusal[]): Pause {
    const cause = refusals[0]?.cause ?? 'authorisation';
    this.metrics.systemicRefusals.inc({ cause });
    const pause = { shardId, since: this.pauses.get(shardId)?.since ?? Date.now(), refusals };
    this.pauses.set(shardId, pause);
    this.countPaused();
    return pause;
  }

  /** The shard's batch went through, or the shard stopped: it is no longer paused. */
  resumed(shardId: string): Pause | undefined {
    const pause = this.pauses.get(shardId);
    if (pause) {
      this.pauses.delete(shardId);
      this.countPaused();
    }
    return pause;
  }

  /** Shards paused now, for /healthz. */
  get paused(): Pause[] {
    return [...this.pauses.values()];
  }

  private countPaused(): void {
    const byCause = new Map<RefusalCause, number>();
    for (const p of this.pauses.values()) {
      const cause = p.refusals[0]?.cause ?? 'authorisation';
      byCause.set(cause, (byCause.get(cause) ?? 0) + 1);
    }
    // A cause that has gone reads 0 rather than vanishing, so alerts see it end.
    for (const cause of this.seenCauses) this.metrics.pausedShards.set({ cause }, byCause.get(cause) ?? 0);
    for (const [cause, n] of byCause) {
      this.seenCauses.add(cause);
      this.metrics.pausedShards.set({ cause }, n);
    }
  }
}
