// Where records go: OpenSearch, S3 dead letters, and back into the stream.
export {
  DeadLetterSink,
  oversizedEvent,
  refusedDocument,
  refusedObjectDocument,
  undecodableRecord,
  unreadableObject,
  type DeadLetter,
  type ObjectPosition,
  type RecordPosition,
} from './dead-letter.ts';
export { PutRecordsFailedError, putRecordsWithRetry } from './kinesis-put.ts';
export { kinesisReingest } from './kinesis-reingest.ts';
export { BulkSink, BulkUnavailableError, bulkLines, documentBody, type BulkDocument, type BulkOutcome, type BulkSinkOptions, type RejectedDocument } from './opensearch-bulk.ts';
export { SystemicRefusalError } from './refusals.ts';
