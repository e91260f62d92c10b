import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { utcHourPath } from '../../processors/index.ts';

/** Why and where a record or document left the pipeline without being indexed. */
export interface DeadLetter {
  reason: string;
  /**
   * 'decode': the Kinesis record could not be read; 'size': an event over the event size
   * limit; 'index': OpenSearch refused the document.
   */
  stage: 'decode' | 'size' | 'index';
  streamName: string;
  shardId: string;
  sequenceNumber: string;
  /** base64 of the Kinesis record data (decode failures). */
  rawData?: string;
  envelope?: { owner: string; logGroup: string; logStream: string };
  event?: { id: string; timestamp: number; message: string };
  document?: { index: string; id: string; body: Record<string, unknown> };
  status?: number;
  at: string;
}

/** Writes dead letters as gzip NDJSON objects, replayable later: one object per batch. */
export class DeadLetterSink {
  written = 0;

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    readonly prefix = 'dead-letters/',
  ) {}

  async write(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const now = new Date();
    const first = letters[0]!;
    const key =
      `${this.prefix}${utcHourPath(now)}/` +
      `${first.shardId}-${first.sequenceNumber}-${randomUUID()}.ndjson.gz`;
    const body = gzipSync(letters.map((l) => JSON.stringify(l)).join('\n') + '\n');
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/gzip' }),
    );
    this.written += letters.length;
  }
}
