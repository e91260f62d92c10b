import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { ConsumerMetrics } from '../metrics.ts';
import { ShardReader, type RecordReader, type ShardReaderOptions, type StartPosition } from './shard-reader.ts';

/** What a reader is opened with, besides its shard and start. */
export interface ReaderContext {
  /** Aborts when the shard's processing stops (lease lost, shutdown): the reader lets go. */
  signal: AbortSignal;
  metrics?: ConsumerMetrics;
}

/** How records reach the shard processors: one reader per held lease. */
export interface Retrieval {
  readonly kind: 'polling' | 'fanout';
  open(shardId: string, start: StartPosition, ctx: ReaderContext): RecordReader;
}

/**
 * GetRecords within a per-shard budget. Every polling reader of a shard (this consumer,
 * Firehose, any other) shares its 5 calls/s and 2 MB/s, so this one spends only
 * `maxCallsPerSecond` of them, and fewer while the shard is idle.
 */
export class PollingRetrieval implements Retrieval {
  readonly kind = 'polling';

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly streamName: string,
    private readonly options: ShardReaderOptions = {},
  ) {}

  open(shardId: string, start: StartPosition, ctx: ReaderContext): RecordReader {
    const { metrics } = ctx;
    const reader = new ShardReader(this.kinesis, this.streamName, shardId, start, {
      ...this.options,
      // The idle wait is the adaptive interval, taken in ready() where nothing is held.
      maxIdleIntervalMs: this.options.maxIdleIntervalMs ?? this.options.idleBackoffMs ?? 1000,
      idleBackoffMs: 0,
      onCall: () => metrics?.readCalls.inc({ shard: shardId, call: 'GetRecords' }),
      onThrottled: () => metrics?.readThrottles.inc({ shard: shardId }),
    });
    ctx.signal.addEventListener('abort', () => reader.close(), { once: true });
    return reader;
  }
}
