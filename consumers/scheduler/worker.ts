import type { KinesisClient, _Record } from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { VpcFlowFormats } from '../../processors/index.ts';
import { LeaseCoordinator, type HeldLease, type LeaseCoordinatorOptions, type LeaseEvent } from '../leases/lease-coordinator.ts';
import { SHARD_END, TRIM_HORIZON, type Lease, type LeaseTable } from '../leases/lease-table.ts';
import { parentsFinished, syncShardLeases } from '../leases/shard-sync.ts';
import { ConsumerMetrics, emptyCounters, LatencySample, type ConsumerCounters } from '../metrics.ts';
import { ShardReader, type ShardReaderOptions, type StartPosition } from '../retrieval/shard-reader.ts';
import type { DeadLetter, DeadLetterSink } from '../sinks/dead-letter.ts';
import type { BulkSink } from '../sinks/opensearch-bulk.ts';
import { prepareBatch, type PreparedBatch } from './batch.ts';
import { InFlightLimit } from './in-flight-limit.ts';

export type LogFunction = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface WorkerOptions {
  workerId: string;
  kinesis: KinesisClient;
  streamName: string;
  leases: LeaseTable;
  bulk: BulkSink;
  deadLetters: DeadLetterSink;
  indexPrefix: string;
  /** Custom VPC flow formats by log group. */
  vpcFlowFormats?: VpcFlowFormats;
  /** GetRecords limits; `idleBackoffMs` is the wait after an empty response (default 1000). */
  reader?: ShardReaderOptions;
  lease?: LeaseCoordinatorOptions;
  /**
   * Batches (one GetRecords response each, ≤ 10 MiB by the Kinesis limit) held at once
   * across all shards; also the number of concurrent _bulk requests. Default 4.
   */
  maxInFlightBatches?: number;
  /** Events whose message is larger are dead-lettered, not indexed. Default 256 KiB (the CloudWatch Logs event limit). */
  maxEventBytes?: number;
  /** NDJSON bytes per delivered batch (≈ one _bulk request); a checkpoint follows each. Default 5 MiB. */
  batchBytes?: number;
  /** First wait between attempts when a batch cannot be delivered (OpenSearch or S3 down). */
  retryDelayMs?: number;
  /** Periodic shard sync (KCL: 60 s); one also runs whenever a shard ends. */
  shardSyncIntervalMs?: number;
  /** How often a child shard checks whether its parents have finished. */
  parentPollMs?: number;
  /** On shutdown, how long batches in flight get to finish before they are abandoned (unchecked-pointed, so re-read later). */
  shutdownTimeoutMs?: number;
  log?: LogFunction;
  metrics?: ConsumerMetrics;
  /** Where end-to-end lag (event time to indexed) is sampled; several workers may share one. */
  lag?: LatencySample;
}

const DEFAULT_BATCH_BYTES = 5 * 1024 * 1024;

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
 * One consumer worker: holds some of the stream's shard leases (shared with any number
 * of workers through the lease table) and for each: records -> documents -> OpenSearch
 * (or dead letters) -> checkpoint. A checkpoint moves only after every record before it
 * is indexed or dead-lettered; a batch that cannot be delivered is retried, never
 * skipped; a lost lease stops its shard at once, with no checkpoint.
 */
export class Worker {
  readonly counters: ConsumerCounters = emptyCounters();
  readonly lag: LatencySample;
  readonly metrics: ConsumerMetrics;
  readonly coordinator: LeaseCoordinator;
  /** Stop reading new batches (graceful shutdown). */
  private readonly stopReading = new AbortController();
  /** Abandon batches in flight (shutdown timeout). */
  private readonly abandon = new AbortController();
  private readonly limit: InFlightLimit;
  private readonly shardLoops = new Set<Promise<void>>();
  private syncLoop: Promise<void> | undefined;
  private wakeSync: (() => void) | undefined;
  private started = false;
  private lastShardSyncAt = 0;

  constructor(private readonly opts: WorkerOptions) {
    this.metrics = opts.metrics ?? new ConsumerMetrics();
    this.lag = opts.lag ?? new LatencySample();
    this.limit = new InFlightLimit(opts.maxInFlightBatches ?? 4);
    this.coordinator = new LeaseCoordinator(
      opts.leases,
      opts.workerId,
      (event) => this.onLeaseEvent(event),
      (what, err) => this.log('warn', `${what} failed`, { error: String(err) }),
      opts.lease,
    );
  }

