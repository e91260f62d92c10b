import { decodeCwlRecord, encodeCwlRecord, type CwlEnvelope, type CwlLogEvent, type DecodeError } from '../cwl-codec.ts';
import { deaggregate } from '../kpl.ts';
import { chunkBySize } from '../chunk.ts';
import { sniffSource, type VpcFlowFormats } from '../source.ts';
import { utcParts } from '../utc.ts';
import type {
  ArchiveLine,
  ArchivePartitionKeys,
  FirehoseTransformationEvent,
  FirehoseTransformationRecord,
  FirehoseTransformationResult,
  FirehoseTransformationResultRecord,
  ReingestRecord,
} from './types.ts';

/** Firehose fails an invocation whose response passes 6,000,000 bytes. */
export const FIREHOSE_MAX_RESPONSE_BYTES = 6_000_000;
/** Output (NDJSON) per split record: re-gzipped, each piece stays far under Kinesis's 1 MiB. */
const SPLIT_TARGET_OUTPUT_BYTES = 1_000_000;

export interface TransformOptions {
  /** Response budget; lowered in tests to exercise overflow with small batches. */
  maxResponseBytes?: number;
  /** Custom VPC flow formats by log group, for source detection. */
  vpcFlowFormats?: VpcFlowFormats;
}

export interface TransformStats {
  records: number;
  ok: number;
  /** Records that held only CONTROL_MESSAGEs. */
  controlDropped: number;
  processingFailed: number;
  /** Records whose output did not fit the response: put back into the stream as they were. */
  reingested: number;
  /** Records too big on their own: split into smaller CWL records, put back into the stream. */
  split: number;
  logEvents: number;
  responseBytes: number;
}

/** The response plus what must go back into the stream before it is returned. */
export interface TransformPlan {
  response: FirehoseTransformationResult;
  reingest: ReingestRecord[];
  stats: TransformStats;
  failures: Array<{ recordId: string; reason: string }>;
}

export function archiveLine(envelope: CwlEnvelope, event: CwlLogEvent, formats?: VpcFlowFormats): ArchiveLine {
  const line: ArchiveLine = {
    source: `aws.${sniffSource(event.message, formats?.[envelope.logGroup])}`,
    owner: envelope.owner,
    logGroup: envelope.logGroup,
    logStream: envelope.logStream,
    id: event.id,
    timestamp: event.timestamp,
    message: event.message,
  };
  if (event.extractedFields) line.extractedFields = event.extractedFields;
  if (envelope.policyLevel) line.policyLevel = envelope.policyLevel;
  return line;
}

/** A record is one log stream's batch, so it lands in one partition: its first event's source and hour. */
function partitionKeys(first: ArchiveLine): ArchivePartitionKeys {
  const { year, month, day, hour } = utcParts(new Date(first.timestamp));
  return { source: first.source, account: first.owner, year, month, day, hour };
}

type RecordOutcome =
  | { kind: 'control' }
  | { kind: 'failed'; reason: string }
  | { kind: 'data'; envelopes: CwlEnvelope[] };

/** De-aggregates and decodes one Firehose record; an undecodable user record fails the whole record. */
function decodeRecord(record: FirehoseTransformationRecord, data: Buffer): RecordOutcome {
  const meta = record.kinesisRecordMetadata;
  const parts = deaggregate(data, meta?.partitionKey ?? '', meta?.sequenceNumber ?? '');
  if ('error' in parts) return { kind: 'failed', reason: parts.error.message };
  const envelopes: CwlEnvelope[] = [];
  for (const part of parts.records) {
    const decoded = decodeCwlRecord(part.data);
    if (decoded.kind === 'failed') return { kind: 'failed', reason: (decoded.error as DecodeError).message };
    if (decoded.kind === 'data') envelopes.push(decoded.envelope);
  }
  return envelopes.length === 0 ? { kind: 'control' } : { kind: 'data', envelopes };
}

/** The entry's size in the response JSON, without serialising its (base64, escape-free) payload again. */
function entrySize(entry: FirehoseTransformationResultRecord): number {
  return JSON.stringify({ ...entry, data: '' }).length + entry.data.length;
}

/**
 * The NDJSON of every event, the same as JSON.stringify(archiveLine(...)) per line, but
 * with each envelope's fields serialised once: the hot path of the transform.
 */
function archiveOutput(envelopes: CwlEnvelope[], formats?: VpcFlowFormats): { ndjson: string; lines: number; partitionKeys: ArchivePartitionKeys } {
  let out = '';
  let lines = 0;
  for (const env of envelopes) {
    const format = formats?.[env.logGroup];
    const shared = `,"owner":${JSON.stringify(env.owner)},"logGroup":${JSON.stringify(env.logGroup)},"logStream":${JSON.stringify(env.logStream)},"id":`;
    const policy = env.policyLevel ? `,"policyLevel":${JSON.stringify(env.policyLevel)}` : '';
    for (const e of env.logEvents) {
      out += `{"source":"aws.${sniffSource(e.message, format)}"${shared}${JSON.stringify(e.id)},"timestamp":${e.timestamp},"message":${JSON.stringify(e.message)}`;
      if (e.extractedFields) out += `,"extractedFields":${JSON.stringify(e.extractedFields)}`;
      out += `${policy}}\n`;
      lines++;
    }
  }
  const first = envelopes[0]!;
  return { ndjson: out, lines, partitionKeys: partitionKeys(archiveLine(first, first.logEvents[0]!, formats)) };
}

