import type { _Record } from '@aws-sdk/client-kinesis';
import { deaggregate, decodeCwlRecord, toDocuments, type DecodeError, type DocumentOptions, type IndexableDocument } from '../../processors/index.ts';
import type { DeadLetter } from '../sinks/dead-letter.ts';

/** A decoded batch: documents to index, records that could not be read, control messages. */
export interface PreparedBatch {
  documents: IndexableDocument[];
  /** Envelope and raw event of each document, kept for dead letters. */
  origins: Map<IndexableDocument, Pick<DeadLetter, 'envelope' | 'event' | 'sequenceNumber'>>;
  deadLetters: DeadLetter[];
  controlDropped: number;
}

/** Turns Kinesis records into documents; undecodable records become dead letters, never exceptions. */
export function prepareBatch(records: _Record[], streamName: string, shardId: string, options: DocumentOptions): PreparedBatch {
  const batch: PreparedBatch = { documents: [], origins: new Map(), deadLetters: [], controlDropped: 0 };
  for (const record of records) {
    const sequenceNumber = record.SequenceNumber ?? '';
    const data = record.Data ?? new Uint8Array();
    const deadLetter = (error: DecodeError): void => {
      batch.deadLetters.push({
        reason: `decode ${error.message}`,
        stage: 'decode',
        streamName,
        shardId,
        sequenceNumber,
        rawData: Buffer.from(data).toString('base64'),
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
      const docs = toDocuments(envelope, options);
      envelope.logEvents.forEach((event, i) => {
        const doc = docs[i]!;
        batch.documents.push(doc);
        batch.origins.set(doc, {
          envelope: source,
          event: { id: event.id, timestamp: event.timestamp, message: event.message },
          sequenceNumber,
        });
      });
    }
  }
  return batch;
}
