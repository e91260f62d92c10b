import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CheckpointStore } from '../checkpoint/checkpoint-store.ts';
import { SHARD_END } from '../checkpoint/checkpoint-store.ts';
import { emptyCounters, LatencySample, type ConsumerCounters } from '../metrics.ts';
import { listShards } from '../retrieval/list-shards.ts';
import { ShardReader, type ShardReaderOptions } from '../retrieval/shard-reader.ts';
import type { DeadLetter, DeadLetterSink } from '../sinks/dead-letter.ts';
import type { BulkSink } from '../sinks/opensearch-bulk.ts';
import type { VpcFlowFormats } from '../../processors/index.ts';
import { prepareBatch } from './batch.ts';

export interface WorkerOptions {
  workerId: string;
  kinesis: KinesisClient;
  streamName: string;
  checkpoints: CheckpointStore;
  bulk: BulkSink;
  deadLetters: DeadLetterSink;
  indexPrefix: string;
  /** Custom VPC flow formats by log group. */
  vpcFlowFormats?: VpcFlowFormats;
  reader?: ShardReaderOptions;
  /** Wait between attempts when a batch cannot be delivered (OpenSearch or S3 down). */
  retryDelayMs?: number;
  /** How often to look for shards not yet being read. */
  shardSyncIntervalMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/**
 * Reads every shard of one stream: records -> documents -> OpenSearch (or dead letters)
 * -> checkpoint. A checkpoint moves only after every record before it is indexed or
 * dead-lettered; a batch that cannot be delivered is retried, never skipped.
 * Leases (several workers sharing shards) plug in where shards are chosen.
 */
export class Worker {
  readonly counters: ConsumerCounters = emptyCounters();
  readonly lag = new LatencySample();
  private readonly abort = new AbortController();
  private readonly shardLoops = new Map<string, Promise<void>>();
  private syncLoop: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(private readonly opts: WorkerOptions) {}

  /** The error that stopped the worker, if any. */
  get error(): Error | undefined {
    return this.failure;
  }

  async start(): Promise<void> {
    await this.opts.checkpoints.ensureTable();
    await this.syncShards();
    this.syncLoop = this.runShardSync();
  }

  /** Stops reading; batches in flight finish and checkpoint first. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.syncLoop;
    await Promise.all(this.shardLoops.values());
  }

  private log(level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void {
    this.opts.log?.(level, message, { workerId: this.opts.workerId, ...fields });
  }

  private async runShardSync(): Promise<void> {
    const interval = this.opts.shardSyncIntervalMs ?? 10_000;
    while (!this.abort.signal.aborted) {
      try {
        await sleep(interval, undefined, { signal: this.abort.signal });
        await this.syncShards();
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.log('warn', 'shard sync failed', { error: String(err) });
      }
    }
  }

  private async syncShards(): Promise<void> {
    const shards = await listShards(this.opts.kinesis, this.opts.streamName);
    for (const shard of shards) {
      const shardId = shard.ShardId!;
      if (this.shardLoops.has(shardId)) continue;
      this.shardLoops.set(shardId, this.runShard(shardId));
    }
  }

  private async runShard(shardId: string): Promise<void> {
    const signal = this.abort.signal;
    try {
      const checkpoint = await this.opts.checkpoints.get(shardId);
      if (checkpoint === SHARD_END) return;
      const reader = new ShardReader(
        this.opts.kinesis,
        this.opts.streamName,
        shardId,
        checkpoint ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: checkpoint } : { type: 'TRIM_HORIZON' },
        this.opts.reader,
      );
      while (!signal.aborted) {
        let batch;
        try {
          batch = await reader.next(signal);
        } catch (err) {
          if (signal.aborted) return;
          throw err;
        }
        if (batch.records.length > 0) {
          await this.deliver(shardId, batch.records);
        }
        if (batch.shardEnded) {
          await this.opts.checkpoints.set(shardId, SHARD_END, this.opts.workerId);
          this.log('info', 'shard finished', { shardId });
          return;
        }
      }
    } catch (err) {
      this.failure = err as Error;
      this.log('error', 'shard processing stopped', { shardId, error: String(err) });
      this.abort.abort();
    }
  }

  /** Delivers one batch completely, then checkpoints its last record. Retries until it can. */
  private async deliver(shardId: string, records: Parameters<typeof prepareBatch>[0]): Promise<void> {
    const c = this.counters;
    const prepared = prepareBatch(records, this.opts.streamName, shardId, {
      indexPrefix: this.opts.indexPrefix,
      vpcFlowFormats: this.opts.vpcFlowFormats,
    });
    const lastSequence = records[records.length - 1]!.SequenceNumber!;
    let indexedOnce = false;
    for (let attempt = 1; ; attempt++) {
      try {
        // Documents are resent whole on a retry: ids make the second copy a harmless 409.
        const outcome = await this.opts.bulk.write(prepared.documents);
        const letters: DeadLetter[] = [...prepared.deadLetters];
        for (const r of outcome.rejected) {
          const origin = prepared.origins.get(r.document);
          letters.push({
            reason: `index ${r.status}: ${r.reason}`,
            stage: 'index',
            streamName: this.opts.streamName,
            shardId,
            sequenceNumber: origin?.sequenceNumber ?? '',
            envelope: origin?.envelope,
            event: origin?.event,
            document: { index: r.document.index, id: r.document.id, body: r.document.body },
            status: r.status,
            at: new Date().toISOString(),
          });
        }
        await this.opts.deadLetters.write(letters);
        await this.opts.checkpoints.set(shardId, lastSequence, this.opts.workerId);
        if (!indexedOnce) {
          indexedOnce = true;
          const now = Date.now();
          c.recordsIn += records.length;
          c.controlDropped += prepared.controlDropped;
          c.eventsIn += prepared.documents.length;
          c.created += outcome.created.length;
          c.duplicates += outcome.duplicates.length;
          c.deadLettered += letters.length;
          for (const d of [...outcome.created, ...outcome.duplicates]) {
            c.indexedBySource[d.source]++;
            this.lag.add(now - d.eventTimestamp);
          }
        }
        c.checkpoints++;
        return;
      } catch (err) {
        if (this.abort.signal.aborted && attempt > 1) throw err;
        const delay = Math.min((this.opts.retryDelayMs ?? 1000) * attempt, 30_000);
        this.log('warn', 'batch not delivered; retrying without moving the checkpoint', {
          shardId,
          attempt,
          error: String(err),
          retryInMs: delay,
        });
        await sleep(delay);
      }
    }
  }
}