/** Splits an envelope's events into CWL records whose archive output stays near the split target. */
function splitEnvelope(envelope: CwlEnvelope, formats?: VpcFlowFormats): Buffer[] {
  const lineBytes = (event: CwlLogEvent) => Buffer.byteLength(JSON.stringify(archiveLine(envelope, event, formats))) + 1;
  return [...chunkBySize(envelope.logEvents, lineBytes, SPLIT_TARGET_OUTPUT_BYTES)].map((logEvents) =>
    encodeCwlRecord({ ...envelope, logEvents }),
  );
}

/**
 * Plans the answer to one Firehose invocation, without I/O: every recordId answered
 * exactly once and in order; DATA_MESSAGE -> Ok (one NDJSON line per log event, with
 * dynamic-partitioning keys), CONTROL_MESSAGE -> Dropped, undecodable ->
 * ProcessingFailed. Output that would push the response past the limit is not lost:
 * its record goes back to the stream (split first if it is too big on its own) and is
 * answered Dropped; the caller must put `reingest` before returning `response`.
 */
export function planFirehoseTransform(event: FirehoseTransformationEvent, options: TransformOptions = {}): TransformPlan {
  const max = options.maxResponseBytes ?? FIREHOSE_MAX_RESPONSE_BYTES;
  const stats: TransformStats = {
    records: event.records.length,
    ok: 0,
    controlDropped: 0,
    processingFailed: 0,
    reingested: 0,
    split: 0,
    logEvents: 0,
    responseBytes: 0,
  };
  const reingest: ReingestRecord[] = [];
  const failures: TransformPlan['failures'] = [];
  const records: FirehoseTransformationResultRecord[] = [];
  // `{"records":[` + `]}` and a comma between entries.
  let used = '{"records":[]}'.length;
  const fits = (entry: FirehoseTransformationResultRecord): boolean => {
    const size = entrySize(entry) + (records.length > 0 ? 1 : 0);
    if (used + size > max) return false;
    used += size;
    return true;
  };
  const answer = (entry: FirehoseTransformationResultRecord): void => {
    if (!fits(entry)) {
      // Only an Ok or ProcessingFailed payload can be large; drop the payload, keep the answer.
      const small = { recordId: entry.recordId, result: entry.result, data: '' };
      used += JSON.stringify(small).length + (records.length > 0 ? 1 : 0);
      records.push(small);
      return;
    }
    records.push(entry);
  };

  for (const record of event.records) {
    const data = Buffer.from(record.data, 'base64');
    const outcome = decodeRecord(record, data);
    if (outcome.kind === 'control') {
      stats.controlDropped++;
      answer({ recordId: record.recordId, result: 'Dropped', data: '' });
      continue;
    }
    if (outcome.kind === 'failed') {
      stats.processingFailed++;
      failures.push({ recordId: record.recordId, reason: outcome.reason });
      answer({ recordId: record.recordId, result: 'ProcessingFailed', data: record.data });
      continue;
    }
    const output = archiveOutput(outcome.envelopes, options.vpcFlowFormats);
    const ok: FirehoseTransformationResultRecord = {
      recordId: record.recordId,
      result: 'Ok',
      data: Buffer.from(output.ndjson, 'utf8').toString('base64'),
      metadata: { partitionKeys: output.partitionKeys },
    };
    if (fits(ok)) {
      records.push(ok);
      stats.ok++;
      stats.logEvents += output.lines;
      continue;
    }
    const partitionKey = record.kinesisRecordMetadata?.partitionKey || outcome.envelopes[0]!.logStream || record.recordId;
    const tooBigAlone = entrySize(ok) + '{"records":[]}'.length > max || data.length > 1_000_000;
    if (tooBigAlone) {
      stats.split++;
      for (const env of outcome.envelopes) {
        for (const piece of splitEnvelope(env, options.vpcFlowFormats)) reingest.push({ partitionKey, data: piece, recordId: record.recordId });
      }
    } else {
      stats.reingested++;
      reingest.push({ partitionKey, data, recordId: record.recordId });
    }
    answer({ recordId: record.recordId, result: 'Dropped', data: '' });
  }
  stats.responseBytes = used;
  return { response: { records }, reingest, stats, failures };
}

/** The source stream's name from the ARN Firehose passes (`arn:aws:kinesis:<region>:<account>:stream/<name>`). */
export function streamNameFromArn(arn: string | undefined): string | undefined {
  const match = /:stream\/([^/]+)$/.exec(arn ?? '');
  return match?.[1];
}
