import type { _Record } from '@aws-sdk/client-kinesis';
import { decodeCwlRecord, toDocument, type IndexableDocument } from '../../processors/index.ts';
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
export function prepareBatch(records: _Record[], streamName: string, shardId: string, indexPrefix: string): PreparedBatch {
  const batch: PreparedBatch = { documents: [], origins: new Map(), deadLetters: [], controlDropped: 0 };
  for (const record of records) {
    const sequenceNumber = record.SequenceNumber ?? '';
    const decoded = decodeCwlRecord(record.Data ?? new Uint8Array());
    if (decoded.kind === 'control') {
      batch.controlDropped++;
      continue;
    }
    if (decoded.kind === 'failed') {
      batch.deadLetters.push({
        reason: `decode ${decoded.error.message}`,
        stage: 'decode',
        streamName,
        shardId,
        sequenceNumber,
        rawData: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
        at: new Date().toISOString(),
      });
      continue;
    }
    const { envelope } = decoded;
    const source = { owner: envelope.owner, logGroup: envelope.logGroup, logStream: envelope.logStream };
    for (const event of envelope.logEvents) {
      const doc = toDocument(envelope, event, indexPrefix);
      batch.documents.push(doc);
      batch.origins.set(doc, {
        envelope: source,
        event: { id: event.id, timestamp: event.timestamp, message: event.message },
        sequenceNumber,
      });
    }
  }
  return batch;
}
