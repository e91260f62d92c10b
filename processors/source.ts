import { obj, type Obj } from './parsers/values.ts';
import { DEFAULT_VPC_FLOW_FORMAT, looksLikeVpcFlowLine, mayBeWrappedVpcFlowLine, wrappedVpcFlowLine } from './parsers/vpcflow.ts';

/**
 * The source families centralog indexes; `cloudwatch_logs` is the generic fallback. `elb`
 * (load balancer access logs) only arrives as S3 objects, so payload detection never returns it.
 */
export type SourceType = 'cloudtrail' | 'vpcflow' | 'guardduty' | 'elb' | 'cloudwatch_logs';

export const SOURCE_TYPES: readonly SourceType[] = ['cloudtrail', 'vpcflow', 'guardduty', 'elb', 'cloudwatch_logs'];

/** Custom VPC flow log formats (field names, in order) by log group name. */
export type VpcFlowFormats = Record<string, string[]>;

/**
 * What an operator (or the member stack, or `onboard`) says a log group carries. A group mapped
 * to a source is parsed only as that source; `trusted` lets the payload decide, as for a group
 * an organisation's own forwarder writes mixed sources to.
 */
export type LogGroupSource = 'cloudtrail' | 'vpcflow' | 'guardduty' | 'trusted';
export const LOG_GROUP_SOURCES: readonly LogGroupSource[] = ['cloudtrail', 'vpcflow', 'guardduty', 'trusted'];
export type LogGroupSources = Record<string, LogGroupSource>;

/** Compiled maps, built once per map object: lookups sit on every event's path. */
const compiledSources = new WeakMap<LogGroupSources, (logGroup: string) => LogGroupSource | undefined>();

/**
 * What a log group is mapped to. A key ending in `*` maps every group it is a prefix of (the
 * member stack names its groups by pattern, e.g. `aws-cloudtrail-logs-*`); an exact name wins
 * over a pattern, and a longer pattern over a shorter one. `*` alone maps every group.
 */
export function logGroupSourceOf(sources: LogGroupSources, logGroup: string): LogGroupSource | undefined {
  let lookup = compiledSources.get(sources);
  if (!lookup) {
    const exact = new Map<string, LogGroupSource>();
    const patterns: [string, LogGroupSource][] = [];
    for (const [key, source] of Object.entries(sources)) {
      if (key.endsWith('*')) patterns.push([key.slice(0, -1), source]);
      else exact.set(key, source);
    }
    patterns.sort((a, b) => b[0].length - a[0].length);
    lookup = (group) => exact.get(group) ?? patterns.find(([prefix]) => group.startsWith(prefix))?.[1];
    compiledSources.set(sources, lookup);
  }
  return lookup(logGroup);
}

/** A log event's message with its source and what detection already parsed. */
export type DetectedEvent =
  | { source: 'cloudtrail'; record: Record<string, unknown> }
  | { source: 'guardduty'; finding: Record<string, unknown>; envelope?: Record<string, unknown> }
  | { source: 'vpcflow'; line: string; format: string[] }
  | { source: 'cloudwatch_logs'; json?: Record<string, unknown> };

/** CloudTrail records carry eventVersion and eventSource; Insight events carry their source inside insightDetails. */
// CloudTrail names services by host (`s3.amazonaws.com`); an S3 or Kinesis event notification
// a Lambda logs has eventVersion and eventSource too (`aws:s3`) and must not become CloudTrail.
function isCloudTrailRecord(o: Obj): boolean {
  if (typeof o.eventVersion !== 'string') return false;
  if (typeof o.eventSource === 'string') return o.eventSource.endsWith('.amazonaws.com');
  return obj(o.insightDetails) !== undefined;
}

function isBareFinding(o: Obj): boolean {
  return 'schemaVersion' in o && typeof o.type === 'string' && 'severity' in o;
}

/** EventBridge detail-types that carry a CloudTrail record as `detail`. */
const CLOUDTRAIL_DETAIL_TYPES = new Set([
  'AWS API Call via CloudTrail',
  'AWS Console Sign In via CloudTrail',
  'AWS Service Event via CloudTrail',
  'AWS Insight via CloudTrail',
]);

/** Flow lines are single-space separated; the regex split is only needed for other whitespace. */
function splitFields(line: string): string[] {
  return line.includes('  ') || line.includes('\t') ? line.split(/\s+/) : line.split(' ');
}

