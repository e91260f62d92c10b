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

export interface ShardReaderOptions {
  /** Records per GetRecords call (Kinesis allows up to 10,000). */
  limit?: number;
  /** Kinesis allows 5 GetRecords calls per second per shard: at least 200 ms apart. */
  minCallIntervalMs?: number;
  /** Wait before polling again after an empty response; 0 leaves the waiting to the caller. */
  idleBackoffMs?: number;
  /** Nominal first and longest waits after a throttled call (the shared back-off policy, with jitter). */
  throttleBackoffMs?: number;
  maxThrottleBackoffMs?: number;
}

/** Reads one shard in order, within GetRecords limits, surviving throttling and expired iterators. */
export class ShardReader {
  private iterator: string | undefined;
  private lastSequenceNumber: string | undefined;
  /** When a LATEST iterator was first taken: where to resume if it expires before any record is read. */
  private latestTakenAt: Date | undefined;
  private lastCallAt = 0;
  private ended = false;
  private readonly opts: Required<ShardReaderOptions>;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly streamName: string,
    readonly shardId: string,
    private readonly start: StartPosition,
    options: ShardReaderOptions = {},
  ) {
    this.opts = {
      limit: options.limit ?? 10_000,
      minCallIntervalMs: options.minCallIntervalMs ?? 200,
      idleBackoffMs: options.idleBackoffMs ?? 1000,
      throttleBackoffMs: options.throttleBackoffMs ?? 250,
      maxThrottleBackoffMs: options.maxThrottleBackoffMs ?? 5000,
    };
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
  async next(signal?: AbortSignal): Promise<ShardBatch> {
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
      const wait = this.lastCallAt + this.opts.minCallIntervalMs - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal });
      this.lastCallAt = Date.now();
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
        if (records.length === 0 && !shardEnded && this.opts.idleBackoffMs > 0) await sleep(this.opts.idleBackoffMs, undefined, { signal });
        return { records, millisBehindLatest: out.MillisBehindLatest ?? 0, shardEnded };
      } catch (err) {
        if (err instanceof ExpiredIteratorException) {
          this.iterator = undefined;
          continue;
        }
        if (err instanceof ProvisionedThroughputExceededException) {
          throttled++;
          const wait = backoffDelay(throttled, { baseMs: this.opts.throttleBackoffMs, maxMs: this.opts.maxThrottleBackoffMs });
          await sleep(wait, undefined, { signal });
          continue;
        }
        throw err;
      }
    }
  }
}
