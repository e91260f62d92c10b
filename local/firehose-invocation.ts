import type { _Record } from '@aws-sdk/client-kinesis';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  FirehoseTransformationEvent,
  FirehoseTransformationRecord,
  FirehoseTransformationResult,
  TransformMetrics,
} from '../processors/index.ts';

/** Firehose's limit on a transform Lambda's response. */
export const MAX_TRANSFORM_RESPONSE_BYTES = 6_000_000;

/** What the harness hands the transform besides the event: where to count its stats. */
export interface TransformContext {
  /** The handler's per-invocation stats (RecordsOk, ControlMessagesDropped, RecordsReingested, ...). */
  metrics: TransformMetrics;
}

export type TransformFunction = (event: FirehoseTransformationEvent, context: TransformContext) => Promise<FirehoseTransformationResult>;

/** How a failed invocation is retried; Firehose's own defaults are noted per field. */
export interface RetryPolicy {
  /** Retries after the first attempt (Firehose's NumberOfRetries, default 3). */
  retries: number;
  /** No retry starts after this long since the first attempt (Firehose default 300 s). */
  retryDurationMs: number;
  /** Wait before the first retry; doubles for each next one. */
  baseDelayMs: number;
  /** The Lambda's timeout: an attempt not answered by then has failed. */
  timeoutMs: number;
}

export interface InvocationOutcome {
  /** Set when an attempt succeeded with a valid response. */
  response?: FirehoseTransformationResult;
  /** `<errorCode>: <message>` of the last failed attempt, when none succeeded. */
  error?: string;
  attempts: number;
  /** The metrics the successful attempt reported, summed by name. */
  stats: Record<string, number>;
}

/** One buffered Kinesis record and the shard it came from. */
export interface QueuedRecord {
  record: _Record;
  shardId: string;
  bytes: number;
  enqueuedAt: number;
}

/** The event Firehose sends its transform Lambda for a batch read from a Kinesis stream. */
export function buildTransformEvent(
  batch: QueuedRecord[],
  names: { region: string; deliveryStreamName: string; streamName: string },
): FirehoseTransformationEvent {
  const { region } = names;
  return {
    invocationId: randomUUID(),
    deliveryStreamArn: `arn:aws:firehose:${region}:000000000000:deliverystream/${names.deliveryStreamName}`,
    sourceKinesisStreamArn: `arn:aws:kinesis:${region}:000000000000:stream/${names.streamName}`,
    region,
    records: batch.map(({ record, shardId }, i): FirehoseTransformationRecord => {
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
}

/** Firehose rejects a response that misses, repeats or invents a recordId, or passes 6 MB. */
export function validateResponse(event: FirehoseTransformationEvent, response: FirehoseTransformationResult): string | undefined {
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(response));
  } catch (err) {
    return `Lambda.JsonProcessingException: ${(err as Error).message}`;
  }
  if (size > MAX_TRANSFORM_RESPONSE_BYTES) {
    return `Lambda.ResponseSizeExceeded: response of ${size} bytes exceeds ${MAX_TRANSFORM_RESPONSE_BYTES}`;
  }
  if (!Array.isArray(response?.records) || response.records.length !== event.records.length) {
    return `Lambda.MissingRecordId: ${event.records.length} records sent, ${response?.records?.length ?? 0} answered`;
  }
  for (let i = 0; i < event.records.length; i++) {
    const out = response.records[i]!;
    if (typeof out?.recordId !== 'string') {
      return `Lambda.MissingRecordId: record ${i} answered without a recordId`;
    }
    if (out.recordId !== event.records[i]!.recordId) {
      return `Lambda.DuplicatedRecordId: record ${i} answered as ${out.recordId}`;
    }
    if (!['Ok', 'Dropped', 'ProcessingFailed'].includes(out.result)) {
      return `Lambda.InvalidResult: record ${out.recordId} has result ${String(out.result)}`;
    }
    if (out.result === 'Ok' && typeof out.data !== 'string') {
      return `Lambda.InvalidData: record ${out.recordId} is Ok without data`;
    }
  }
  return undefined;
}

class InvocationTimeout extends Error {}

/** One attempt: the transform's answer, or why Firehose would reject it. */
async function attempt(
  transform: TransformFunction,
  event: FirehoseTransformationEvent,
  timeoutMs: number,
): Promise<{ response?: FirehoseTransformationResult; error?: string; stats: Record<string, number> }> {
  const stats: Record<string, number> = {};
  const metrics: TransformMetrics = { addMetric: (name, _unit, value) => void (stats[name] = (stats[name] ?? 0) + value) };
  const timer = new AbortController();
  try {
    const response = await Promise.race([
      transform(event, { metrics }),
      sleep(timeoutMs, undefined, { signal: timer.signal }).then(() => {
        throw new InvocationTimeout(`no answer within ${timeoutMs} ms`);
      }),
    ]);
    const error = validateResponse(event, response);
    return error ? { error, stats } : { response, stats };
  } catch (err) {
    if (err instanceof InvocationTimeout) return { error: `Lambda.FunctionTimedOut: ${err.message}`, stats };
    return { error: `Lambda.FunctionError: ${(err as Error)?.message ?? String(err)}`, stats };
  } finally {
    timer.abort();
  }
}

/**
 * Invokes the transform as Firehose does: a failed attempt (thrown error, timeout, invalid
 * response) is retried with doubling waits until the retries or the retry duration run out.
 * A timed-out attempt keeps running in the background, as a Lambda past Firehose's wait does.
 */
export async function invokeWithRetries(
  transform: TransformFunction,
  event: FirehoseTransformationEvent,
  policy: RetryPolicy,
  onRetry?: (attempt: number, error: string, delayMs: number) => void,
): Promise<InvocationOutcome> {
  const started = Date.now();
  for (let n = 1; ; n++) {
    const { response, error, stats } = await attempt(transform, event, policy.timeoutMs);
    if (response) return { response, attempts: n, stats };
    const delay = policy.baseDelayMs * 2 ** (n - 1);
    if (n > policy.retries || Date.now() + delay - started > policy.retryDurationMs) return { error, attempts: n, stats: {} };
    onRetry?.(n, error!, delay);
    await sleep(delay);
  }
}

/** The error-record shape Firehose writes under processing-failed/ for a record that failed transformation. */
export function failureLine(input: FirehoseTransformationRecord, error: string, attempts: number, started: number): string {
  const cut = error.indexOf(': ');
  const [errorCode, errorMessage] = cut > 0 ? [error.slice(0, cut), error.slice(cut + 2)] : ['Lambda.ProcessingFailed', error];
  return (
    JSON.stringify({
      attemptsMade: attempts,
      arrivalTimestamp: input.approximateArrivalTimestamp,
      errorCode,
      errorMessage: errorMessage || error,
      attemptEndingTimestamp: Date.now(),
      rawData: input.data,
      lambdaArn: 'arn:aws:lambda:local:000000000000:function:centralog-firehose-transform',
      startedAt: started,
    }) + '\n'
  );
}
