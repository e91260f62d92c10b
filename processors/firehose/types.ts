import type { SourceType } from '../source.ts';

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
  policyLevel?: string;
}

/** A record to put back into the source stream (the response had no room for its output). */
export interface ReingestRecord {
  partitionKey: string;
  data: Buffer;
  /** The recordId whose output it carries, for logs. */
  recordId: string;
}
