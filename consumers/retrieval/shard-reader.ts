import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ProvisionedThroughputExceededException,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../backoff.ts';

/** Where a shard's reading starts. */
export type StartPosition =
  | { type: 'TRIM_HORIZON' }
  | { type: 'LATEST' }
  | { type: 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string };

export interface ShardBatch {
  records: _Record[];
  millisBehindLatest: number;
  /** The shard is closed and every record in it has been returned. */
  shardEnded: boolean;
}

/**
 * How a shard processor reads one shard, whatever the retrieval (polling or fan-out):
 * wait for `ready` without holding anything, then take `next`; the next batch is not
 * fetched until the caller asks, which is the backpressure.
 */
export interface RecordReader {
  readonly shardId: string;
  /** Resolves when `next` can return without waiting on the read budget or on the service. */
  ready(signal?: AbortSignal): Promise<void>;
  next(signal?: AbortSignal): Promise<ShardBatch>;
  /** Lets go of any connection or subscription; reading stops for good. */
  close(): void;
}

export interface ShardReaderOptions {
  /** Records per GetRecords call (Kinesis allows up to 10,000). */
  limit?: number;
  /** Kinesis allows 5 GetRecords calls per second per shard: at least 200 ms apart. */
  minCallIntervalMs?: number;
  /**
   * The share of the shard's 5 GetRecords calls/s this reader may spend (every polling
   * reader of the stream shares them); sets minCallIntervalMs to 1000 / n when that is unset.
   */
  maxCallsPerSecond?: number;
  /**
   * Idle shards are read less often: each empty response doubles the wait between calls,
   * from the minimum up to this; a response with records returns it to the minimum.
   * Defaults to the minimum (no adaptation).
   */
  maxIdleIntervalMs?: number;
  /** Told of every GetRecords call made and every one throttled. */
  onCall?: () => void;
  onThrottled?: () => void;
  /** Wait before polling again after an empty response; 0 leaves the waiting to the caller. */
  idleBackoffMs?: number;
  /** Nominal first and longest waits after a throttled call (the shared back-off policy, with jitter). */
  throttleBackoffMs?: number;
  maxThrottleBackoffMs?: number;
}

