import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DocumentOptions, VpcFlowFormats } from '../../processors/index.ts';
import { MAX_EVENT_BYTES } from '../consumer-options.ts';
import { LeaseCoordinator, type LeaseCoordinatorOptions, type LeaseEvent } from '../leases/lease-coordinator.ts';
import type { LeaseTable } from '../leases/lease-table.ts';
import { syncShardLeases } from '../leases/shard-sync.ts';
import { ConsumerMetrics, LatencySample, type ConsumerCounters } from '../metrics.ts';
import type { Retrieval } from '../retrieval/polling.ts';
import type { ShardReaderOptions } from '../retrieval/shard-reader.ts';
import type { Alerting } from '../alerts/index.ts';
import type { DeadLetterSink } from '../sinks/dead-letter.ts';
import type { BulkSink } from '../sinks/opensearch-bulk.ts';
import type { RefusalCause } from '../sinks/refusals.ts';
import { Accounting } from './accounting.ts';
import { RefusalBreaker, type BreakerOptions } from './breaker.ts';
import { BatchDelivery } from './delivery.ts';
import { InFlightLimit } from './in-flight-limit.ts';
import { ShardProcessor, type LogFunction, type ShardProcessorContext } from './shard-processor.ts';

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
  /** Further document rules (index window and budget), passed to every batch as they are. */
  documents?: DocumentOptions;
  /** GetRecords limits; `idleBackoffMs` is the wait after an empty response (default 1000). */
  reader?: ShardReaderOptions;
  /** How shards are read: polling within `reader`'s budget unless given (enhanced fan-out). */
  retrieval?: Retrieval;
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
  /** First wait between attempts when a batch cannot be delivered (OpenSearch or S3 down, or refusing every write). */
  retryDelayMs?: number;
  /** When a flood of one document error pauses a shard instead of being dead-lettered. */
  breaker?: BreakerOptions;
  /** Periodic shard sync (KCL: 60 s); one also runs whenever a shard ends. */
  shardSyncIntervalMs?: number;
  /** How often a child shard checks whether its parents have finished. */
  parentPollMs?: number;
  /** On shutdown, how long batches in flight get to finish before they are abandoned (unchecked-pointed, so re-read later). */
  shutdownTimeoutMs?: number;
  log?: LogFunction;
  metrics?: ConsumerMetrics;
  /** Detections on every delivered batch, and the sweep publishing alerts SNS refused earlier. */
  alerting?: Alerting;
  /** Where end-to-end lag (event time to indexed) is sampled; several workers may share one. */
  lag?: LatencySample;
}

/** Why a worker is degraded: shards holding batches that OpenSearch refuses for one cause. */
export interface DegradedReason {
  cause: RefusalCause;
  index?: string;
  reason: string;
  advice: string;
  shards: string[];
  pausedForMs: number;
}

/** What /healthz reports for a worker (a type, not an interface, so it fits HealthReport). */
export type WorkerHealth = {
  healthy: boolean;
  status: 'ok' | 'degraded' | 'unhealthy';
  workerId: string;
  leasesHeld: number;
  lastShardSyncAgeMs: number | null;
  /** Since the lease table was last read; unhealthy past twice failoverTime. */
  leaseTableAgeMs: number | null;
  degraded?: DegradedReason[];
};

/**
 * The scheduler of one consumer worker: takes shard leases (shared with any number of
 * workers through the lease table), starts a ShardProcessor for each lease it gains, keeps
 * the lease table in step with the stream's shards, and shuts down gracefully. It
 * schedules; the processors read, deliver and checkpoint.
 */
export class Worker {
  readonly metrics: ConsumerMetrics;
  readonly coordinator: LeaseCoordinator;
  private readonly accounting: Accounting;
  /** Stop reading new batches (graceful shutdown). */
  private readonly stopReading = new AbortController();
  /** Abandon batches in flight (shutdown timeout). */
  private readonly abandon = new AbortController();
  private readonly context: ShardProcessorContext;
  private readonly processors = new Set<Promise<void>>();
  private syncLoop: Promise<void> | undefined;
  private wakeSync: (() => void) | undefined;
  private started = false;
  private lastShardSyncAt = 0;

