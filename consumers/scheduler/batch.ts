import type { _Record } from '@aws-sdk/client-kinesis';
import { deaggregate, decodeCwlRecord, toDocuments, type DecodeError, type DocumentOptions } from '../../processors/index.ts';
import type { DeadLetter } from '../sinks/dead-letter.ts';
import { bulkLines, type BulkDocument } from '../sinks/opensearch-bulk.ts';

/**
 * The CloudWatch Logs event limit (256 KiB) by default: anything larger did not come
 * from a subscription as documented and is kept out of OpenSearch, in dead letters.
 */
export const MAX_EVENT_BYTES = 256 * 1024;

/** A decoded slice of a GetRecords response: documents to index, records that could not be read, control messages. */
export interface PreparedBatch {
  documents: BulkDocument[];
  deadLetters: DeadLetter[];
  controlDropped: number;
  /** Kinesis records covered (from the start index given). */
  records: number;
  /** Sequence number of the last record covered: the checkpoint once the batch is delivered. */
  lastSequenceNumber: string;
  /** Bytes of bulk NDJSON the documents make. */
  bytes: number;
}

/**
 * Turns Kinesis records into documents, starting at `from` and stopping after the record
 * that brings the NDJSON past `maxBytes`, so one batch is about one bulk request and
 * memory stays bounded whatever the size of the GetRecords response. Undecodable
 * records become dead letters, never exceptions.
 */
export function prepareBatch(
  records: _Record[],
  streamName: string,
  shardId: string,
  options: DocumentOptions & { from?: number; maxBytes?: number; maxEventBytes?: number },
): PreparedBatch {
  const from = options.from ?? 0;
  const maxEventBytes = options.maxEventBytes ?? MAX_EVENT_BYTES;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const batch: PreparedBatch = {
    documents: [],
    deadLetters: [],
    controlDropped: 0,
    records: 0,
    lastSequenceNumber: '',
    bytes: 0,
  };
  for (let r = from; r < records.length && batch.bytes < maxBytes; r++) {
    const record = records[r]!;
    batch.records++;
    const sequenceNumber = record.SequenceNumber ?? '';
    const arrivedAt = record.ApproximateArrivalTimestamp?.toISOString();
    batch.lastSequenceNumber = sequenceNumber;
    const data = record.Data ?? new Uint8Array();
    const deadLetter = (error: DecodeError): void => {
      batch.deadLetters.push({
        reason: `decode ${error.message}`,
        stage: 'decode',
        streamName,
        shardId,
        sequenceNumber,
        rawData: Buffer.from(data).toString('base64'),
        arrivedAt,
        at: new Date().toISOString(),
      });
    };
    // CloudWatch Logs never aggregates, but a KPL producer writing to the same stream may.
    const parts = deaggregate(data, record.PartitionKey ?? '', sequenceNumber);
    if ('error' in parts) {
      deadLetter(parts.error);
      continue;
    }
    for (const part of parts.records) {
      const decoded = decodeCwlRecord(part.data);
      if (decoded.kind === 'control') {
        batch.controlDropped++;
        continue;
      }
      if (decoded.kind === 'failed') {
        deadLetter(decoded.error);
        continue;
      }
      const { envelope } = decoded;
      const source = { owner: envelope.owner, logGroup: envelope.logGroup, logStream: envelope.logStream };
      // Shared by the envelope's documents; read only if OpenSearch refuses one.
      const record = { envelope: source, sequenceNumber, arrivedAt };
      const docs = toDocuments(envelope, options);
      envelope.logEvents.forEach((event, i) => {
        // UTF-8 is at most 3 bytes per UTF-16 unit: only long messages need measuring.
        const size = event.message.length * 3 > maxEventBytes ? Buffer.byteLength(event.message) : 0;
        if (size > maxEventBytes) {
          batch.deadLetters.push({
            reason: `oversized: message of ${size} bytes is over the ${maxEventBytes}-byte event limit`,
            stage: 'size',
            streamName,
            shardId,
            sequenceNumber,
            envelope: source,
            event: { id: event.id, timestamp: event.timestamp, message: event.message },
            arrivedAt,
            at: new Date().toISOString(),
          });
          return;
        }
        const doc: BulkDocument = docs[i]!;
        doc.ndjson = bulkLines(doc);
        doc.bytes = Buffer.byteLength(doc.ndjson);
        doc.origin = { record, event };
        batch.bytes += doc.bytes;
        batch.documents.push(doc);
      });
    }
  }
  return batch;
}