  get workerId(): string {
    return this.opts.workerId;
  }

  /** Shards being processed now. */
  get heldShards(): string[] {
    return [...this.coordinator.held.keys()].sort();
  }

  /** Healthy while shard sync and lease renewal keep working. */
  health(): { healthy: boolean; workerId: string; leasesHeld: number; lastShardSyncAgeMs: number | null } {
    const age = this.lastShardSyncAt ? Date.now() - this.lastShardSyncAt : null;
    const syncLimit = (this.opts.shardSyncIntervalMs ?? 60_000) * 3;
    return {
      healthy: this.started && !this.stopReading.signal.aborted && age !== null && age < syncLimit,
      workerId: this.opts.workerId,
      leasesHeld: this.coordinator.held.size,
      lastShardSyncAgeMs: age,
    };
  }

  async start(): Promise<void> {
    await this.opts.leases.ensureTable();
    await this.syncShards();
    this.coordinator.start();
    this.syncLoop = this.runShardSync();
    this.started = true;
    this.log('info', 'worker started', { streamName: this.opts.streamName, leaseTable: this.opts.leases.tableName });
  }

  /**
   * Graceful shutdown: takes no more leases, stops reading, lets batches in flight finish
   * and checkpoint (up to shutdownTimeoutMs), then releases every lease so other workers
   * take them at once.
   */
  async stop(): Promise<void> {
    if (this.stopReading.signal.aborted) return;
    this.coordinator.stopTaking();
    this.stopReading.abort();
    this.wakeSync?.();
    await this.syncLoop;
    const timeout = setTimeout(() => this.abandon.abort(new Error('shutdown timeout')), this.opts.shutdownTimeoutMs ?? 20_000);
    try {
      while (this.shardLoops.size > 0) await Promise.all(this.shardLoops);
    } finally {
      clearTimeout(timeout);
    }
    const released: string[] = [];
    for (const shardId of [...this.coordinator.held.keys()]) {
      try {
        if (await this.coordinator.release(shardId)) released.push(shardId);
      } catch (err) {
        this.log('warn', 'lease not released; it will expire instead', { shardId, error: String(err) });
      }
    }
    await this.coordinator.stop();
    this.metrics.leasesHeld.set(0);
    this.log('info', 'worker stopped', { released });
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void {
    this.opts.log?.(level, message, { workerId: this.opts.workerId, ...fields });
  }

  private onLeaseEvent(event: LeaseEvent): void {
    const m = this.metrics;
    m.leasesHeld.set(this.coordinator.held.size);
    if (event.type === 'lost') {
      m.leaseEvents.inc({ event: 'lost' });
      m.forgetShard(event.leaseKey);
      this.log('warn', 'lease lost; shard stopped without checkpoint', { shardId: event.leaseKey, reason: event.reason });
      return;
    }
    m.leaseEvents.inc({ event: event.how });
    this.log('info', 'lease acquired', { shardId: event.lease.leaseKey, how: event.how, from: event.from, checkpoint: event.lease.checkpoint });
    const held = this.coordinator.held.get(event.lease.leaseKey)!;
    const loop = this.processShard(held).finally(() => this.shardLoops.delete(loop));
    this.shardLoops.add(loop);
  }

  private async runShardSync(): Promise<void> {
    const interval = this.opts.shardSyncIntervalMs ?? 60_000;
    while (!this.stopReading.signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval);
        this.wakeSync = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (this.stopReading.signal.aborted) return;
      try {
        await this.syncShards();
      } catch (err) {
        this.log('warn', 'shard sync failed', { error: String(err) });
      }
    }
  }

  private async syncShards(): Promise<void> {
    const result = await syncShardLeases(this.opts.kinesis, this.opts.streamName, this.opts.leases);
    this.lastShardSyncAt = Date.now();
    if (result.created.length > 0 || result.cleaned.length > 0) {
      this.log('info', 'shard sync', { shards: result.shards, created: result.created, cleaned: result.cleaned });
    }
  }

