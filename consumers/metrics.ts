import type { SourceType } from '../processors/index.ts';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Keeps a bounded uniform sample of values (reservoir sampling) for percentiles. */
export class LatencySample {
  private readonly values: number[] = [];
  private seen = 0;

  constructor(private readonly capacity = 20_000) {}

  add(value: number): void {
    this.seen++;
    if (this.values.length < this.capacity) this.values.push(value);
    else {
      const slot = Math.floor(Math.random() * this.seen);
      if (slot < this.capacity) this.values[slot] = value;
    }
  }

  get count(): number {
    return this.seen;
  }

  /** The p-th percentile (0-100) by nearest rank; undefined when empty. */
  percentile(p: number): number | undefined {
    if (this.values.length === 0) return undefined;
    const sorted = [...this.values].sort((a, b) => a - b);
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[rank];
  }
}

/** What the consumer has done: every record ends in exactly one of these. */
export interface ConsumerCounters {
  recordsIn: number;
  /** CONTROL_MESSAGE records dropped (counted, not lost). */
  controlDropped: number;
  /** Records the Firehose transform put back into the stream: indexed already from the original, so skipped. */
  reingestedSkipped: number;
  /** Log events made into documents. */
  eventsIn: number;
  /** Documents created in OpenSearch: each event at most once across the fleet. */
  created: number;
  /** 409 on create: already indexed, so not indexed twice. */
  duplicates: number;
  deadLettered: number;
  /** Documents created, by source (409s are counted in `duplicates`, not here). */
  indexedBySource: Record<SourceType, number>;
  checkpoints: number;
}

export function emptyCounters(): ConsumerCounters {
  return {
    recordsIn: 0,
    controlDropped: 0,
    reingestedSkipped: 0,
    eventsIn: 0,
    created: 0,
    duplicates: 0,
    deadLettered: 0,
    indexedBySource: { cloudtrail: 0, vpcflow: 0, guardduty: 0, elb: 0, cloudwatch_logs: 0 },
    checkpoints: 0,
  };
}

/** Several workers' counters added up. */
export function sumCounters(all: ConsumerCounters[]): ConsumerCounters {
  const total = emptyCounters();
  for (const c of all) {
    total.recordsIn += c.recordsIn;
    total.controlDropped += c.controlDropped;
    total.reingestedSkipped += c.reingestedSkipped;
    total.eventsIn += c.eventsIn;
    total.created += c.created;
    total.duplicates += c.duplicates;
    total.deadLettered += c.deadLettered;
    total.checkpoints += c.checkpoints;
    for (const k of Object.keys(total.indexedBySource) as SourceType[]) total.indexedBySource[k] += c.indexedBySource[k];
  }
  return total;
}

/**
 * The consumer's Prometheus metrics, one registry per worker so several workers in one
 * process (the demo, tests) never mix their numbers.
 */
export class ConsumerMetrics {
  readonly registry = new Registry();
  readonly recordsIn = new Counter({ name: 'centralog_consumer_records_in_total', help: 'Kinesis records read', labelNames: ['shard'], registers: [this.registry] });
  readonly eventsIn = new Counter({ name: 'centralog_consumer_events_in_total', help: 'Log events decoded into documents', registers: [this.registry] });
  readonly indexed = new Counter({ name: 'centralog_consumer_documents_indexed_total', help: 'Documents created in OpenSearch, by source', labelNames: ['source'], registers: [this.registry] });
  readonly duplicates = new Counter({ name: 'centralog_consumer_documents_duplicate_total', help: 'Documents already indexed (409 on create): retries and replays, not indexed twice', registers: [this.registry] });
  readonly dropped = new Counter({ name: 'centralog_consumer_dropped_total', help: 'Records dropped on purpose, by reason (control_message, reingested)', labelNames: ['reason'], registers: [this.registry] });
  readonly deadLettered = new Counter({ name: 'centralog_consumer_dead_lettered_total', help: 'Records or documents written to S3 dead letters, by stage', labelNames: ['stage'], registers: [this.registry] });
  readonly checkpoints = new Counter({ name: 'centralog_consumer_checkpoints_total', help: 'Checkpoints written', registers: [this.registry] });
  readonly bulkLatency = new Histogram({
    name: 'centralog_consumer_bulk_request_duration_seconds',
    help: 'OpenSearch _bulk request latency',
    labelNames: ['outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly leasesHeld = new Gauge({ name: 'centralog_consumer_leases_held', help: 'Shard leases this worker holds', registers: [this.registry] });
  readonly leaseEvents = new Counter({ name: 'centralog_consumer_lease_events_total', help: 'Leases acquired (by how) and lost', labelNames: ['event'], registers: [this.registry] });
  readonly millisBehindLatest = new Gauge({ name: 'centralog_consumer_shard_millis_behind_latest', help: 'MillisBehindLatest of the last GetRecords, per shard', labelNames: ['shard'], registers: [this.registry] });
  readonly arrivalLag = new Gauge({
    name: 'centralog_consumer_shard_arrival_lag_seconds',
    help: 'Now minus ApproximateArrivalTimestamp of the last record read, per shard (0 when caught up)',
    labelNames: ['shard'],
    registers: [this.registry],
  });
  readonly readCalls = new Counter({
    name: 'centralog_consumer_read_calls_total',
    help: 'Kinesis read calls made, per shard and call (GetRecords when polling, SubscribeToShard with fan-out)',
    labelNames: ['shard', 'call'],
    registers: [this.registry],
  });
  readonly readThrottles = new Counter({
    name: 'centralog_consumer_read_throttles_total',
    help: "Reads refused with ProvisionedThroughputExceededException per shard: the shard's 5 GetRecords calls/s or 2 MB/s are spent (shared with Firehose and every other polling reader)",
    labelNames: ['shard'],
    registers: [this.registry],
  });
  readonly inFlightBytes = new Gauge({ name: 'centralog_consumer_in_flight_bytes', help: 'Bytes of Kinesis record data held in memory', registers: [this.registry] });
  readonly documentsRedirected = new Counter({
    name: 'centralog_consumer_documents_redirected_total',
    help: "Documents indexed under the ingest day's index instead of their event day's, by reason (event_time_out_of_range, index_cap_reached) and source",
    labelNames: ['reason', 'source'],
    registers: [this.registry],
  });
  readonly accountMismatches = new Counter({
    name: 'centralog_consumer_account_mismatches_total',
    help: "CloudTrail events claiming an account other than their log group owner's (tagged account_mismatch)",
    registers: [this.registry],
  });
  readonly deliveryRetries = new Counter({ name: 'centralog_consumer_delivery_retries_total', help: 'Batches retried because OpenSearch or S3 could not take them', registers: [this.registry] });
  readonly systemicRefusals = new Counter({
    name: 'centralog_consumer_systemic_refusals_total',
    help: 'Batch attempts held, not dead-lettered, because OpenSearch refused writes for a reason outside the documents (or the breaker saw a flood of one document error), by cause',
    labelNames: ['cause'],
    registers: [this.registry],
  });
  readonly pausedShards = new Gauge({
    name: 'centralog_consumer_paused_shards',
    help: 'Shards holding a batch until a systemic refusal is gone, by cause',
    labelNames: ['cause'],
    registers: [this.registry],
  });

  /** Drops a shard's per-shard series once this worker stops reading it. */
  forgetShard(shardId: string): void {
    this.millisBehindLatest.remove(shardId);
    this.arrivalLag.remove(shardId);
  }
}
