import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { utcHourPath } from '../../processors/index.ts';
import { documentBody, type RejectedDocument } from './opensearch-bulk.ts';

/** Why and where a record or document left the pipeline without being indexed. */
export interface DeadLetter {
  reason: string;
  /**
   * 'decode': the Kinesis record could not be read; 'size': an event over the event size
   * limit; 'index': OpenSearch refused the document; 'object': an S3 object that cannot be
   * read as its format (bad gzip, not a CloudTrail file...).
   */
  stage: 'decode' | 'size' | 'index' | 'object';
  streamName: string;
  shardId: string;
  sequenceNumber: string;
  /** base64 of the Kinesis record data (decode failures). */
  rawData?: string;
  envelope?: { owner: string; logGroup: string; logStream: string };
  event?: { id: string; timestamp: number; message: string };
  document?: { index: string; id: string; body: Record<string, unknown> };
  status?: number;
  /** When the record reached Kinesis (ApproximateArrivalTimestamp): fixes the object's key. */
  arrivedAt?: string;
  /** The S3 object an event came from (the S3 way in), and its line where it has lines. */
  object?: { bucket: string; key: string; line?: number };
  at: string;
}

/** Where a Kinesis record sits: every dead letter names it, and its key is made from it. */
export interface RecordPosition {
  streamName: string;
  shardId: string;
  sequenceNumber: string;
  /** ApproximateArrivalTimestamp, ISO. */
  arrivedAt?: string;
}

type Envelope = NonNullable<DeadLetter['envelope']>;
type LogEvent = NonNullable<DeadLetter['event']>;

/** A Kinesis record that could not be read (bad gzip, JSON, envelope or KPL aggregate): kept whole. */
export function undecodableRecord(at: RecordPosition, data: Uint8Array, reason: string): DeadLetter {
  return { reason: `decode ${reason}`, stage: 'decode', ...at, rawData: Buffer.from(data).toString('base64'), at: new Date().toISOString() };
}

/** An event larger than the event size limit: kept out of OpenSearch. */
export function oversizedEvent(at: RecordPosition, envelope: Envelope, event: LogEvent, size: number, limit: number): DeadLetter {
  return {
    reason: `oversized: message of ${size} bytes is over the ${limit}-byte event limit`,
    stage: 'size',
    ...at,
    envelope,
    event: { id: event.id, timestamp: event.timestamp, message: event.message },
    at: new Date().toISOString(),
  };
}

/** A document OpenSearch refused for good (mapping conflict, too large...). */
export function refusedDocument(streamName: string, shardId: string, refused: RejectedDocument): DeadLetter {
  const { document, status, reason } = refused;
  const origin = document.origin;
  const event = origin?.event;
  return {
    reason: `index ${status}: ${reason}`,
    stage: 'index',
    streamName,
    shardId,
    sequenceNumber: origin?.record.sequenceNumber ?? '',
    arrivedAt: origin?.record.arrivedAt,
    envelope: origin?.record.envelope,
    event: event && { id: event.id, timestamp: event.timestamp, message: event.message },
    document: { index: document.index, id: document.id, body: documentBody(document) },
    status,
    at: new Date().toISOString(),
  };
}

/**
 * Where a batch of an S3 object's events sits. Dead letters of the S3 way in take the place of
 * a record position: stream `s3`, the bucket as shard, and the key's hash plus the batch's first
 * line as sequence number, so each batch rewrites its own object when retried.
 */
export interface ObjectPosition {
  bucket: string;
  key: string;
  /** First line (1-based) of the batch; 0 for the object as a whole. */
  firstLine: number;
  /** When S3 stored the object (the notification's eventTime), ISO: fixes the letter's key. */
  storedAt: string;
}

function objectRecord(at: ObjectPosition): RecordPosition {
  const keyHash = createHash('sha256').update(`${at.bucket}/${at.key}`).digest('hex').slice(0, 32);
  return { streamName: 's3', shardId: at.bucket, sequenceNumber: `${keyHash}-${at.firstLine}`, arrivedAt: at.storedAt };
}

/** An S3 object that cannot be read as its format: named, never retried (the next read would fail the same way). */
export function unreadableObject(at: ObjectPosition, reason: string): DeadLetter {
  return { reason: `object ${reason}`, stage: 'object', ...objectRecord(at), object: { bucket: at.bucket, key: at.key }, at: new Date().toISOString() };
}

/** A document of an S3 object's event that OpenSearch refused for good; `line` is where the event sits. */
export function refusedObjectDocument(at: ObjectPosition, refused: RejectedDocument, line?: number): DeadLetter {
  const { document, status, reason } = refused;
  return {
    reason: `index ${status}: ${reason}`,
    stage: 'index',
    ...objectRecord(at),
    object: { bucket: at.bucket, key: at.key, line },
    document: { index: document.index, id: document.id, body: documentBody(document) },
    status,
    at: new Date().toISOString(),
  };
}

/**
 * Writes dead letters as gzip NDJSON objects, replayable later: one object per Kinesis
 * record, under a key made of the record's arrival hour, shard and sequence number. A
 * record handled twice (a lease taken over before its checkpoint) rewrites the same
 * object instead of adding a second copy.
 */
export class DeadLetterSink {
  written = 0;

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    readonly prefix = 'dead-letters/',
  ) {}

  /** The object a dead letter belongs to. */
  keyOf(letter: DeadLetter): string {
    const hour = utcHourPath(new Date(letter.arrivedAt ?? letter.at));
    return `${this.prefix}${hour}/${letter.streamName}/${letter.shardId}/${letter.sequenceNumber || 'unknown'}.ndjson.gz`;
  }

  async write(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const objects = new Map<string, DeadLetter[]>();
    for (const l of letters) {
      const key = this.keyOf(l);
      objects.set(key, [...(objects.get(key) ?? []), l]);
    }
    const entries = [...objects];
    // A few uploads at a time: a burst of refused documents must not open hundreds of sockets.
    for (let i = 0; i < entries.length; i += 8) {
      await Promise.all(
        entries.slice(i, i + 8).map(([key, group]) => {
          const body = gzipSync(group.map((l) => JSON.stringify(l)).join('\n') + '\n');
          return this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/gzip' }));
        }),
      );
    }
    this.written += letters.length;
  }
}
