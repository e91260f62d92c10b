/** The source families centralog indexes; `cloudwatch_logs` is the generic fallback. */
export type SourceType = 'cloudtrail' | 'vpcflow' | 'guardduty' | 'cloudwatch_logs';

export const SOURCE_TYPES: readonly SourceType[] = ['cloudtrail', 'vpcflow', 'guardduty', 'cloudwatch_logs'];

/** Custom VPC flow log formats (field names, in order) by log group name. */
export type VpcFlowFormats = Record<string, string[]>;

/** A log event's message with its source and, for JSON sources, the parsed object. */
export type DetectedEvent =
  | { source: 'cloudtrail'; record: Record<string, unknown> }
  | { source: 'guardduty'; finding: Record<string, unknown>; envelope?: Record<string, unknown> }
  | { source: 'vpcflow'; fields: string[] }
  | { source: 'cloudwatch_logs'; json?: Record<string, unknown> };

const VPC_ACTIONS = new Set(['ACCEPT', 'REJECT', '-']);
const VPC_LOG_STATUS = new Set(['OK', 'NODATA', 'SKIPDATA']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCloudTrailRecord(o: Record<string, unknown>): boolean {
  return typeof o.eventVersion === 'string' && typeof o.eventSource === 'string';
}

function isBareFinding(o: Record<string, unknown>): boolean {
  return 'schemaVersion' in o && typeof o.type === 'string' && 'severity' in o;
}

/** Default (version 2) VPC flow log line: 14 space-separated fields. */
function isDefaultVpcFlowLine(fields: string[]): boolean {
  return (
    fields.length === 14 &&
    fields[0] === '2' &&
    /^\d{12}$/.test(fields[1] ?? '') &&
    VPC_ACTIONS.has(fields[12] ?? '') &&
    VPC_LOG_STATUS.has(fields[13] ?? '')
  );
}

/** Detects an event's source from its payload, never from a log group name. */
export function detectSource(message: string, _vpcFlowFormat?: string[]): DetectedEvent {
  const trimmed = message.trimStart();
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      return { source: 'cloudwatch_logs' };
    }
    if (!isObject(json)) return { source: 'cloudwatch_logs' };
    if (isCloudTrailRecord(json)) return { source: 'cloudtrail', record: json };
    const detail = json.detail;
    if (isObject(detail)) {
      if (json['detail-type'] === 'AWS API Call via CloudTrail' && isCloudTrailRecord(detail)) {
        return { source: 'cloudtrail', record: detail };
      }
      if (json.source === 'aws.guardduty' && json['detail-type'] === 'GuardDuty Finding') {
        return { source: 'guardduty', finding: detail, envelope: json };
      }
    }
    if (isBareFinding(json)) return { source: 'guardduty', finding: json };
    return { source: 'cloudwatch_logs', json };
  }
  const fields = trimmed.trimEnd().split(/\s+/);
  if (isDefaultVpcFlowLine(fields)) return { source: 'vpcflow', fields };
  return { source: 'cloudwatch_logs' };
}
