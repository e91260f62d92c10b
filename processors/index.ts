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
export { deaggregate, isKplAggregate, type KinesisUserRecord } from './kpl.ts';
export { SOURCE_TYPES, detectSource, type DetectedEvent, type SourceType, type VpcFlowFormats } from './source.ts';
export {
  DEFAULT_INDEX_PREFIX,
  documentId,
  guardDutyDocumentId,
  indexName,
  toDocument,
  type IndexableDocument,
} from './document.ts';
export {
  createFirehoseTransformHandler,
  handler as firehoseTransformHandler,
  type Reingest,
  type TransformHandlerDeps,
  type TransformLogger,
  type TransformMetrics,
} from './firehose/handler.ts';
export {
  archiveLine,
  FIREHOSE_MAX_RESPONSE_BYTES,
  planFirehoseTransform,
  streamNameFromArn,
  type TransformOptions,
  type TransformPlan,
  type TransformStats,
} from './firehose/transform.ts';
export type {
  ArchiveLine,
  ArchivePartitionKeys,
  FirehoseResult,
  FirehoseTransformationEvent,
  FirehoseTransformationRecord,
  FirehoseTransformationResult,
  FirehoseTransformationResultRecord,
  KinesisRecordMetadata,
  ReingestRecord,
} from './firehose/types.ts';
