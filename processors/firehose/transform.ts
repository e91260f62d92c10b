import { decodeCwlRecord, type DecodeError } from '../cwl-codec.ts';
import { deaggregate } from '../kpl.ts';
import type { LogGroupSources, VpcFlowFormats } from '../source.ts';
import { archiveOutput } from './archive.ts';
import { reingestRecords, type DecodedPart } from './reingest.ts';
import { entryBytes, minimalEntry, payloadBytes, ResponseLimitError, responseBytes, RESPONSE_FRAME_BYTES } from './response-size.ts';
import type {
  FirehoseResult,
  FirehoseTransformationEvent,
  FirehoseTransformationRecord,
  FirehoseTransformationResult,
  FirehoseTransformationResultRecord,
  ReingestRecord,
} from './types.ts';

export { archiveLine } from './archive.ts';

/** How much longer a minimal ProcessingFailed answer is than a minimal Dropped one. */
const FAILED_OVER_DROPPED_BYTES = '"ProcessingFailed"'.length - '"Dropped"'.length;

const sum = (sizes: number[]): number => sizes.reduce((a, b) => a + b, 0);

/** Firehose fails an invocation whose response passes 6,000,000 bytes. */
export const FIREHOSE_MAX_RESPONSE_BYTES = 6_000_000;

export interface TransformOptions {
  /** Response budget; lowered in tests to exercise overflow with small batches. */
  maxResponseBytes?: number;
  /** Custom VPC flow formats by log group, for source detection. */
  vpcFlowFormats?: VpcFlowFormats;
  /** Which log groups carry which source: a mapped group's events are labelled without parsing them. */
  logGroupSources?: LogGroupSources;
  /**
   * What becomes of output the response has no room for: `reingest` (default) puts it back
   * into the stream and answers Dropped; `fail` answers ProcessingFailed, for a caller with
   * no stream to put it into (Firehose then keeps the record in processing-failed/).
   */
  overflow?: 'reingest' | 'fail';
}

export interface TransformStats {
  records: number;
  ok: number;
  /** Records that held only CONTROL_MESSAGEs. */
  controlDropped: number;
  /** Undecodable records. */
  processingFailed: number;
  /** Records whose output did not fit the response: put back into the stream, marked. */
  reingested: number;
  /** Records too big on their own: split into smaller CWL records, put back into the stream. */
  split: number;
  /** Records whose output did not fit and had nowhere to go (overflow `fail`): answered ProcessingFailed. */
  overflowFailed: number;
  logEvents: number;
  /** Log events put back into the stream (reingested or split). */
  reingestedEvents: number;
  /** Bytes the minimal answer to every record takes, reserved before any payload. */
  reservedBytes: number;
  responseBytes: number;
}

/** The response plus what must go back into the stream before it is returned. */
export interface TransformPlan {
  response: FirehoseTransformationResult;
  reingest: ReingestRecord[];
  stats: TransformStats;
  failures: Array<{ recordId: string; reason: string }>;
}

type RecordOutcome = { kind: 'control' } | { kind: 'failed'; reason: string } | { kind: 'data'; parts: DecodedPart[] };

/** De-aggregates and decodes one Firehose record; an undecodable user record fails the whole record. */
function decodeRecord(record: FirehoseTransformationRecord): RecordOutcome {
  const meta = record.kinesisRecordMetadata;
  const data = Buffer.from(record.data, 'base64');
  const userRecords = deaggregate(data, meta?.partitionKey ?? '', meta?.sequenceNumber ?? '');
  if ('error' in userRecords) return { kind: 'failed', reason: userRecords.error.message };
  const parts: DecodedPart[] = [];
  for (const user of userRecords.records) {
    const decoded = decodeCwlRecord(user.data, { withText: true });
    if (decoded.kind === 'failed') return { kind: 'failed', reason: (decoded.error as DecodeError).message };
    // A reingested record is archived like any other: its first pass answered it Dropped.
    if (decoded.kind === 'data') parts.push({ envelope: decoded.envelope, partitionKey: user.partitionKey, text: decoded.text });
  }
  return parts.length === 0 ? { kind: 'control' } : { kind: 'data', parts };
}

/**
 * Plans the answer to one Firehose invocation, without I/O: every recordId answered
 * exactly once and in order; DATA_MESSAGE -> Ok (one NDJSON line per log event, with
 * dynamic-partitioning keys), CONTROL_MESSAGE -> Dropped, undecodable -> ProcessingFailed.
 *
 * The response never passes the limit: the minimal answer to every record is reserved
 * first, and what is left is spent on payloads in record order. A DATA record whose
 * output does not fit keeps its minimal answer (Dropped) and goes back into the stream,
 * marked, split first if its output could never fit alone; the caller must put
 * `reingest` before returning `response`. Throws ResponseLimitError when even the
 * minimal answers do not fit (there is then no valid response at all).
 */
