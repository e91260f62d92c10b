import type { _Record } from '@aws-sdk/client-kinesis';
import { deaggregate, decodeCwlRecord, toDocuments, type DocumentOptions } from '../../processors/index.ts';
import { MAX_EVENT_BYTES } from '../consumer-options.ts';
import { oversizedEvent, undecodableRecord, type DeadLetter, type RecordPosition } from '../sinks/dead-letter.ts';
import type { AlertDocument, RaisedAlert } from '../alerts/index.ts';
import { bulkLines, releaseBody, type BulkDocument } from '../sinks/opensearch-bulk.ts';

/** A decoded slice of a GetRecords response: documents to index, records that could not be read, records dropped on purpose. */
export interface PreparedBatch {
  documents: BulkDocument[];
  /** Undecodable records and oversized events: dead-lettered with the batch, before its checkpoint. */
  deadLetters: DeadLetter[];
  controlDropped: number;
  /** Records the transform put back into the stream; their originals were read already. */
  reingestedSkipped: number;
  /** Kinesis records covered (from the start index given). */
  records: number;
  /** Sequence number of the last record covered: the checkpoint once the batch is delivered. */
  lastSequenceNumber: string;
  /** Bytes of bulk NDJSON the documents make. */
  bytes: number;
  /** Alerts the documents raise, written once the documents are indexed. */
  alerts: RaisedAlert[];
}

export interface BatchOptions extends DocumentOptions {
  streamName: string;
  shardId: string;
  /** First record of `records` to take. */
  from?: number;
  /** Stop after the record that brings the NDJSON past this. */
  maxBytes?: number;
  maxEventBytes?: number;
  /** Detections: the alerts a document raises, asked before its body is released. */
  detect?: (doc: BulkDocument) => AlertDocument[] | undefined;
}

/**
 * Turns Kinesis records into documents, starting at `from` and stopping after the record
 * that brings the NDJSON past `maxBytes`, so one batch is about one bulk request and
 * memory stays bounded whatever the size of the GetRecords response. Undecodable
 * records become dead letters, never exceptions.
 */
export function prepareBatch(records: _Record[], options: BatchOptions): PreparedBatch {
  const from = options.from ?? 0;
  const maxEventBytes = options.maxEventBytes ?? MAX_EVENT_BYTES;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  // ECS event.ingested on every document: lag per account and log group is then an aggregation away.
  const ingested = new Date().toISOString();
  const batch: PreparedBatch = { documents: [], deadLetters: [], controlDropped: 0, reingestedSkipped: 0, records: 0, lastSequenceNumber: '', bytes: 0, alerts: [] };
  const detect = options.detect;
  for (let r = from; r < records.length && batch.bytes < maxBytes; r++) {
    const record = records[r]!;
    batch.records++;
    const position: RecordPosition = {
      streamName: options.streamName,
      shardId: options.shardId,
      sequenceNumber: record.SequenceNumber ?? '',
      arrivedAt: record.ApproximateArrivalTimestamp?.toISOString(),
    };
    batch.lastSequenceNumber = position.sequenceNumber;
    const data = record.Data ?? new Uint8Array();
    // CloudWatch Logs never aggregates, but a KPL producer writing to the same stream may.
    const parts = deaggregate(data, record.PartitionKey ?? '', position.sequenceNumber);
    if ('error' in parts) {
      batch.deadLetters.push(undecodableRecord(position, data, parts.error.message));
      continue;
    }
    for (const part of parts.records) {
      const decoded = decodeCwlRecord(part.data);
      if (decoded.kind === 'control') {
        batch.controlDropped++;
        continue;
      }
      if (decoded.kind === 'failed') {
        batch.deadLetters.push(undecodableRecord(position, data, decoded.error.message));
        continue;
      }
      if (decoded.reingested) {
        batch.reingestedSkipped++;
        continue;
      }
      const { envelope } = decoded;
      const source = { owner: envelope.owner, logGroup: envelope.logGroup, logStream: envelope.logStream };
      // Shared by the envelope's documents; read only if OpenSearch refuses one.
      const origin = { envelope: source, sequenceNumber: position.sequenceNumber, arrivedAt: position.arrivedAt };
      const docs = toDocuments(envelope, options);
      envelope.logEvents.forEach((event, i) => {
        // UTF-8 is at most 3 bytes per UTF-16 unit: only long messages need measuring.
        const size = event.message.length * 3 > maxEventBytes ? Buffer.byteLength(event.message) : 0;
        if (size > maxEventBytes) {
          batch.deadLetters.push(oversizedEvent(position, source, event, size, maxEventBytes));
          return;
        }
        const doc: BulkDocument = docs[i]!;
        (doc.body.event as Record<string, unknown>).ingested = ingested;
        doc.ndjson = bulkLines(doc);
        doc.bytes = doc.ndjson.length;
        doc.origin = { record: origin, event };
        const raised = detect?.(doc);
        if (raised) for (const alert of raised) batch.alerts.push({ document: doc, alert });
        releaseBody(doc);
        batch.bytes += doc.bytes;
        batch.documents.push(doc);
      });
    }
  }
  return batch;
}
