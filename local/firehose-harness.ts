import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { kinesisReingest } from '../consumers/index.ts';
import { createFirehoseTransformHandler, utcHourPath, utcParts, type ArchivePartitionKeys, type Reingest, type TransformOptions } from '../processors/index.ts';
import {
  buildTransformEvent,
  failureLine,
  invokeWithRetries,
  type QueuedRecord,
  type RetryPolicy,
  type TransformFunction,
} from './firehose-invocation.ts';
import { KinesisSource } from './firehose-source.ts';

export {
  MAX_TRANSFORM_RESPONSE_BYTES,
  validateResponse,
  type RetryPolicy,
  type TransformContext,
  type TransformFunction,
} from './firehose-invocation.ts';

/** Firehose's processor buffer size hint: 0.2 to 3 MB, default 1 MB. */
export const MIN_PROCESSOR_BUFFER_BYTES = 200_000;
export const MAX_PROCESSOR_BUFFER_BYTES = 3_000_000;

export interface FirehoseHarnessOptions {
  kinesis: KinesisClient;
  s3: S3Client;
  streamName: string;
  bucket: string;
  deliveryStreamName: string;
  region?: string;
  /** Processor buffer: an invocation carries at most this many bytes of record data (a larger single record goes alone). */
  bufferBytes?: number;
  /** Local runs flush faster than Firehose's 60 s default so the demo stays short. */
  bufferIntervalMs?: number;
  /** Defaults to the real transform Lambda handler, re-ingesting overflow into the stream. */
  transform?: TransformFunction;
  /** The default transform's settings, as the Lambda reads them from its environment. */
  transformOptions?: TransformOptions;
  /**
   * Retries of a failed invocation. Firehose retries 3 times within a 300 s retry duration;
   * locally the duration defaults to 20 s so that a broken transform shows in seconds.
   */
  retry?: Partial<RetryPolicy>;
  /** Firehose polls each shard about once per second. */
  pollIntervalMs?: number;
  /** Kinesis gives each shard 2 MB/s of reads, shared by every reader of the stream. */
  maxReadBytesPerSecond?: number;
  /** Reading pauses while this much record data waits for the transform (default 2 buffers). */
  maxQueuedBytes?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface FirehoseHarnessCounters {
  recordsIn: number;
  ok: number;
  /** Every record answered Dropped: CONTROL messages, re-ingested records and any the stats do not explain. */
  dropped: number;
  /** Records the transform's stats call CONTROL messages. */
  controlDropped: number;
  /** Records answered Dropped because the transform put their output back into the stream. */
  reingestDropped: number;
  /** Log events the transform put back into the stream (from its stats). */
  reingestedEvents: number;
  /** Kinesis records the default transform wrote back into the stream. */
  reingestedRecords: number;
  processingFailed: number;
  /** Transform invocations, retries included. */
  invocations: number;
  retries: number;
  /** Batches whose every attempt failed: all their records went to processing-failed/. */
  failedBatches: number;
  getRecordsCalls: number;
  /** NDJSON lines (one per log event) written to the archive. */
  linesArchived: number;
  /** Archived lines by the partition's source (`aws.vpcflow`, ...). */
  linesBySource: Record<string, number>;
  objectsWritten: number;
}

function timestampName(d: Date): string {
  const p = utcParts(d);
  return `${p.year}-${p.month}-${p.day}-${p.hour}-${p.minute}-${p.second}`;
}

/** The S3 prefix dynamic partitioning builds from `!{partitionKeyFromLambda:...}` keys. */
export function archivePrefix(keys: ArchivePartitionKeys): string {
  return `source=${keys.source}/account=${keys.account}/year=${keys.year}/month=${keys.month}/day=${keys.day}/hour=${keys.hour}/`;
}

/**
 * A local Firehose delivery stream with a Kinesis source and a transform Lambda. It keeps
 * Firehose's contract: each shard polled within its read limits, invocations of at most
 * the processor buffer with the real event shape and in stream order, every recordId
 * answered once, Ok/Dropped/ProcessingFailed, the 6 MB response limit, failed invocations
 * retried and then kept under `processing-failed/`, objects named
 * `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>` under the partition prefix.
 */
export class FirehoseHarness {
  readonly counters: FirehoseHarnessCounters = {
    recordsIn: 0,
    ok: 0,
    dropped: 0,
    controlDropped: 0,
    reingestDropped: 0,
    reingestedEvents: 0,
    reingestedRecords: 0,
    processingFailed: 0,
    invocations: 0,
    retries: 0,
    failedBatches: 0,
    getRecordsCalls: 0,
    linesArchived: 0,
    linesBySource: {},
    objectsWritten: 0,
  };
  private readonly source: KinesisSource;
  private draining = false;
  private delivery: Promise<void> | undefined;
  private failure: Error | undefined;
  private readonly transform: TransformFunction;
  private readonly bufferBytes: number;
  private readonly retry: RetryPolicy;

