import type { KinesisClient, _Record } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { kinesisReingest, listShards, ShardReader } from '../consumers/index.ts';
import {
  createFirehoseTransformHandler,
  utcHourPath,
  utcParts,
  type ArchivePartitionKeys,
  type FirehoseTransformationEvent,
  type FirehoseTransformationRecord,
  type FirehoseTransformationResult,
} from '../processors/index.ts';

/** Firehose's limit on a transform Lambda's response. */
export const MAX_TRANSFORM_RESPONSE_BYTES = 6_000_000;

export type TransformFunction = (event: FirehoseTransformationEvent) => Promise<FirehoseTransformationResult>;

export interface FirehoseHarnessOptions {
  kinesis: KinesisClient;
  s3: S3Client;
  streamName: string;
  bucket: string;
  deliveryStreamName: string;
  region?: string;
  /** Buffering hints for the transform: Firehose allows 0.2-3 MB; default 1 MB. */
  bufferBytes?: number;
  /** Local runs flush faster than Firehose's 60 s minimum so the demo stays short. */
  bufferIntervalMs?: number;
  /** Defaults to the real transform Lambda handler, re-ingesting overflow into the stream. */
  transform?: TransformFunction;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface FirehoseHarnessCounters {
  recordsIn: number;
  ok: number;
  dropped: number;
  processingFailed: number;
  invocations: number;
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

interface Buffered {
  record: _Record;
  shardId: string;
}

/**
 * A local Firehose delivery stream with a Kinesis source and a transform Lambda. It keeps
 * Firehose's contract: buffered invocations with the real event shape, every recordId
 * answered once, Ok/Dropped/ProcessingFailed, the 6 MB response limit, objects named
 * `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>` under the partition prefix, and
 * failures under `processing-failed/`.
 */
export class FirehoseHarness {
  readonly counters: FirehoseHarnessCounters = {
    recordsIn: 0,
    ok: 0,
    dropped: 0,
    processingFailed: 0,
    invocations: 0,
    linesArchived: 0,
    linesBySource: {},
    objectsWritten: 0,
  };
  private readonly abort = new AbortController();
  private readonly readers = new Map<string, Promise<void>>();
  private buffer: Buffered[] = [];
  private bufferBytes = 0;
  private lastFlush = Date.now();
  private flushing: Promise<void> = Promise.resolve();
  private flushLoop: Promise<void> | undefined;
  private failure: Error | undefined;
  private readonly transform: TransformFunction;

  constructor(private readonly opts: FirehoseHarnessOptions) {
    this.transform = opts.transform ?? createFirehoseTransformHandler({ reingest: kinesisReingest(opts.kinesis) });
  }

  get error(): Error | undefined {
    return this.failure;
  }

  async start(): Promise<void> {
    for (const shard of await listShards(this.opts.kinesis, this.opts.streamName)) {
      const shardId = shard.ShardId!;
      this.readers.set(shardId, this.readShard(shardId));
    }
    this.flushLoop = this.runFlushTimer();
  }

  /** Stops reading and delivers what is buffered. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.readers.values());
    await this.flushLoop;
    await this.flush();
  }

  private async readShard(shardId: string): Promise<void> {
    const reader = new ShardReader(this.opts.kinesis, this.opts.streamName, shardId, { type: 'TRIM_HORIZON' });
    try {
      while (!this.abort.signal.aborted) {
        const batch = await reader.next(this.abort.signal);
        for (const record of batch.records) {
          this.buffer.push({ record, shardId });
          this.bufferBytes += record.Data?.byteLength ?? 0;
          this.counters.recordsIn++;
        }
        if (this.bufferBytes >= (this.opts.bufferBytes ?? 1_000_000)) await this.flush();
        if (batch.shardEnded) return;
      }
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.fail(err as Error);
    }
  }

  private async runFlushTimer(): Promise<void> {
    const interval = this.opts.bufferIntervalMs ?? 1000;
    while (!this.abort.signal.aborted) {
      try {
        await sleep(Math.max(50, this.lastFlush + interval - Date.now()), undefined, { signal: this.abort.signal });
      } catch {
        return;
      }
      await this.flush();
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.opts.log?.('error', 'Firehose harness stopped', { error: String(err) });
    this.abort.abort();
  }

  /** Serialises flushes so objects are written in buffer order. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow()).catch((err: Error) => this.fail(err));
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    this.lastFlush = Date.now();
    if (this.buffer.length === 0) return;
    const taken = this.buffer;
    this.buffer = [];
    this.bufferBytes = 0;
    const region = this.opts.region ?? 'us-east-1';
    const event: FirehoseTransformationEvent = {
      invocationId: randomUUID(),
      deliveryStreamArn: `arn:aws:firehose:${region}:000000000000:deliverystream/${this.opts.deliveryStreamName}`,
      sourceKinesisStreamArn: `arn:aws:kinesis:${region}:000000000000:stream/${this.opts.streamName}`,
      region,
      records: taken.map(({ record, shardId }, i): FirehoseTransformationRecord => {
        const arrival = record.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
        return {
          recordId: `${String(i).padStart(8, '0')}${record.SequenceNumber}`,
          approximateArrivalTimestamp: arrival,
          data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
          kinesisRecordMetadata: {
            shardId,
            partitionKey: record.PartitionKey ?? '',
            approximateArrivalTimestamp: arrival,
            sequenceNumber: record.SequenceNumber ?? '',
            subsequenceNumber: 0,
          },
        };
      }),
    };
    this.counters.invocations++;
    const started = Date.now();
    let response: FirehoseTransformationResult | undefined;
    let invalid: string | undefined;
    try {
      response = await this.transform(event);
      invalid = validateResponse(event, response);
    } catch (err) {
      invalid = `Lambda.FunctionError: ${(err as Error).message}`;
    }
    const objects = new Map<string, { source: string; parts: string[] }>();
    const failures: string[] = [];
    event.records.forEach((input, i) => {
      const out = response?.records[i];
      if (invalid !== undefined || out === undefined) {
        failures.push(this.failureLine(input, invalid ?? 'missing record', started));
        return;
      }
      if (out.result === 'Dropped') {
        this.counters.dropped++;
      } else if (out.result === 'ProcessingFailed') {
        this.counters.processingFailed++;
        failures.push(this.failureLine(input, 'The record was marked ProcessingFailed by the transform', started));
      } else {
        this.counters.ok++;
        const keys = out.metadata?.partitionKeys;
        const prefix = keys ? archivePrefix(keys) : 'unpartitioned/';
        const data = Buffer.from(out.data, 'base64').toString('utf8');
        let object = objects.get(prefix);
        if (!object) objects.set(prefix, (object = { source: keys?.source ?? 'unknown', parts: [] }));
        object.parts.push(data);
      }
    });
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
      const hour = utcHourPath(now);
      await this.putObject(
        `processing-failed/${hour}/${this.opts.deliveryStreamName}-${version}-${timestampName(now)}-${randomUUID()}`,
        failures.join(''),
      );
      if (invalid !== undefined) this.counters.processingFailed += failures.length;
    }
  }

  /** The error-record shape Firehose writes for records that failed transformation. */
  private failureLine(input: FirehoseTransformationRecord, message: string, started: number): string {
    const [errorCode, ...rest] = message.includes(': ') ? message.split(': ') : ['Lambda.ProcessingFailed', message];
    return (
      JSON.stringify({
        attemptsMade: 1,
        arrivalTimestamp: input.approximateArrivalTimestamp,
        errorCode,
        errorMessage: rest.join(': ') || message,
        attemptEndingTimestamp: Date.now(),
        rawData: input.data,
        lambdaArn: 'arn:aws:lambda:local:000000000000:function:centralog-firehose-transform',
        startedAt: started,
      }) + '\n'
    );
  }

  private async putObject(key: string, body: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.s3.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key: key, Body: body }));
        this.counters.objectsWritten++;
        return;
      } catch (err) {
        if (attempt >= 5) throw err;
        await sleep(200 * 2 ** attempt);
      }
    }
  }
}

/** Firehose rejects a response that misses, repeats or invents a recordId, or passes 6 MB. */
export function validateResponse(event: FirehoseTransformationEvent, response: FirehoseTransformationResult): string | undefined {
  const size = Buffer.byteLength(JSON.stringify(response));
  if (size > MAX_TRANSFORM_RESPONSE_BYTES) {
    return `Lambda.ResponseSizeExceeded: response of ${size} bytes exceeds ${MAX_TRANSFORM_RESPONSE_BYTES}`;
  }
  if (!Array.isArray(response?.records) || response.records.length !== event.records.length) {
    return `Lambda.MissingRecordId: ${event.records.length} records sent, ${response?.records?.length ?? 0} answered`;
  }
  for (let i = 0; i < event.records.length; i++) {
    const out = response.records[i]!;
    if (out.recordId !== event.records[i]!.recordId) {
      return `Lambda.DuplicatedRecordId: record ${i} answered as ${out.recordId}`;
    }
    if (!['Ok', 'Dropped', 'ProcessingFailed'].includes(out.result)) {
      return `Lambda.InvalidResult: record ${out.recordId} has result ${String(out.result)}`;
    }
  }
  return undefined;
}