/** Reads one shard in order, within GetRecords limits, surviving throttling and expired iterators. */
export class ShardReader implements RecordReader {
  private iterator: string | undefined;
  private lastSequenceNumber: string | undefined;
  /** When a LATEST iterator was first taken: where to resume if it expires before any record is read. */
  private latestTakenAt: Date | undefined;
  private lastCallAt = 0;
  /** The current wait between calls: the minimum while data flows, longer while the shard is idle. */
  private intervalMs: number;
  private ended = false;
  private readonly closed = new AbortController();
  private readonly opts: Required<Omit<ShardReaderOptions, 'onCall' | 'onThrottled' | 'maxCallsPerSecond'>> & Pick<ShardReaderOptions, 'onCall' | 'onThrottled'>;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly streamName: string,
    readonly shardId: string,
    private readonly start: StartPosition,
    options: ShardReaderOptions = {},
  ) {
    const minCallIntervalMs = options.minCallIntervalMs ?? (options.maxCallsPerSecond ? Math.ceil(1000 / options.maxCallsPerSecond) : 200);
    this.opts = {
      limit: options.limit ?? 10_000,
      minCallIntervalMs,
      maxIdleIntervalMs: Math.max(minCallIntervalMs, options.maxIdleIntervalMs ?? minCallIntervalMs),
      idleBackoffMs: options.idleBackoffMs ?? 1000,
      throttleBackoffMs: options.throttleBackoffMs ?? 250,
      maxThrottleBackoffMs: options.maxThrottleBackoffMs ?? 5000,
      onCall: options.onCall,
      onThrottled: options.onThrottled,
    };
    this.intervalMs = minCallIntervalMs;
  }

  /** The wait between calls now (grows while the shard is idle). */
  get callIntervalMs(): number {
    return this.intervalMs;
  }

  /** Waits until the read budget allows the next GetRecords call. */
  async ready(signal?: AbortSignal): Promise<void> {
    const wait = this.lastCallAt + this.intervalMs - Date.now();
    if (wait > 0 && !this.ended) await sleep(wait, undefined, { signal: this.signal(signal) });
  }

  close(): void {
    this.closed.abort(new Error(`reader of ${this.shardId} closed`));
  }

  private signal(signal: AbortSignal | undefined): AbortSignal {
    return signal ? AbortSignal.any([signal, this.closed.signal]) : this.closed.signal;
  }

  /** An iterator just after the last record read; before any, at the start position. */
  private async freshIterator(signal?: AbortSignal): Promise<string | undefined> {
    let command: GetShardIteratorCommand;
    const base = { StreamName: this.streamName, ShardId: this.shardId };
    if (this.lastSequenceNumber !== undefined) {
      command = new GetShardIteratorCommand({ ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: this.lastSequenceNumber });
    } else if (this.start.type === 'LATEST' && this.latestTakenAt !== undefined) {
      // A second LATEST would skip what arrived since the first one was taken.
      command = new GetShardIteratorCommand({ ...base, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: this.latestTakenAt });
    } else {
      if (this.start.type === 'LATEST') this.latestTakenAt = new Date();
      command = new GetShardIteratorCommand({
        ...base,
        ShardIteratorType: this.start.type,
        StartingSequenceNumber: this.start.type === 'AFTER_SEQUENCE_NUMBER' ? this.start.sequenceNumber : undefined,
      });
    }
    const out = await this.kinesis.send(command, { abortSignal: signal });
    return out.ShardIterator;
  }

  /**
   * Returns the next batch (possibly empty after an idle wait). After `shardEnded` is
   * true, do not call again.
   */
  async next(outer?: AbortSignal): Promise<ShardBatch> {
    const signal = this.signal(outer);
    if (this.ended) return { records: [], millisBehindLatest: 0, shardEnded: true };
    let throttled = 0;
    for (;;) {
      signal?.throwIfAborted();
      if (this.iterator === undefined) {
        this.iterator = await this.freshIterator(signal);
        if (this.iterator === undefined) {
          this.ended = true;
          return { records: [], millisBehindLatest: 0, shardEnded: true };
        }
      }
      await this.ready(signal);
      this.lastCallAt = Date.now();
      this.opts.onCall?.();
      try {
        const out = await this.kinesis.send(
          new GetRecordsCommand({ ShardIterator: this.iterator, Limit: this.opts.limit }),
          { abortSignal: signal },
        );
        const records = out.Records ?? [];
        this.iterator = out.NextShardIterator;
        const last = records[records.length - 1];
        if (last?.SequenceNumber) this.lastSequenceNumber = last.SequenceNumber;
        const shardEnded = out.NextShardIterator === undefined || out.NextShardIterator === null;
        if (shardEnded) this.ended = true;
        // Data (or a shard still behind) reads at full budget; each empty answer halves the rate.
        const behind = (out.MillisBehindLatest ?? 0) > 0;
        this.intervalMs = records.length > 0 || behind ? this.opts.minCallIntervalMs : Math.min(this.intervalMs * 2, this.opts.maxIdleIntervalMs);
        if (records.length === 0 && !shardEnded && this.opts.idleBackoffMs > 0) await sleep(this.opts.idleBackoffMs, undefined, { signal });
        return { records, millisBehindLatest: out.MillisBehindLatest ?? 0, shardEnded };
      } catch (err) {
        if (err instanceof ExpiredIteratorException) {
          this.iterator = undefined;
          continue;
        }
        if (err instanceof ProvisionedThroughputExceededException) {
          throttled++;
          this.opts.onThrottled?.();
          const wait = backoffDelay(throttled, { baseMs: this.opts.throttleBackoffMs, maxMs: this.opts.maxThrottleBackoffMs });
          await sleep(wait, undefined, { signal });
          continue;
        }
        throw err;
      }
    }
  }
}
