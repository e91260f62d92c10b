import { decodeCwlRecord, type CwlEnvelope, type CwlLogEvent } from './cwl-codec.ts';
import { detectSource, type SourceType } from './source.ts';

/** Kinesis metadata Firehose attaches to each record when it reads a stream. */
export interface KinesisRecordMetadata {
  shardId: string;
  partitionKey: string;
  approximateArrivalTimestamp: number;
  sequenceNumber: string;
  subsequenceNumber: number;
}

export interface FirehoseTransformationRecord {
  recordId: string;
  approximateArrivalTimestamp: number;
  /** base64 of the Kinesis record's data. */
  data: string;
  kinesisRecordMetadata?: KinesisRecordMetadata;
}

/** The event Firehose passes to a data-transformation Lambda. */
export interface FirehoseTransformationEvent {
  invocationId: string;
  deliveryStreamArn: string;
  sourceKinesisStreamArn?: string;
  region: string;
  records: FirehoseTransformationRecord[];
}

export type FirehoseResult = 'Ok' | 'Dropped' | 'ProcessingFailed';

/** Keys Firehose dynamic partitioning reads as `!{partitionKeyFromLambda:<key>}`. */
export interface ArchivePartitionKeys {
  source: string;
  account: string;
  year: string;
  month: string;
  day: string;
  hour: string;
}

export interface FirehoseTransformationResultRecord {
  recordId: string;
  result: FirehoseResult;
  data: string;
  metadata?: { partitionKeys: ArchivePartitionKeys };
}

export interface FirehoseTransformationResult {
  records: FirehoseTransformationResultRecord[];
}

/** One archived line: the raw message with the envelope it came in and its detected source. */
export interface ArchiveLine {
  source: `aws.${SourceType}`;
  owner: string;
  logGroup: string;
  logStream: string;
  id: string;
  timestamp: number;
  message: string;
  extractedFields?: Record<string, string>;
}

export function archiveLine(envelope: CwlEnvelope, event: CwlLogEvent): ArchiveLine {
  const line: ArchiveLine = {
    source: `aws.${detectSource(event.message).source}`,
    owner: envelope.owner,
    logGroup: envelope.logGroup,
    logStream: envelope.logStream,
    id: event.id,
    timestamp: event.timestamp,
    message: event.message,
  };
  if (event.extractedFields) line.extractedFields = event.extractedFields;
  return line;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * A record is one log stream's batch, so it lands in one partition: the source of its
 * first event and the hour of its first event's timestamp.
 */
function partitionKeys(first: ArchiveLine): ArchivePartitionKeys {
  const t = new Date(first.timestamp);
  return {
    source: first.source,
    account: first.owner,
    year: String(t.getUTCFullYear()),
    month: pad2(t.getUTCMonth() + 1),
    day: pad2(t.getUTCDate()),
    hour: pad2(t.getUTCHours()),
  };
}

/**
 * Answers every recordId exactly once, in order: DATA_MESSAGE -> Ok (NDJSON, one line per
 * log event), CONTROL_MESSAGE -> Dropped, undecodable -> ProcessingFailed (Firehose then
 * writes it under processing-failed/ with the original data).
 */
export function transformFirehoseEvent(event: FirehoseTransformationEvent): FirehoseTransformationResult {
  const records = event.records.map((record): FirehoseTransformationResultRecord => {
    const decoded = decodeCwlRecord(Buffer.from(record.data, 'base64'));
    if (decoded.kind === 'control') return { recordId: record.recordId, result: 'Dropped', data: '' };
    if (decoded.kind === 'failed') {
      return { recordId: record.recordId, result: 'ProcessingFailed', data: record.data };
    }
    const lines = decoded.envelope.logEvents.map((e) => archiveLine(decoded.envelope, e));
    const ndjson = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
    return {
      recordId: record.recordId,
      result: 'Ok',
      data: Buffer.from(ndjson, 'utf8').toString('base64'),
      metadata: { partitionKeys: partitionKeys(lines[0]!) },
    };
  });
  return { records };
}

/** The Lambda entry point Firehose invokes. */
export async function handler(event: FirehoseTransformationEvent): Promise<FirehoseTransformationResult> {
  return transformFirehoseEvent(event);
}
