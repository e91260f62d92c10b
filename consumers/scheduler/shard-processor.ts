import type { KinesisClient, _Record } from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DocumentOptions, IndexableDocument, VpcFlowFormats } from '../../processors/index.ts';
import { backoffDelay, type BackoffPolicy } from '../backoff.ts';
import type { HeldLease, LeaseCoordinator } from '../leases/lease-coordinator.ts';
import { SHARD_END, TRIM_HORIZON, type Lease, type LeaseTable } from '../leases/lease-table.ts';
import { parentsFinished } from '../leases/shard-sync.ts';
import { PollingRetrieval, type Retrieval } from '../retrieval/polling.ts';
import type { RecordReader, ShardReaderOptions, StartPosition } from '../retrieval/shard-reader.ts';
import { SystemicRefusalError } from '../sinks/refusals.ts';
import type { Accounting, DeliveryOutcome } from './accounting.ts';
import { prepareBatch, type BatchOptions, type PreparedBatch } from './batch.ts';
import type { BatchDelivery } from './delivery.ts';
import type { InFlightLimit } from './in-flight-limit.ts';

/** Longest wait between attempts while OpenSearch refuses writes systemically; outages keep ctx.retry's. */
const SYSTEMIC_PAUSE_MAX_MS = 60_000;

export type LogFunction = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

/** What every shard processor of one worker shares. */
export interface ShardProcessorContext {
  kinesis: KinesisClient;
  streamName: string;
  leases: LeaseTable;
  coordinator: LeaseCoordinator;
  limit: InFlightLimit;
  delivery: BatchDelivery;
  accounting: Accounting;
  indexPrefix: string;
  vpcFlowFormats?: VpcFlowFormats;
  documents?: DocumentOptions;
  /** Detections, run as each slice is prepared. */
  detect?: BatchOptions['detect'];
  reader?: ShardReaderOptions;
  /** Polling within `reader`'s budget unless given (fan-out). */
  retrieval?: Retrieval;
  batchBytes: number;
  maxEventBytes: number;
  retry: BackoffPolicy;
  parentPollMs: number;
  /** Aborts when the worker stops reading (graceful shutdown). */
  stopReading: AbortSignal;
  /** Aborts when batches in flight are abandoned (shutdown timeout). */
  abandon: AbortSignal;
  /** A shard ended or a child started: shard sync should run now, not at its next interval. */
  requestShardSync: () => void;
  log: LogFunction;
}

function startPosition(checkpoint: string): StartPosition {
  if (checkpoint === TRIM_HORIZON) return { type: 'TRIM_HORIZON' };
  if (checkpoint === 'LATEST') return { type: 'LATEST' };
  return { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: checkpoint };
}

function recordBytes(records: _Record[]): number {
  let n = 0;
  for (const r of records) n += r.Data?.byteLength ?? 0;
  return n;
}

/**
 * One shard while this worker holds its lease, in the Kinesis Client Library's shape:
 * initialize (wait for parents, position the reader at the checkpoint), process records
 * (slices -> delivery -> checkpoint), and one of lease lost (stop at once, no checkpoint),
 * shard ended (checkpoint SHARD_END) or shutdown requested (finish the slice in flight).
 * It owns its reader and its position; the scheduler only starts it.
 */
export class ShardProcessor {
  readonly shardId: string;
  private reader: RecordReader | undefined;
  /** Aborts on lease loss or shutdown: stop reading. */
  private readonly reading: AbortSignal;
  /** Aborts on lease loss or abandon: stop delivering (without a checkpoint). */
  private readonly delivering: AbortSignal;

  constructor(
    private readonly held: HeldLease,
    private readonly ctx: ShardProcessorContext,
  ) {
    this.shardId = held.lease.leaseKey;
    this.reading = AbortSignal.any([held.lost.signal, ctx.stopReading]);
    this.delivering = AbortSignal.any([held.lost.signal, ctx.abandon]);
  }

