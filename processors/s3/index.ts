// S3 objects (load balancer access logs, CloudTrail, VPC flow and GuardDuty files) -> documents.
export { accountFromKey, detectObjectFormat, formatFromContent, formatFromKey, regionFromKey, type ObjectFormat, type SkippedObject } from './object-format.ts';
export {
  cloudTrailDocument,
  cloudTrailRecords,
  lineDocument,
  ObjectFormatError,
  objectReader,
  type ObjectReader,
  type S3ObjectRef,
} from './object-documents.ts';
export { ExportEventReader, exportEventId, exportObjectKey, parseExportLine, type ExportObjectKey } from './cwl-export.ts';
