import type { SourceType } from '../processors/index.ts';

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
  /** Log events made into documents. */
  eventsIn: number;
  created: number;
  /** 409 on create: already indexed, so not indexed twice. */
  duplicates: number;
  deadLettered: number;
  indexedBySource: Record<SourceType, number>;
  checkpoints: number;
}

export function emptyCounters(): ConsumerCounters {
  return {
    recordsIn: 0,
    controlDropped: 0,
    eventsIn: 0,
    created: 0,
    duplicates: 0,
    deadLettered: 0,
    indexedBySource: { cloudtrail: 0, vpcflow: 0, guardduty: 0, cloudwatch_logs: 0 },
    checkpoints: 0,
  };
}