  /** Runs until the shard ends, the lease is lost or the worker stops; never throws. */
  async run(): Promise<void> {
    for (let failures = 0; !this.reading.aborted; ) {
      try {
        if (!(await this.initialize())) return;
        for (;;) {
          const step = await this.processRecords();
          failures = 0;
          if (step === 'stopped') return this.shutdownRequestedOrLost();
          if (step === 'shard-end') return await this.shardEnded();
        }
      } catch (err) {
        if (this.reading.aborted) return this.shutdownRequestedOrLost();
        // Kinesis or DynamoDB unreachable: read again from the lease's checkpoint after a pause.
        const delay = backoffDelay(++failures, this.ctx.retry);
        this.log('error', 'shard processing failed; restarting from its checkpoint', { error: String(err), retryInMs: Math.round(delay) });
        this.reader?.close();
        this.reader = undefined;
        try {
          await sleep(delay, undefined, { signal: this.reading });
        } catch {
          return this.shutdownRequestedOrLost();
        }
      }
    }
  }

  /** Waits for every parent shard to finish, then positions the reader at the checkpoint; false if stopped first. */
  private async initialize(): Promise<boolean> {
    if (this.reader) return true;
    if (!(await this.awaitParents(this.held.lease))) return false;
    if (this.held.lease.checkpoint === SHARD_END) {
      this.ctx.coordinator.forget(this.shardId);
      return false;
    }
    const retrieval = this.ctx.retrieval ?? new PollingRetrieval(this.ctx.kinesis, this.ctx.streamName, this.ctx.reader);
    this.reader = retrieval.open(this.shardId, startPosition(this.held.lease.checkpoint), { signal: this.reading, metrics: this.ctx.accounting.metrics });
    this.log('info', 'shard reading', { parentShardIds: this.held.lease.parentShardIds, checkpoint: this.held.lease.checkpoint, at: Date.now() });
    return true;
  }

  private async awaitParents(lease: Lease): Promise<boolean> {
    let logged = false;
    while (!this.reading.aborted) {
      const parents = new Map<string, Lease | undefined>();
      for (const p of lease.parentShardIds) parents.set(p, await this.ctx.leases.get(p));
      if (parentsFinished(lease, parents)) return true;
      if (!logged) {
        logged = true;
        this.log('info', 'waiting for parent shards to finish', { parentShardIds: lease.parentShardIds });
      }
      try {
        await sleep(this.ctx.parentPollMs, undefined, { signal: this.reading });
      } catch {
        return false;
      }
    }
    return false;
  }

  /** One GetRecords response, delivered in slices with a checkpoint after each; holds an in-flight slot meanwhile. */
  private async processRecords(): Promise<'stopped' | 'idle' | 'more' | 'shard-end'> {
    const { limit, accounting } = this.ctx;
    const metrics = accounting.metrics;
    // The read budget's wait (or fan-out's wait for an event) holds no in-flight slot.
    await this.reader!.ready(this.reading);
    await limit.acquire(this.reading);
    let bytes = 0;
    try {
      const batch = await this.reader!.next(this.reading);
      const records = batch.records;
      bytes = recordBytes(records);
      metrics.inFlightBytes.inc(bytes);
      metrics.millisBehindLatest.set({ shard: this.shardId }, batch.millisBehindLatest);
      const newest = records.at(-1)?.ApproximateArrivalTimestamp;
      metrics.arrivalLag.set({ shard: this.shardId }, newest ? Math.max(0, (Date.now() - newest.getTime()) / 1000) : 0);
      for (let from = 0; from < records.length; ) {
        const prepared = prepareBatch(records, {
          ...this.ctx.documents,
          streamName: this.ctx.streamName,
          shardId: this.shardId,
          indexPrefix: this.ctx.indexPrefix,
          vpcFlowFormats: this.ctx.vpcFlowFormats,
          from,
          maxBytes: this.ctx.batchBytes,
          maxEventBytes: this.ctx.maxEventBytes,
          detect: this.ctx.detect,
        });
        from += prepared.records;
        if (!(await this.commit(prepared))) return 'stopped';
        // A graceful stop lets the slice in flight finish, then stops; the rest is re-read by the next owner.
        if (this.ctx.stopReading.aborted && from < records.length) return 'stopped';
      }
      if (batch.shardEnded) return 'shard-end';
      return records.length === 0 ? 'idle' : 'more';
    } finally {
      metrics.inFlightBytes.dec(bytes);
      limit.release();
    }
  }

