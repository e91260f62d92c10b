// Pure record processing shared by the Firehose transform Lambda and the consumer: no I/O here.
export {
  CwlEnvelopeSchema,
  CwlLogEventSchema,
  DecodeError,
  decodeCwlJson,
  inflateCwlPayload,
  decodeCwlRecord,
  encodeCwlRecord,
  type CwlEnvelope,
  type CwlLogEvent,
  type DecodedRecord,
  type DecodeFailureReason,
} from './cwl-codec.ts';
export { chunkBySize } from './chunk.ts';
export { deaggregate, isKplAggregate, type KinesisUserRecord } from './kpl.ts';
export { pad2, utcHourPath, utcParts, type UtcParts } from './utc.ts';
export { jsonText, LogGroupSourcesSchema, TRANSFORM_PROCESSOR_BUFFER_MB, TransformOptionsSchema, VpcFlowFormatsSchema } from './options.ts';
export {
  LOG_GROUP_SOURCES,
  SOURCE_TYPES,
  detectSource,
  logGroupSourceOf,
  sniffSource,
  type DetectedEvent,
  type LogGroupSource,
  type LogGroupSources,
  type SourceType,
  type VpcFlowFormats,
} from './source.ts';
export {
  DEFAULT_INDEX_PREFIX,
  DEFAULT_MAX_EVENT_AGE_DAYS,
  documentId,
  ECS_VERSION,
  eventTimeInRange,
  windowReference,
  boundedIndex,
  hashId,
  IndexBudget,
  MAX_EVENT_AHEAD_MS,
  guardDutyDocumentId,
  indexName,
  parseEventAs,
  toDocument,
  toDocuments,
  type DocumentOptions,
  type IndexableDocument,
  type IndexRedirect,
  type IndexWindow,
} from './document.ts';
export { parseCloudTrailRecord } from './parsers/cloudtrail.ts';
export { parseGuardDutyFinding } from './parsers/guardduty.ts';
export { ALB_FIELDS, parseAlbLogEntry, splitAlbEntry } from './parsers/alb.ts';
export * from './s3/index.ts';
export { ParseError, type EcsDocument, type ParseContext, type ParsedEvent } from './parsers/types.ts';
export {
  compileVpcFlowFormat,
  DEFAULT_VPC_FLOW_FORMAT,
  isVpcFlowHeader,
  looksLikeVpcFlowLine,
  parseVpcFlowFormat,
  parseVpcFlowLine,
  VPC_FLOW_FIELDS,
} from './parsers/vpcflow.ts';
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
