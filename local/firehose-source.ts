import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import { listShards, ShardReader } from '../consumers/index.ts';
import type { QueuedRecord } from './firehose-invocation.ts';

export interface KinesisSourceOptions {
  kinesis: KinesisClient;
  streamName: string;
  /** Firehose polls each shard about once per second. */
  pollIntervalMs: number;
  /** Kinesis gives each shard 2 MB/s of reads, shared by every reader of the stream. */
  maxReadBytesPerSecond: number;
  /** Reading pauses while this much record data waits for delivery. */
  maxQueuedBytes: number;
  /** Called after each GetRecords with what it returned. */
  onRead: (records: number, bytes: number) => void;
  /** Called once when a reader stops on an error. */
  onError: (reason: string) => void;
}

/** Resolves on notify() or after `ms`, whichever comes first. */
class Wakeup {
  private waiters: Array<() => void> = [];
  notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve();
      }, Math.max(1, ms));
      this.waiters.push(wake);
    });
  }
}

/**
 * Firehose's side of a Kinesis source: every shard polled from TRIM_HORIZON within its
 * read limits (a child after its parents), into one queue in arrival order, and no
 * further ahead of delivery than `maxQueuedBytes`.
 */
export class KinesisSource {
  private readonly reading = new AbortController();
  private readonly readers = new Map<string, Promise<void>>();
  private readonly finishedShards = new Set<string>();
  private queue: QueuedRecord[] = [];
  private bytes = 0;
  private readonly queued = new Wakeup();
  private readonly room = new Wakeup();

  constructor(private readonly opts: KinesisSourceOptions) {}

  get queuedBytes(): number {
    return this.bytes;
  }

  /** When the oldest queued record arrived, if any is queued. */
  get oldestEnqueuedAt(): number | undefined {
    return this.queue[0]?.enqueuedAt;
  }

  async start(): Promise<void> {
    await this.startReaders();
  }

  /** Stops every reader; what is queued stays for take(). */
  async stop(): Promise<void> {
    this.reading.abort();
    this.room.notify();
    this.queued.notify();
    for (let n = -1; n !== this.readers.size; ) {
      n = this.readers.size;
      await Promise.all(this.readers.values());
    }
  }

  /** Waits until records are queued (or `ms` passes). */
  waitForRecords(ms: number): Promise<void> {
    return this.queued.wait(ms);
  }

  /** Wakes anyone waiting for records (a stop or a failure elsewhere). */
  wake(): void {
    this.queued.notify();
    this.room.notify();
  }

  /** Takes records from the front up to `maxBytes`: at least one, even one larger than that. */
  take(maxBytes: number): QueuedRecord[] {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.bytes <= maxBytes)) bytes += this.queue[n++]!.bytes;
    const batch = this.queue.splice(0, n);
    this.bytes -= bytes;
    this.room.notify();
    return batch;
  }

  /** Starts a reader per shard whose listed parents are read to their end, so a child follows its parents. */
  private async startReaders(): Promise<void> {
    const shards: Shard[] = await listShards(this.opts.kinesis, this.opts.streamName);
    const listed = new Set(shards.map((s) => s.ShardId!));
    for (const shard of shards) {
      const id = shard.ShardId!;
      if (this.readers.has(id)) continue;
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => !!p && listed.has(p));
      if (parents.every((p) => this.finishedShards.has(p))) this.readers.set(id, this.readShard(id));
    }
  }

  private async readShard(shardId: string): Promise<void> {
    const { kinesis, streamName, pollIntervalMs, maxReadBytesPerSecond, maxQueuedBytes } = this.opts;
    const signal = this.reading.signal;
    // Calls are paced here; the reader keeps its back-off on throttling and expired iterators.
    const reader = new ShardReader(kinesis, streamName, shardId, { type: 'TRIM_HORIZON' }, { minCallIntervalMs: 0, idleBackoffMs: 0 });
    try {
      let nextCallAt = 0;
      while (!signal.aborted) {
        // Firehose reads no faster than it delivers: a slow transform leaves records in the stream.
        while (this.bytes >= maxQueuedBytes && !signal.aborted) await this.room.wait(1000);
        const wait = nextCallAt - Date.now();
        if (wait > 0) await sleep(wait, undefined, { signal });
        signal.throwIfAborted();
        const calledAt = Date.now();
        const batch = await reader.next(signal);
        let bytes = 0;
        for (const record of batch.records) {
          const size = record.Data?.byteLength ?? 0;
          bytes += size;
          this.queue.push({ record, shardId, bytes: size, enqueuedAt: Date.now() });
        }
        this.bytes += bytes;
        this.opts.onRead(batch.records.length, bytes);
        if (batch.records.length > 0) this.queued.notify();
        // A large response spends the shard's 2 MB/s for longer than one poll interval (counted
        // from its arrival: the call itself may have waited for an iterator first).
        nextCallAt = Math.max(calledAt + pollIntervalMs, Date.now() + (bytes / maxReadBytesPerSecond) * 1000);
        if (batch.shardEnded) {
          this.finishedShards.add(shardId);
          await this.startReaders();
          return;
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      this.opts.onError(`reading shard ${shardId} of ${streamName} failed: ${(err as Error).message}`);
    }
  }
}