  /** Waits until every parent shard is checkpointed at SHARD_END; false if stopped first. */
  private async awaitParents(lease: Lease, signal: AbortSignal): Promise<boolean> {
    let logged = false;
    while (!signal.aborted) {
      const parents = new Map<string, Lease | undefined>();
      for (const p of lease.parentShardIds) parents.set(p, await this.opts.leases.get(p));
      if (parentsFinished(lease, parents)) return true;
      if (!logged) {
        logged = true;
        this.log('info', 'waiting for parent shards to finish', { shardId: lease.leaseKey, parentShardIds: lease.parentShardIds });
      }
      try {
        await sleep(this.opts.parentPollMs ?? 1000, undefined, { signal });
      } catch {
        return false;
      }
    }
    return false;
  }

  private async processShard(held: HeldLease): Promise<void> {
    const shardId = held.lease.leaseKey;
    const lost = held.lost.signal;
    const reading = AbortSignal.any([lost, this.stopReading.signal]);
    const idleBackoffMs = this.opts.reader?.idleBackoffMs ?? 1000;
    let failures = 0;
    while (!reading.aborted) {
      try {
        if (!(await this.awaitParents(held.lease, reading))) return;
        if (held.lease.checkpoint === SHARD_END) {
          this.coordinator.forget(shardId);
          return;
        }
        const reader = new ShardReader(this.opts.kinesis, this.opts.streamName, shardId, startPosition(held.lease.checkpoint), {
          ...this.opts.reader,
          idleBackoffMs: 0,
        });
        this.log('info', 'shard reading', { shardId, parentShardIds: held.lease.parentShardIds, checkpoint: held.lease.checkpoint, at: Date.now() });
        for (;;) {
          const ended = await this.readOnce(reader, held, reading);
          failures = 0;
          if (ended === 'stopped') return;
          if (ended === 'shard-end') {
            this.wakeSync?.();
            return;
          }
          if (ended === 'idle') await sleep(idleBackoffMs, undefined, { signal: reading });
        }
      } catch (err) {
        if (reading.aborted) return;
        // Kinesis or DynamoDB unreachable: read again from the lease's checkpoint after a pause.
        failures++;
        const delay = Math.min((this.opts.retryDelayMs ?? 1000) * 2 ** Math.min(failures - 1, 5), 30_000);
        this.log('error', 'shard processing failed; restarting from its checkpoint', { shardId, error: String(err), retryInMs: delay });
        try {
          await sleep(delay, undefined, { signal: reading });
        } catch {
          return;
        }
      }
    }
  }

  /** One GetRecords response, delivered in slices with a checkpoint after each. */
  private async readOnce(reader: ShardReader, held: HeldLease, reading: AbortSignal): Promise<'stopped' | 'idle' | 'more' | 'shard-end'> {
    const shardId = held.lease.leaseKey;
    await this.limit.acquire(reading);
    let bytes = 0;
    try {
      const batch = await reader.next(reading);
      const records = batch.records;
      bytes = recordBytes(records);
      this.metrics.inFlightBytes.inc(bytes);
      this.metrics.millisBehindLatest.set({ shard: shardId }, batch.millisBehindLatest);
      const newest = records.at(-1)?.ApproximateArrivalTimestamp;
      this.metrics.arrivalLag.set({ shard: shardId }, newest ? Math.max(0, (Date.now() - newest.getTime()) / 1000) : 0);
      for (let from = 0; from < records.length; ) {
        const prepared = prepareBatch(records, this.opts.streamName, shardId, {
          indexPrefix: this.opts.indexPrefix,
          vpcFlowFormats: this.opts.vpcFlowFormats,
          from,
          maxBytes: this.opts.batchBytes ?? DEFAULT_BATCH_BYTES,
          maxEventBytes: this.opts.maxEventBytes,
        });
        from += prepared.records;
        if (!(await this.deliver(held, prepared))) return 'stopped';
        // A graceful stop lets the slice in flight finish, then stops; the rest is re-read by the next owner.
        if (this.stopReading.signal.aborted && from < records.length) return 'stopped';
      }
      if (batch.shardEnded) {
        const at = Date.now();
        if (!(await this.coordinator.checkpoint(shardId, SHARD_END))) return 'stopped';
        this.coordinator.forget(shardId);
        this.metrics.leasesHeld.set(this.coordinator.held.size);
        this.metrics.forgetShard(shardId);
        this.log('info', 'shard finished', { shardId, at });
        return 'shard-end';
      }
      return records.length === 0 ? 'idle' : 'more';
    } finally {
      this.metrics.inFlightBytes.dec(bytes);
      this.limit.release();
    }
  }