  constructor(private readonly opts: FirehoseHarnessOptions) {
    this.bufferBytes = opts.bufferBytes ?? 1_000_000;
    if (!(this.bufferBytes >= MIN_PROCESSOR_BUFFER_BYTES && this.bufferBytes <= MAX_PROCESSOR_BUFFER_BYTES)) {
      throw new RangeError(`bufferBytes must be between ${MIN_PROCESSOR_BUFFER_BYTES} and ${MAX_PROCESSOR_BUFFER_BYTES} (Firehose's 0.2-3 MB), got ${opts.bufferBytes}`);
    }
    this.retry = { retries: 3, retryDurationMs: 20_000, baseDelayMs: 1000, timeoutMs: 60_000, ...opts.retry };
    const reingest = kinesisReingest(opts.kinesis);
    // Counts what really went back into the stream, for the summary next to the consumer's skips.
    const counted: Reingest = async (stream, records) => {
      await reingest(stream, records);
      this.counters.reingestedRecords += records.length;
    };
    this.transform =
      opts.transform ?? ((event, { metrics }) => createFirehoseTransformHandler({ reingest: counted, metrics, options: opts.transformOptions })(event));
    this.source = new KinesisSource({
      kinesis: opts.kinesis,
      streamName: opts.streamName,
      pollIntervalMs: opts.pollIntervalMs ?? 1000,
      maxReadBytesPerSecond: opts.maxReadBytesPerSecond ?? 2_000_000,
      maxQueuedBytes: opts.maxQueuedBytes ?? 2 * this.bufferBytes,
      onRead: (records) => {
        this.counters.getRecordsCalls++;
        this.counters.recordsIn += records;
      },
      onError: (reason) => this.fail(reason),
    });
  }

  /** Why the harness stopped on its own, if it did. */
  get error(): Error | undefined {
    return this.failure;
  }

  async start(): Promise<void> {
    try {
      await this.source.start();
    } catch (err) {
      this.fail(`listing the shards of ${this.opts.streamName} failed: ${(err as Error).message}`);
      throw this.failure;
    }
    this.delivery = this.deliverLoop().catch((err: Error) => this.fail(`delivery stopped: ${err.message}`));
  }

  /** Stops reading and delivers what is queued, in buffer-sized invocations. */
  async stop(): Promise<void> {
    await this.source.stop();
    this.draining = true;
    this.source.wake();
    await this.delivery;
  }

  private fail(reason: string): void {
    if (!this.failure) {
      this.failure = new Error(`Firehose harness stopped: ${reason}`);
      this.opts.log?.('error', 'Firehose harness stopped', { error: reason });
    }
    void this.source.stop();
  }

  /** The next invocation's records when one is due: a full buffer, an expired interval, or draining at stop. */
  private takeBatch(): QueuedRecord[] | undefined {
    const oldest = this.source.oldestEnqueuedAt;
    if (oldest === undefined) return undefined;
    const interval = this.opts.bufferIntervalMs ?? 1000;
    if (!this.draining && this.source.queuedBytes < this.bufferBytes && Date.now() - oldest < interval) return undefined;
    // However much one GetRecords returned: never more than the buffer (a larger single record goes alone).
    return this.source.take(this.bufferBytes);
  }

