import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  cloudTrailDocument,
  cloudTrailRecords,
  detectObjectFormat,
  ExportEventReader,
  isVpcFlowHeader,
  parseVpcFlowFormat,
  toDocument,
  type CwlEnvelope,
  formatFromKey,
  lineDocument,
  ObjectFormatError,
  objectReader,
  type DocumentOptions,
  type IndexableDocument,
  type ObjectFormat,
  type SkippedObject,
  type SourceType,
} from '../../processors/index.ts';
import { refusedObjectDocument, unreadableObject, type DeadLetter, type DeadLetterSink, type ObjectPosition } from '../sinks/dead-letter.ts';
import { bulkLines, type BulkDocument, type BulkSink } from '../sinks/opensearch-bulk.ts';
import type { ObjectCreated } from './notifications.ts';
import { decompressed, textLines, UnreadableObjectError } from './object-lines.ts';

/** What became of one object: each of its events is created, a duplicate, or dead-lettered. */
export interface ObjectOutcome {
  format: ObjectFormat | SkippedObject | 'cloudwatch_logs_export';
  /** Events made into documents. */
  events: number;
  created: number;
  duplicates: number;
  /** Documents OpenSearch refused for good, plus 1 for an object dead-lettered whole. */
  deadLettered: number;
  /** Documents created, by source. */
  createdBySource: Partial<Record<SourceType, number>>;
  /** Why the object was dead-lettered whole (it may have had events indexed before that point). */
  unreadable?: string;
}

export interface ObjectIngestOptions {
  documents: DocumentOptions;
  /** NDJSON bytes per _bulk request. */
  batchBytes: number;
}

/** The log group and stream an export task's object holds the events of, and their account. */
export interface ExportOrigin {
  owner: string;
  logGroup: string;
  logStream: string;
}

interface PendingDoc {
  doc: BulkDocument;
  line: number;
}

/**
 * Reads one S3 object and indexes its events: documents go to OpenSearch in bounded batches,
 * what OpenSearch refuses goes to dead letters, and an object that cannot be read as its format
 * is dead-lettered whole. Throws only for what a later attempt may get past (S3 or OpenSearch
 * unavailable, access denied): the caller then leaves the message for redelivery.
 */
export class ObjectIngest {
  constructor(
    private readonly s3: S3Client,
    private readonly bulk: BulkSink,
    private readonly deadLetters: DeadLetterSink,
    private readonly options: ObjectIngestOptions,
  ) {}

