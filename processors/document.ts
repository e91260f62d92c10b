import { createHash } from 'node:crypto';
import type { CwlEnvelope, CwlLogEvent } from './cwl-codec.ts';
import { detectSource, type DetectedEvent, type SourceType } from './source.ts';

export const DEFAULT_INDEX_PREFIX = 'centralog';

/** A document ready for OpenSearch: where it goes, under which id, and its ECS body. */
export interface IndexableDocument {
  index: string;
  id: string;
  source: SourceType;
  /** The CloudWatch Logs event time (ms), used for end-to-end lag. */
  eventTimestamp: number;
  body: Record<string, unknown>;
}

function hashId(parts: string[]): string {
  return createHash('sha256').update(parts.join('|')).digest('base64url');
}

/** Stable id of a log event: the same event always maps to the same document. */
export function documentId(envelope: Pick<CwlEnvelope, 'owner' | 'logGroup' | 'logStream'>, eventId: string): string {
  return hashId([envelope.owner, envelope.logGroup, envelope.logStream, eventId]);
}

/** GuardDuty repeats a finding id with a new updatedAt; each update is its own document. */
export function guardDutyDocumentId(findingId: string, updatedAt: string): string {
  return hashId(['guardduty', findingId, updatedAt]);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `<prefix>-aws.<source>-YYYY.MM.DD`, from the event's own time in UTC. */
export function indexName(prefix: string, source: SourceType, eventTime: Date): string {
  const day = `${eventTime.getUTCFullYear()}.${pad2(eventTime.getUTCMonth() + 1)}.${pad2(eventTime.getUTCDate())}`;
  return `${prefix}-aws.${source}-${day}`;
}

/** Parses the timestamps sources use ("2025-02-25 20:40:06.721" too); undefined when unusable. */
function parseTime(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined;
  const iso = /^\d{4}-\d\d-\d\d \d/.test(value) ? `${value.replace(' ', 'T')}Z` : value;
  return validDate(new Date(iso));
}

function validDate(d: Date): Date | undefined {
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** The event's own time: CloudTrail eventTime, flow end, finding updatedAt; else the CWL timestamp. */
function eventTime(detected: DetectedEvent, event: CwlLogEvent): Date {
  let t: Date | undefined;
  if (detected.source === 'cloudtrail') t = parseTime(detected.record.eventTime);
  else if (detected.source === 'guardduty') t = parseTime(detected.finding.updatedAt);
  else if (detected.source === 'vpcflow') {
    const end = Number(detected.fields[11]);
    if (Number.isFinite(end) && end > 0) t = validDate(new Date(end * 1000));
  }
  return t ?? validDate(new Date(event.timestamp)) ?? new Date(0);
}

/** Source-specific ECS fields. The full mappings live with each parser. */
function sourceFields(detected: DetectedEvent): Record<string, unknown> {
  switch (detected.source) {
    case 'cloudtrail': {
      const r = detected.record;
      return {
        event: { id: str(r.eventID), action: str(r.eventName), provider: str(r.eventSource), kind: 'event' },
        cloud: { region: str(r.awsRegion) },
      };
    }
    case 'guardduty': {
      const f = detected.finding;
      return {
        event: { id: str(f.id), kind: 'alert', severity: typeof f.severity === 'number' ? f.severity : undefined },
        rule: { name: str(f.type) },
        cloud: { region: str(f.region) },
      };
    }
    case 'vpcflow': {
      const action = detected.fields[12];
      return { event: { kind: 'event', action: action === '-' ? undefined : action?.toLowerCase() } };
    }
    default:
      return { event: { kind: 'event' } };
  }
}

function accountOf(detected: DetectedEvent, envelope: CwlEnvelope): string {
  if (detected.source === 'cloudtrail') return str(detected.record.recipientAccountId) ?? envelope.owner;
  if (detected.source === 'guardduty') return str(detected.finding.accountId) ?? envelope.owner;
  if (detected.source === 'vpcflow') return detected.fields[1] ?? envelope.owner;
  return envelope.owner;
}

function merge(target: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(extra)) {
    const existing = target[key];
    if (typeof value === 'object' && value !== null && typeof existing === 'object' && existing !== null) {
      merge(existing as Record<string, unknown>, value as Record<string, unknown>);
    } else if (value !== undefined) {
      target[key] = value;
    }
  }
  return target;
}

/** Turns one CloudWatch Logs event into its OpenSearch document (ECS field names). */
export function toDocument(envelope: CwlEnvelope, event: CwlLogEvent, prefix = DEFAULT_INDEX_PREFIX): IndexableDocument {
  const detected = detectSource(event.message);
  const time = eventTime(detected, event);
  const dataset = `aws.${detected.source}`;
  const body = merge(
    {
      '@timestamp': time.toISOString(),
      message: event.message,
      event: { dataset },
      cloud: { provider: 'aws', account: { id: accountOf(detected, envelope) } },
      aws: {
        cloudwatch: {
          owner: envelope.owner,
          log_group: envelope.logGroup,
          log_stream: envelope.logStream,
          event_id: event.id,
        },
      },
    },
    sourceFields(detected),
  );
  const findingId = detected.source === 'guardduty' ? str(detected.finding.id) : undefined;
  const updatedAt = detected.source === 'guardduty' ? str(detected.finding.updatedAt) : undefined;
  const id =
    findingId && updatedAt ? guardDutyDocumentId(findingId, updatedAt) : documentId(envelope, event.id);
  return { index: indexName(prefix, detected.source, time), id, source: detected.source, eventTimestamp: event.timestamp, body };
}