  /**
   * Delivers one slice completely, then checkpoints its last record; retries until it can.
   * A delivered slice is not sent again when only its checkpoint failed. False, without
   * a checkpoint, when the lease is lost or the slice is abandoned. A systemic refusal
   * pauses the shard: it holds its slot (so reading stops once every slot is held), backs
   * off up to a minute, says why and what to do, and resumes when a retry goes through.
   */
  private async commit(prepared: PreparedBatch): Promise<boolean> {
    let outcome: DeliveryOutcome | undefined;
    const created = new Map<string, IndexableDocument>();
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          if (!outcome) {
            outcome = await this.ctx.delivery.deliver(this.shardId, prepared, this.delivering, created);
            this.ctx.accounting.delivered(prepared, outcome);
          }
          this.delivering.throwIfAborted();
          const firstOfChild = this.held.lease.checkpoint === TRIM_HORIZON && this.held.lease.parentShardIds.length > 0;
          if (!(await this.ctx.coordinator.checkpoint(this.shardId, prepared.lastSequenceNumber))) return false;
          // A child has started: its finished parents' leases can go now, not at the next periodic sync.
          if (firstOfChild) this.ctx.requestShardSync();
          this.ctx.accounting.checkpointed(this.shardId, prepared);
          const pause = this.ctx.accounting.resumed(this.shardId);
          if (pause) this.log('info', 'OpenSearch accepts writes again; shard resumed', { cause: pause.refusals[0]?.cause, pausedForMs: Date.now() - pause.since });
          return true;
        } catch (err) {
          if (this.delivering.aborted) {
            // Stopped after OpenSearch created some of the slice: those documents exist, and the next owner meets them as 409s.
            if (!outcome) this.ctx.accounting.countCreated([...created.values()]);
            return false;
          }
          this.ctx.accounting.retried();
          const delay = err instanceof SystemicRefusalError ? this.refused(err, attempt) : backoffDelay(attempt, this.ctx.retry);
          if (!(err instanceof SystemicRefusalError)) {
            this.log('warn', 'batch not delivered; retrying without moving the checkpoint', { attempt, error: String(err), retryInMs: Math.round(delay) });
          }
          try {
            await sleep(delay, undefined, { signal: this.delivering });
          } catch {
            return false;
          }
        }
      }
    } finally {
      // A shard stopped while paused is no longer this worker's concern.
      this.ctx.accounting.resumed(this.shardId);
    }
  }

  /** Counts and explains a systemic refusal; returns the wait before the next attempt. */
  private refused(err: SystemicRefusalError, attempt: number): number {
    const pause = this.ctx.accounting.refused(this.shardId, err.refusals);
    const delay = backoffDelay(attempt, { baseMs: this.ctx.retry.baseMs, maxMs: SYSTEMIC_PAUSE_MAX_MS });
    const [first, ...others] = err.refusals;
    this.log('error', `OpenSearch refuses writes (${first?.cause}): ${first?.reason}. To fix: ${first?.advice}. Holding the batch (no checkpoint, none of it dead-lettered) and retrying by itself`, {
      cause: first?.cause,
      index: first?.index,
      also: others.length > 0 ? others.map((r) => r.reason) : undefined,
      attempt,
      pausedForMs: Date.now() - pause.since,
      retryInMs: Math.round(delay),
    });
    return delay;
  }

  /** Every record is delivered: SHARD_END lets the children start. */
  private async shardEnded(): Promise<void> {
    const at = Date.now();
    if (!(await this.ctx.coordinator.checkpoint(this.shardId, SHARD_END))) return this.shutdownRequestedOrLost();
    this.ctx.coordinator.forget(this.shardId);
    this.ctx.accounting.metrics.leasesHeld.set(this.ctx.coordinator.held.size);
    this.ctx.accounting.metrics.forgetShard(this.shardId);
    this.log('info', 'shard finished', { at });
    this.ctx.requestShardSync();
  }

  /** Stopped before the shard's end: either the lease was lost or the worker is shutting down. */
  private shutdownRequestedOrLost(): void {
    this.reader?.close();
    this.reader = undefined;
    if (this.held.lost.signal.aborted) this.leaseLost();
    else this.shutdownRequested();
  }

  /** Someone else holds the shard now: nothing more is written for it, not even a checkpoint. */
  private leaseLost(): void {
    this.log('debug', 'shard stopped: lease lost', { checkpoint: this.held.lease.checkpoint });
  }

  /** The slice in flight was checkpointed; the scheduler releases the lease so another worker takes over at once. */
  private shutdownRequested(): void {
    this.log('debug', 'shard stopped: shutdown requested', { checkpoint: this.held.lease.checkpoint });
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void {
    this.ctx.log(level, message, { shardId: this.shardId, ...fields });
  }
}