  async ingest(object: ObjectCreated, signal?: AbortSignal): Promise<ObjectOutcome> {
    const byKey = formatFromKey(object.key);
    const outcome = emptyOutcome(byKey ?? 'unknown_key');
    if (byKey === 'cloudtrail_digest' || byKey === 'parquet') return outcome;
    const { add, flush } = this.batcher(object, outcome, signal);

    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }), { abortSignal: signal });
      const lines = textLines(await decompressed(res.Body as AsyncIterable<Uint8Array>));
      // The first lines, enough to tell a pretty-printed CloudTrail file (`{` alone on line 1) by its content.
      const head: string[] = [];
      for (let chars = 0; head.length < 8 && chars < 512; ) {
        const next = await lines.next();
        if (next.done) break;
        head.push(next.value);
        chars += next.value.length;
      }
      const format = byKey ?? detectObjectFormat(object.key, head.join('\n'));
      outcome.format = format;
      if (format === 'unknown_key' || format === 'cloudtrail_digest' || format === 'parquet') {
        await lines.return(undefined);
        return outcome;
      }
      const reader = objectReader({ bucket: object.bucket, key: object.key, recordTime: object.eventTime }, format);
      if (format === 'cloudtrail') {
        for await (const l of lines) head.push(l);
        const records = cloudTrailRecords(head.join('\n'));
        for (let i = 0; i < records.length; i++) await add(cloudTrailDocument(reader, records[i], i, this.options.documents), i + 1);
      } else {
        let n = 0;
        for (const l of head) await add(lineDocument(reader, l, ++n, this.options.documents), n);
        for await (const l of lines) await add(lineDocument(reader, l, ++n, this.options.documents), n);
      }
      await flush();
    } catch (err) {
      await this.unreadable(object, outcome, flush, err);
    }
    return outcome;
  }

  /**
   * Reads one object a CloudWatch Logs export task wrote (`<ISO time> <message>` lines) as the
   * events of `origin`'s log group and stream: the same documents the subscription path makes
   * (source by the log group map, ECS fields), under ids made from each event's time and message.
   * Give documents options with `indexWindow.fromRecordTime` so the window is around each event's own time.
   */
  async ingestExport(object: ObjectCreated, origin: ExportOrigin, signal?: AbortSignal): Promise<ObjectOutcome> {
    const outcome = emptyOutcome('cloudwatch_logs_export');
    const { add, flush } = this.batcher(object, outcome, signal);
    const envelope: CwlEnvelope = { messageType: 'DATA_MESSAGE', owner: origin.owner, logGroup: origin.logGroup, logStream: origin.logStream, subscriptionFilters: [], logEvents: [] };
    const options = this.options.documents;
    let vpcFlowFormat = options.vpcFlowFormats?.[origin.logGroup];
    const reader = new ExportEventReader();
    // Like every document read from S3, it names the object it came from.
    const located = (doc: IndexableDocument): IndexableDocument => {
      const aws = doc.body.aws as Record<string, unknown>;
      aws.s3 = { bucket: { name: object.bucket, arn: `arn:aws:s3:::${object.bucket}` }, object: { key: object.key } };
      doc.body.log = { ...(doc.body.log as object | undefined), file: { path: `s3://${object.bucket}/${object.key}` } };
      return doc;
    };
    const emit = async (event: ReturnType<ExportEventReader['flush']>): Promise<void> => {
      if (!event) return;
      if (isVpcFlowHeader(event.message)) {
        try {
          vpcFlowFormat = parseVpcFlowFormat(event.message);
        } catch {
          // not a usable header after all: indexed as a generic document below
        }
      }
      const { line, ...cwlEvent } = event;
      await add(located(toDocument(envelope, cwlEvent, options, vpcFlowFormat)), line);
    };
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }), { abortSignal: signal });
      let n = 0;
      for await (const l of textLines(await decompressed(res.Body as AsyncIterable<Uint8Array>))) await emit(reader.push(l, ++n));
      await emit(reader.flush());
      // Text before the first timed line is no export line; it is still indexed, under its line's id.
      for (const o of reader.orphans) await add(located(toDocument(envelope, { id: `export-line:${object.key}:${o.line}`, timestamp: object.eventTime, message: o.text }, options)), o.line);
      await flush();
    } catch (err) {
      await this.unreadable(object, outcome, flush, err);
    }
    return outcome;
  }

  /** Documents go to OpenSearch in batches of batchBytes; what it refuses, to dead letters. */
  private batcher(object: ObjectCreated, outcome: ObjectOutcome, signal?: AbortSignal) {
    const position = (firstLine: number): ObjectPosition => objectPosition(object, firstLine);
    let pending: PendingDoc[] = [];
    let bytes = 0;
    const ingested = new Date().toISOString();
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      bytes = 0;
      const result = await this.bulk.write(
        batch.map((p) => p.doc),
        signal,
      );
      outcome.created += result.created.length;
      outcome.duplicates += result.duplicates.length;
      for (const d of result.created) outcome.createdBySource[d.source] = (outcome.createdBySource[d.source] ?? 0) + 1;
      if (result.rejected.length > 0) {
        const lineOf = new Map(batch.map((p) => [p.doc, p.line]));
        const letters: DeadLetter[] = result.rejected.map((r) => refusedObjectDocument(position(batch[0]!.line), r, lineOf.get(r.document)));
        await this.deadLetters.write(letters);
        outcome.deadLettered += letters.length;
      }
    };
    const add = async (doc: IndexableDocument | undefined, line: number): Promise<void> => {
      if (!doc) return;
      outcome.events++;
      (doc.body.event as Record<string, unknown>).ingested = ingested;
      const b: BulkDocument = doc;
      b.ndjson = bulkLines(doc);
      b.bytes = Buffer.byteLength(b.ndjson);
      pending.push({ doc: b, line });
      bytes += b.bytes;
      if (bytes >= this.options.batchBytes) await flush();
    };
    return { add, flush };
  }

  /** Dead-letters an object that can never be read (rethrows what a later attempt may get past). */
  private async unreadable(object: ObjectCreated, outcome: ObjectOutcome, flush: () => Promise<void>, err: unknown): Promise<void> {
    const reason = unreadableReason(err);
    if (reason === undefined) throw err;
    // What was indexed before the failure stays (its ids make a re-read harmless); the rest is named.
    await flush();
    await this.deadLetters.write([unreadableObject(objectPosition(object, 0), reason)]);
    outcome.deadLettered++;
    outcome.unreadable = reason;
  }
}

function objectPosition(object: ObjectCreated, firstLine: number): ObjectPosition {
  return { bucket: object.bucket, key: object.key, firstLine, storedAt: new Date(object.eventTime).toISOString() };
}

function emptyOutcome(format: ObjectOutcome['format']): ObjectOutcome {
  return { format, events: 0, created: 0, duplicates: 0, deadLettered: 0, createdBySource: {} };
}

/** Why an object can never be read, or undefined for a failure a later attempt may get past. */
function unreadableReason(err: unknown): string | undefined {
  if (err instanceof UnreadableObjectError || err instanceof ObjectFormatError) return err.message;
  const name = (err as { name?: string }).name;
  // Deleted (or never readable) before we came: nothing will appear under that key for this event.
  if (name === 'NoSuchKey') return 'missing: NoSuchKey';
  return undefined;
}