  private async deliverLoop(): Promise<void> {
    const interval = this.opts.bufferIntervalMs ?? 1000;
    while (!this.failure) {
      const batch = this.takeBatch();
      if (batch) {
        await this.deliver(batch);
        continue;
      }
      if (this.draining) return;
      const oldest = this.source.oldestEnqueuedAt;
      await this.source.waitForRecords(oldest === undefined ? interval : oldest + interval - Date.now());
    }
  }

  /** One invocation (with retries), then its objects: archive partitions and processing-failed/. */
  private async deliver(batch: QueuedRecord[]): Promise<void> {
    const event = buildTransformEvent(batch, {
      region: this.opts.region ?? 'us-east-1',
      deliveryStreamName: this.opts.deliveryStreamName,
      streamName: this.opts.streamName,
    });
    const started = Date.now();
    this.counters.invocations++;
    const outcome = await invokeWithRetries(this.transform, event, this.retry, (attempt, error, delayMs) => {
      this.counters.invocations++;
      this.counters.retries++;
      this.opts.log?.('warn', 'Firehose transform invocation failed; retrying', { attempt, error, delayMs, records: batch.length });
    });
    const { response, attempts, stats } = outcome;
    const objects = new Map<string, { source: string; parts: string[] }>();
    const failures: string[] = [];
    if (!response) {
      this.counters.failedBatches++;
      this.counters.processingFailed += event.records.length;
      this.opts.log?.('error', 'Firehose transform invocation failed for good; its records go to processing-failed/', {
        attempts,
        error: outcome.error,
        records: event.records.length,
      });
      for (const input of event.records) failures.push(failureLine(input, outcome.error!, attempts, started));
    } else {
      let dropped = 0;
      event.records.forEach((input, i) => {
        const out = response.records[i]!;
        if (out.result === 'Dropped') {
          dropped++;
        } else if (out.result === 'ProcessingFailed') {
          this.counters.processingFailed++;
          failures.push(failureLine(input, 'Lambda.ProcessingFailed: The record was marked ProcessingFailed by the transform', attempts, started));
        } else {
          this.counters.ok++;
          const keys = out.metadata?.partitionKeys;
          const prefix = keys ? archivePrefix(keys) : 'unpartitioned/';
          let object = objects.get(prefix);
          if (!object) objects.set(prefix, (object = { source: keys?.source ?? 'unknown', parts: [] }));
          object.parts.push(Buffer.from(out.data, 'base64').toString('utf8'));
        }
      });
      this.countDropped(dropped, stats);
    }
    const now = new Date();
    const version = 1;
    for (const [prefix, { source, parts }] of objects) {
      const body = parts.join('');
      await this.putObject(`${prefix}${this.opts.deliveryStreamName}-${version}-${timestampName(now)}-${randomUUID()}`, body);
      const lines = body.split('\n').filter((l) => l.length > 0).length;
      this.counters.linesArchived += lines;
      this.counters.linesBySource[source] = (this.counters.linesBySource[source] ?? 0) + lines;
    }
    if (failures.length > 0) {
      const key = `processing-failed/${utcHourPath(now)}/${this.opts.deliveryStreamName}-${version}-${timestampName(now)}-${randomUUID()}`;
      await this.putObject(key, failures.join(''));
    }
  }

  /** Splits an invocation's Dropped answers by the transform's stats (its metrics, by name). */
  private countDropped(dropped: number, stats: Record<string, number>): void {
    const control = stats.ControlMessagesDropped ?? 0;
    const reingest = (stats.RecordsReingested ?? 0) + (stats.RecordsSplit ?? 0);
    this.counters.dropped += dropped;
    this.counters.controlDropped += control;
    this.counters.reingestDropped += reingest;
    this.counters.reingestedEvents += stats.LogEventsReingested ?? 0;
    if (control + reingest !== dropped && Object.keys(stats).length > 0) {
      this.opts.log?.('warn', "Dropped answers do not match the transform's stats", { dropped, control, reingest });
    }
  }

  private async putObject(key: string, body: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.s3.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key: key, Body: body }));
        this.counters.objectsWritten++;
        return;
      } catch (err) {
        if (attempt >= 5) throw new Error(`writing s3://${this.opts.bucket}/${key} failed after ${attempt} attempts: ${(err as Error).message}`);
        await sleep(200 * 2 ** attempt);
      }
    }
  }
}
