// Pure record processing shared by the Firehose transform Lambda and the consumer: no I/O here.
export {
  CwlEnvelopeSchema,
  CwlLogEventSchema,
  DecodeError,
  decodeCwlRecord,
  encodeCwlRecord,
  type CwlEnvelope,
  type CwlLogEvent,
  type DecodedRecord,
  type DecodeFailureReason,
} from './cwl-codec.ts';
export { SOURCE_TYPES, detectSource, type DetectedEvent, type SourceType } from './source.ts';
export {
  DEFAULT_INDEX_PREFIX,
  documentId,
  guardDutyDocumentId,
  indexName,
  toDocument,
  type IndexableDocument,
} from './document.ts';
export {
  archiveLine,
  handler as firehoseTransformHandler,
  transformFirehoseEvent,
  type ArchiveLine,
  type ArchivePartitionKeys,
  type FirehoseResult,
  type FirehoseTransformationEvent,
  type FirehoseTransformationRecord,
  type FirehoseTransformationResult,
  type FirehoseTransformationResultRecord,
  type KinesisRecordMetadata,
} from './firehose-transform.ts';