  /**
   * Delivers one batch completely, then checkpoints its last record; retries until it can.
   * Returns false, without a checkpoint, when the lease is lost or the batch is abandoned.
   */
  private async deliver(held: HeldLease, prepared: PreparedBatch): Promise<boolean> {
    const shardId = held.lease.leaseKey;
    const signal = AbortSignal.any([held.lost.signal, this.abandon.signal]);
    const created = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      try {
        // A retry resends every document: ids make the copies indexed last time a harmless 409.
        const outcome = await this.opts.bulk.write(prepared.documents, signal);
        for (const d of outcome.created) created.add(d.id);
        const letters: DeadLetter[] = [...prepared.deadLetters];
        for (const r of outcome.rejected) {
          const origin = r.document.origin;
          const event = origin?.event;
          letters.push({
            reason: `index ${r.status}: ${r.reason}`,
            stage: 'index',
            streamName: this.opts.streamName,
            shardId,
            sequenceNumber: origin?.record.sequenceNumber ?? '',
            envelope: origin?.record.envelope,
            event: event && { id: event.id, timestamp: event.timestamp, message: event.message },
            document: { index: r.document.index, id: r.document.id, body: r.document.body },
            status: r.status,
            arrivedAt: origin?.record.arrivedAt,
            at: new Date().toISOString(),
          });
        }
        signal.throwIfAborted();
        await this.opts.deadLetters.write(letters);
        const firstOfChild = held.lease.checkpoint === TRIM_HORIZON && held.lease.parentShardIds.length > 0;
        if (!(await this.coordinator.checkpoint(shardId, prepared.lastSequenceNumber))) return false;
        // A child has started: its finished parents' leases can go now, not at the next periodic sync.
        if (firstOfChild) this.wakeSync?.();
        this.count(shardId, prepared, outcome, letters, created);
        return true;
      } catch (err) {
        if (signal.aborted) return false;
        this.metrics.deliveryRetries.inc();
        const delay = Math.min((this.opts.retryDelayMs ?? 1000) * 2 ** Math.min(attempt - 1, 5), 30_000);
        this.log('warn', 'batch not delivered; retrying without moving the checkpoint', {
          shardId,
          attempt,
          error: String(err),
          retryInMs: delay,
        });
        try {
          await sleep(delay, undefined, { signal });
        } catch {
          return false;
        }
      }
    }
  }

  private count(
    shardId: string,
    prepared: PreparedBatch,
    outcome: Awaited<ReturnType<BulkSink['write']>>,
    letters: DeadLetter[],
    created: Set<string>,
  ): void {
    const c = this.counters;
    const m = this.metrics;
    const now = Date.now();
    const duplicates = prepared.documents.length - created.size - outcome.rejected.length;
    c.recordsIn += prepared.records;
    c.controlDropped += prepared.controlDropped;
    c.eventsIn += prepared.documents.length;
    c.created += created.size;
    c.duplicates += duplicates;
    c.deadLettered += letters.length;
    c.checkpoints++;
    m.recordsIn.inc({ shard: shardId }, prepared.records);
    m.eventsIn.inc(prepared.documents.length);
    m.duplicates.inc(duplicates);
    if (prepared.controlDropped > 0) m.dropped.inc({ reason: 'control_message' }, prepared.controlDropped);
    for (const l of prepared.deadLetters) m.deadLettered.inc({ stage: l.stage });
    if (outcome.rejected.length > 0) m.deadLettered.inc({ stage: 'index' }, outcome.rejected.length);
    m.checkpoints.inc();
    const rejected = new Set(outcome.rejected.map((r) => r.document));
    const createdBySource = new Map<string, number>();
    for (const d of prepared.documents) {
      if (rejected.has(d)) continue;
      c.indexedBySource[d.source]++;
      if (created.has(d.id)) createdBySource.set(d.source, (createdBySource.get(d.source) ?? 0) + 1);
      this.lag.add(now - d.eventTimestamp);
    }
    for (const [source, n] of createdBySource) m.indexed.inc({ source }, n);
  }
}