/**
 * Detects an event's source from its payload, never from a log group name. A VPC flow
 * line is recognised in its log group's configured format, else in the default v2 format.
 */
export function detectSource(message: string, vpcFlowFormat?: string[]): DetectedEvent {
  const trimmed = message.trim();
  if (trimmed.startsWith('{')) {
    let json: Obj | undefined;
    try {
      json = obj(JSON.parse(trimmed));
    } catch {
      return { source: 'cloudwatch_logs' };
    }
    if (!json) return { source: 'cloudwatch_logs' };
    if (isCloudTrailRecord(json)) return { source: 'cloudtrail', record: json };
    const detail = obj(json.detail);
    if (detail) {
      if (CLOUDTRAIL_DETAIL_TYPES.has(String(json['detail-type'])) && isCloudTrailRecord(detail)) {
        return { source: 'cloudtrail', record: detail };
      }
      if (json.source === 'aws.guardduty' && json['detail-type'] === 'GuardDuty Finding') {
        return { source: 'guardduty', finding: detail, envelope: json };
      }
    }
    if (isBareFinding(json)) return { source: 'guardduty', finding: json };
    // A flow line some forwarders wrap as {"message": "2 123456789012 eni-..."}.
    const wrapped = wrappedVpcFlowLine(json);
    return (wrapped !== undefined ? detectVpcFlowLine(wrapped, vpcFlowFormat) : undefined) ?? { source: 'cloudwatch_logs', json };
  }
  return detectVpcFlowLine(trimmed, vpcFlowFormat) ?? { source: 'cloudwatch_logs' };
}

function detectVpcFlowLine(line: string, vpcFlowFormat: string[] | undefined): DetectedEvent | undefined {
  const fields = splitFields(line);
  if (vpcFlowFormat && looksLikeVpcFlowLine(fields, vpcFlowFormat)) return { source: 'vpcflow', line, format: vpcFlowFormat };
  if (looksLikeVpcFlowLine(fields, DEFAULT_VPC_FLOW_FORMAT)) return { source: 'vpcflow', line, format: DEFAULT_VPC_FLOW_FORMAT };
  return undefined;
}

/**
 * The archive's label for an event of a log group mapped to `mapping`: the mapped source when
 * the message carries the keys that source's events always have, without parsing it (the
 * consumer parses a mapped group's events as its source only, so this is the parser they
 * meet). Anything else, and every unmapped group, takes sniffSource's label. A line that has
 * the keys but is not that source's event after all (invalid JSON, say) is labelled with the
 * mapped source, and its generic document is found by replaying that source.
 */
export function archiveSource(message: string, vpcFlowFormat: string[] | undefined, mapping: LogGroupSource | undefined): SourceType {
  if (mapping === 'cloudtrail' || mapping === 'guardduty') {
    if (startsWithBrace(message) && (mapping === 'cloudtrail' ? looksLikeCloudTrail(message) : looksLikeGuardDuty(message))) return mapping;
  }
  return sniffSource(message, vpcFlowFormat);
}

/** `{` after any leading whitespace: the only messages detection parses as JSON. */
const startsWithBrace = (message: string): boolean => message.charCodeAt(0) === 123 || message.trimStart().charCodeAt(0) === 123;

const looksLikeCloudTrail = (message: string) => message.includes('"eventVersion"') && (message.includes('"eventSource"') || message.includes('"insightDetails"'));
const looksLikeGuardDuty = (message: string) =>
  (message.includes('"aws.guardduty"') && message.includes('"GuardDuty Finding"')) ||
  (message.includes('"schemaVersion"') && message.includes('"severity"') && message.includes('"type"'));

/**
 * The source label the archive partitions by: detectSource's, so a replay of a partition finds
 * exactly what that source's documents (or parse failures) came from. JSON is only parsed when
 * it holds the strings one of detection's matches needs, as they also sit nested in logged
 * Kinesis/S3 events and CloudTrail files; most application logs hold none and stay cheap.
 */
export function sniffSource(message: string, vpcFlowFormat?: string[]): SourceType {
  const candidate =
    !startsWithBrace(message) ||
    looksLikeCloudTrail(message) ||
    looksLikeGuardDuty(message) ||
    message.includes('\\u') || // an escape could spell any of them
    mayBeWrappedVpcFlowLine(message);
  return candidate ? detectSource(message, vpcFlowFormat).source : 'cloudwatch_logs';
}