  constructor(private readonly opts: WorkerOptions) {
    this.metrics = opts.metrics ?? new ConsumerMetrics();
    this.accounting = new Accounting(this.metrics, opts.lag ?? new LatencySample());
    this.coordinator = new LeaseCoordinator(
      opts.leases,
      opts.workerId,
      (event) => this.onLeaseEvent(event),
      (what, err) => this.log('warn', `${what} failed`, { error: String(err) }),
      opts.lease,
    );
    this.context = {
      kinesis: opts.kinesis,
      streamName: opts.streamName,
      leases: opts.leases,
      coordinator: this.coordinator,
      limit: new InFlightLimit(opts.maxInFlightBatches ?? 4),
      delivery: new BatchDelivery(opts.bulk, opts.deadLetters, opts.streamName, new RefusalBreaker(opts.breaker), opts.alerting),
      accounting: this.accounting,
      indexPrefix: opts.indexPrefix,
      vpcFlowFormats: opts.vpcFlowFormats,
      documents: opts.documents,
      detect: opts.alerting && ((doc) => opts.alerting!.alertsFor(doc)),
      reader: opts.reader,
      retrieval: opts.retrieval,
      batchBytes: opts.batchBytes ?? 5 * 1024 * 1024,
      maxEventBytes: opts.maxEventBytes ?? MAX_EVENT_BYTES,
      retry: { baseMs: opts.retryDelayMs ?? 1000, maxMs: 30_000 },
      parentPollMs: opts.parentPollMs ?? 1000,
      stopReading: this.stopReading.signal,
      abandon: this.abandon.signal,
      requestShardSync: () => this.wakeSync?.(),
      log: (level, message, fields) => this.log(level, message, fields),
    };
  }

  get workerId(): string {
    return this.opts.workerId;
  }

  /** What this worker has done; every record read ends in exactly one of these. */
  get counters(): ConsumerCounters {
    return this.accounting.counters;
  }

  get lag(): LatencySample {
    return this.accounting.lag;
  }

  /** Shards being processed now. */
  get heldShards(): string[] {
    return [...this.coordinator.held.keys()].sort();
  }

  /**
   * Healthy while shard sync and lease renewal keep working; degraded (still healthy: a
   * restart would not help) while shards hold batches OpenSearch refuses systemically,
   * with each cause, what to do and which shards wait.
   */
  health(): WorkerHealth {
    const now = Date.now();
    const age = this.lastShardSyncAt ? now - this.lastShardSyncAt : null;
    const syncLimit = (this.opts.shardSyncIntervalMs ?? 60_000) * 3;
    // Leases are lost after failoverTime without the table; twice that without a scan is no transient blip.
    const leaseTableAge = this.coordinator.lastScanAt ? now - this.coordinator.lastScanAt : null;
    const leaseTableOk = leaseTableAge !== null && leaseTableAge < this.coordinator.failoverTimeMs * 2;
    const healthy = this.started && !this.stopReading.signal.aborted && age !== null && age < syncLimit && leaseTableOk;
    const degraded = new Map<string, DegradedReason>();
    for (const pause of this.accounting.paused) {
      const r = pause.refusals[0];
      if (!r) continue;
      const key = `${r.cause}\n${r.index ?? ''}\n${r.advice}`;
      const entry = degraded.get(key) ?? { cause: r.cause, index: r.index, reason: r.reason, advice: r.advice, shards: [], pausedForMs: 0 };
      entry.shards.push(pause.shardId);
      entry.pausedForMs = Math.max(entry.pausedForMs, Date.now() - pause.since);
      degraded.set(key, entry);
    }
    return {
      healthy,
      status: !healthy ? 'unhealthy' : degraded.size > 0 ? 'degraded' : 'ok',
      workerId: this.opts.workerId,
      leasesHeld: this.coordinator.held.size,
      lastShardSyncAgeMs: age,
      leaseTableAgeMs: leaseTableAge,
      ...(degraded.size > 0 ? { degraded: [...degraded.values()] } : {}),
    };
  }

  async start(): Promise<void> {
    await this.opts.leases.ensureTable();
    await this.syncShards();
    this.coordinator.start();
    this.syncLoop = this.runShardSync();
    this.opts.alerting?.start();
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
      while (this.processors.size > 0) await Promise.all(this.processors);
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
    // After the batches: their alerts are written and their publications queued by now.
    await this.opts.alerting?.stop();
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
    const run = new ShardProcessor(held, this.context).run().finally(() => this.processors.delete(run));
    this.processors.add(run);
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
}