export function planFirehoseTransform(event: FirehoseTransformationEvent, options: TransformOptions = {}): TransformPlan {
  const max = options.maxResponseBytes ?? FIREHOSE_MAX_RESPONSE_BYTES;
  const overflowResult: FirehoseResult = options.overflow === 'fail' ? 'ProcessingFailed' : 'Dropped';
  const stats: TransformStats = {
    records: event.records.length,
    ok: 0,
    controlDropped: 0,
    processingFailed: 0,
    reingested: 0,
    split: 0,
    overflowFailed: 0,
    logEvents: 0,
    reingestedEvents: 0,
    reservedBytes: 0,
    responseBytes: 0,
  };

  // Fallback: any record can be answered minimally and a DATA record's events go back to the stream, so only minimal answers over the limit leave no valid response (the invocation then fails whole).
  // Every answer is at least Dropped-sized: when even that does not fit, skip decoding.
  const droppedSizes = event.records.map((r) => entryBytes(minimalEntry(r.recordId, 'Dropped')));
  const floor = responseBytes(sum(droppedSizes), droppedSizes.length);
  if (floor > max) throw new ResponseLimitError(event.records.length, floor, max);

  // Reserve: decode everything, since a record's minimal answer depends on what it holds.
  const outcomes = event.records.map(decodeRecord);
  const minimal = outcomes.map((o, i) =>
    minimalEntry(event.records[i]!.recordId, o.kind === 'control' ? 'Dropped' : o.kind === 'failed' ? 'ProcessingFailed' : overflowResult),
  );
  const minimalSizes = minimal.map((m, i) => droppedSizes[i]! + (m.result === 'Dropped' ? 0 : FAILED_OVER_DROPPED_BYTES));
  const reserved = responseBytes(sum(minimalSizes), minimal.length);
  stats.reservedBytes = reserved;
  if (reserved > max) throw new ResponseLimitError(event.records.length, reserved, max);

  // Spend: a payload replaces its record's minimal answer only if the difference fits.
  let left = max - reserved;
  const reingest: ReingestRecord[] = [];
  const failures: TransformPlan['failures'] = [];
  const records: FirehoseTransformationResultRecord[] = [];
  outcomes.forEach((outcome, i) => {
    const record = event.records[i]!;
    const least = minimal[i]!;
    if (outcome.kind === 'control') {
      stats.controlDropped++;
      records.push(least);
      return;
    }
    if (outcome.kind === 'failed') {
      stats.processingFailed++;
      failures.push({ recordId: record.recordId, reason: outcome.reason });
      // The original data is a courtesy (Firehose keeps the raw record in processing-failed/ anyway).
      const extra = payloadBytes(record.data);
      if (extra <= left) {
        left -= extra;
        records.push({ ...least, data: record.data });
      } else {
        records.push(least);
      }
      return;
    }
    const output = archiveOutput(outcome.parts, options);
    const ok: FirehoseTransformationResultRecord = {
      recordId: record.recordId,
      result: 'Ok',
      data: Buffer.from(output.ndjson, 'utf8').toString('base64'),
      metadata: { partitionKeys: output.partitionKeys },
    };
    const okSize = entryBytes(ok, { base64: true });
    const extra = okSize - minimalSizes[i]!;
    if (extra <= left) {
      left -= extra;
      records.push(ok);
      stats.ok++;
      stats.logEvents += output.lines;
      return;
    }
    records.push(least);
    if (options.overflow === 'fail') {
      stats.overflowFailed++;
      return;
    }
    const tooBigAlone = okSize + RESPONSE_FRAME_BYTES > max;
    if (tooBigAlone) stats.split++;
    else stats.reingested++;
    stats.reingestedEvents += output.lines;
    reingest.push(...reingestRecords(outcome.parts, record.recordId, tooBigAlone, options));
  });
  stats.responseBytes = max - left;
  return { response: { records }, reingest, stats, failures };
}

/** The source stream's name from the ARN Firehose passes (`arn:aws:kinesis:<region>:<account>:stream/<name>`). */
export function streamNameFromArn(arn: string | undefined): string | undefined {
  const match = /:stream\/([^/]+)$/.exec(arn ?? '');
  return match?.[1];
}
