import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import type { CwlEnvelope, CwlLogEvent } from './cwl-codec.ts';
import { parseCloudTrailRecord } from './parsers/cloudtrail.ts';
import { parseGuardDutyFinding } from './parsers/guardduty.ts';
import { ParseError, type EcsDocument, type ParseContext, type ParsedEvent } from './parsers/types.ts';
import { isUsableDate } from './parsers/values.ts';
import { DEFAULT_VPC_FLOW_FORMAT, isVpcFlowHeader, parseVpcFlowFormat, parseVpcFlowLine } from './parsers/vpcflow.ts';
import { detectSource, logGroupSourceOf, type DetectedEvent, type LogGroupSources, type SourceType, type VpcFlowFormats } from './source.ts';
import { utcParts } from './utc.ts';

export const DEFAULT_INDEX_PREFIX = 'centralog';
export const ECS_VERSION = '8.11.0';

/** A document ready for OpenSearch: where it goes, under which id, and its ECS body. */
export interface IndexableDocument {
  index: string;
  id: string;
  source: SourceType;
  /** The CloudWatch Logs event time (ms), used for end-to-end lag. */
  eventTimestamp: number;
  body: Record<string, unknown>;
  /**
   * The CloudTrail record or GuardDuty finding the document was parsed from, as the payload
   * had it: what detections evaluate, without parsing the message a second time. Read only.
   */
  raw?: Record<string, unknown>;
}

export interface DocumentOptions {
  indexPrefix?: string;
  /** Custom VPC flow formats by log group; lines of other groups are tried in the default format. */
  vpcFlowFormats?: VpcFlowFormats;
  /**
   * Bounds index days to a window around ingest (every entry point sets it from its options).
   * Without it the index day is the event's own, as pure replays of pinned fixtures expect.
   */
  indexWindow?: IndexWindow;
  /** Admits new index names; past its cap documents go to the ingest day's index. */
  indexBudget?: IndexBudget;
  /**
   * Which log groups carry which source. When given, a mapped group's events are parsed only
   * as its source, and an unmapped group's CloudTrail- or GuardDuty-shaped events become
   * generic documents tagged `looks_like_<source>`: whoever writes to a log group could
   * otherwise forge security events. Without it the payload alone decides.
   */
  logGroupSources?: LogGroupSources;
  /** Accounts whose log groups carry other accounts' CloudTrail events (an organisation trail's). */
  aggregatorAccounts?: readonly string[];
  /** Told of each CloudTrail event claiming an account other than its log group owner's, for metrics. */
  onAccountMismatch?: () => void;
  /** Told of each document redirected to the ingest day's index, for metrics. */
  onRedirect?: (reason: IndexRedirect, source: SourceType) => void;
}

export interface IndexWindow {
  /** Events older than this many days before ingest go to the ingest day's index. Default 90 (the retention). */
  maxAgeDays?: number;
  /** The ingest time (ms) the window is around; default the clock. Fixed in tests. */
  ingestTime?: number;
  /**
   * Take each event's CloudWatch Logs time as its ingest time, unchecked: for replays of the
   * archive, so an event lands in the index it landed in when first ingested, whenever it is replayed.
   */
  fromRecordTime?: boolean;
}

/**
 * The time an event's index window is around: its CloudWatch Logs time, which CloudWatch Logs
 * itself bounds (at most 14 days old, 2 hours ahead, at ingestion) and which the archive keeps,
 * so live indexing and any later replay name the same index. A record time outside the window
 * around the clock cannot have come from CloudWatch Logs: the clock is used instead.
 */
export function windowReference(window: IndexWindow, recordTime: number): number {
  if (window.fromRecordTime && Number.isFinite(recordTime)) return recordTime;
  const now = window.ingestTime ?? Date.now();
  return eventTimeInRange(recordTime, now, window.maxAgeDays) ? recordTime : now;
}

/** Why a document went to the ingest day's index instead of its event day's. */
export type IndexRedirect = 'event_time_out_of_range' | 'index_cap_reached';

export const DEFAULT_MAX_EVENT_AGE_DAYS = 90;
const DAY_MS = 86_400_000;
/** Clocks and buffering put some events slightly ahead of ingest; further ahead is not a real event day. */
export const MAX_EVENT_AHEAD_MS = DAY_MS;

/**
 * Whether an event time may name its own daily index: at most `maxAgeDays` before ingest
 * and at most one day after it (both limits included). Anything else is untrusted text,
 * and one index per distinct date would let a log line create indices without bound.
 */
export function eventTimeInRange(eventTime: number, ingestTime: number, maxAgeDays = DEFAULT_MAX_EVENT_AGE_DAYS): boolean {
  return eventTime >= ingestTime - maxAgeDays * DAY_MS && eventTime <= ingestTime + MAX_EVENT_AHEAD_MS;
}

const HOUR_MS = 3_600_000;

/**
 * Caps how many index names not written before a consumer creates per hour. Each in-window
 * day and source is a legitimate index, but a burst of them (thousands of dated lines)
 * still costs shards; past the cap documents go to the ingest day's index until the next hour.
 * Names unused for two days are forgotten, so memory stays bounded by the window.
 */
export class IndexBudget {
  private readonly known = new Map<string, number>();
  private hour = Number.NaN;
  private createdThisHour = 0;

  constructor(readonly maxNewPerHour: number) {}

  admit(index: string, now: number): boolean {
    const hour = Math.floor(now / HOUR_MS);
    if (hour !== this.hour) {
      this.hour = hour;
      this.createdThisHour = 0;
      for (const [name, lastHour] of this.known) if (hour - lastHour > 48) this.known.delete(name);
    }
    if (this.known.has(index)) {
      this.known.set(index, hour);
      return true;
    }
    if (this.createdThisHour >= this.maxNewPerHour) return false;
    this.createdThisHour++;
    this.known.set(index, hour);
    return true;
  }
}

// One-shot hashing (Node 20.12+) costs a third of createHash().update().digest() per id.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }).hash;

function sha256Id(data: string): string {
  return oneShot ? oneShot('sha256', data, 'base64url') : createHash('sha256').update(data).digest('base64url');
}

/** A stable document id from its parts (sha-256, base64url): the same parts always give the same id. */
export function hashId(parts: string[]): string {
  return sha256Id(parts.join('|'));
}

/** Stable id of a log event: the same event always maps to the same document. */
export function documentId(envelope: Pick<CwlEnvelope, 'owner' | 'logGroup' | 'logStream'>, eventId: string): string {
  // hashId's joining, without an array per event.
  return sha256Id(`${envelope.owner}|${envelope.logGroup}|${envelope.logStream}|${eventId}`);
}

/** GuardDuty repeats a finding id with a new updatedAt; each update is its own document. */
export function guardDutyDocumentId(findingId: string, updatedAt: string): string {
  return hashId(['guardduty', findingId, updatedAt]);
}

/** `YYYY.MM.DD` by UTC day number: every event of a day names the same index, so it is spelt once. */
const dayStamps = new Map<number, string>();

function dayStamp(time: number): string {
  const day = Math.floor(time / DAY_MS);
  let stamp = dayStamps.get(day);
  if (stamp === undefined) {
    const { year, month, day: dd } = utcParts(new Date(day * DAY_MS));
    stamp = `${year}.${month}.${dd}`;
    // Bounded whatever the dates seen: a replay of years of archive refills it as it goes.
    if (dayStamps.size >= 4096) dayStamps.clear();
    dayStamps.set(day, stamp);
  }
  return stamp;
}

/** `<prefix>-aws.<source>-YYYY.MM.DD`, from the event's own time in UTC. */
export function indexName(prefix: string, source: SourceType, eventTime: Date): string {
  const time = eventTime.getTime();
  if (!Number.isFinite(time)) {
    const { year, month, day } = utcParts(eventTime);
    return `${prefix}-aws.${source}-${year}.${month}.${day}`;
  }
  return `${prefix}-aws.${source}-${dayStamp(time)}`;
}

/**
 * Detection as the log group's mapping allows it: `mapped` when the group is mapped to the
 * detected source (or nothing is bound); `looksLike` names a source the payload claims but
 * the group may not carry, so its event is indexed as generic.
 */
function bindToLogGroup(
  detected: DetectedEvent,
  sources: LogGroupSources | undefined,
  logGroup: string,
): { detected: DetectedEvent; mapped: boolean; looksLike?: Exclude<SourceType, 'cloudwatch_logs'> } {
  if (!sources || detected.source === 'cloudwatch_logs') return { detected, mapped: true };
  const mapping = logGroupSourceOf(sources, logGroup);
  if (mapping === detected.source) return { detected, mapped: true };
  if (mapping === 'trusted') return { detected, mapped: false };
  // Unmapped groups may still carry flow lines: they claim no identity and feed no detection.
  if (mapping === undefined && detected.source === 'vpcflow') return { detected, mapped: false };
  return { detected: { source: 'cloudwatch_logs' }, mapped: false, looksLike: detected.source };
}

/** The event day's index when the window and the budget allow it, else the ingest day's, tagged why. */
export function boundedIndex(opts: DocumentOptions, prefix: string, source: SourceType, time: Date, body: EcsDocument, recordTime: number): string {
  if (!opts.indexWindow) return indexName(prefix, source, time);
  const reference = windowReference(opts.indexWindow, recordTime);
  let reason: IndexRedirect;
  let redirectTo: number;
  if (!eventTimeInRange(time.getTime(), reference, opts.indexWindow.maxAgeDays)) {
    reason = 'event_time_out_of_range';
    // The record's own day, so a replay redirects it to the same index.
    redirectTo = reference;
  } else {
    const index = indexName(prefix, source, time);
    // The cap is the clock's: per hour of the clock, redirecting to the clock's day, which is always written.
    const clock = opts.indexWindow.ingestTime ?? Date.now();
    // Same prefix and source: the names are equal exactly when the UTC days are.
    const ingestDay = Math.floor(time.getTime() / DAY_MS) === Math.floor(clock / DAY_MS);
    if (ingestDay || !opts.indexBudget || opts.indexBudget.admit(index, clock)) return index;
    reason = 'index_cap_reached';
    redirectTo = clock;
  }
  const tags = Array.isArray(body.tags) ? (body.tags as string[]) : (body.tags = []);
  tags.push(reason);
  opts.onRedirect?.(reason, source);
  return indexName(prefix, source, new Date(redirectTo));
}

function parse(
  detected: ReturnType<typeof detectSource>,
  ctx: ParseContext,
): { source: Exclude<SourceType, 'cloudwatch_logs'>; parsed: ParsedEvent } | { error: ParseError } | undefined {
  try {
    switch (detected.source) {
      case 'cloudtrail':
        return { source: 'cloudtrail', parsed: parseCloudTrailRecord(detected.record, ctx) };
      case 'guardduty':
        return { source: 'guardduty', parsed: parseGuardDutyFinding(detected.finding, ctx, detected.envelope) };
      case 'vpcflow':
        return { source: 'vpcflow', parsed: parseVpcFlowLine(detected.line, detected.format, ctx) };
      default:
        return undefined;
    }
  } catch (err) {
    if (err instanceof ParseError) return { error: err };
    // A parser bug must not lose the event: index it as generic, tagged with the failure.
    return { error: new ParseError(detected.source as 'cloudtrail', `unexpected ${(err as Error).name}: ${(err as Error).message}`) };
  }
}

/**
 * Sets the fields every document shares, in place (both ways in use it): parsers' own values
 * win where both exist (e.g. the account). Returns the `cloud` and `aws` objects for the caller's part.
 */
export function stampShared(body: EcsDocument, source: SourceType, time: Date): { cloud: EcsDocument; aws: EcsDocument } {
  body['@timestamp'] = time.toISOString();
  body.ecs = { version: ECS_VERSION };
  const ev = (body.event ??= {}) as EcsDocument;
  ev.dataset = `aws.${source}`;
  ev.module = 'aws';
  const cloud = (body.cloud ??= {}) as EcsDocument;
  cloud.provider = 'aws';
  return { cloud, aws: (body.aws ??= {}) as EcsDocument };
}

/**
 * Turns one CloudWatch Logs event into its OpenSearch document (ECS field names).
 * An event that looks like a known source but fails to parse becomes a generic
 * `aws.cloudwatch_logs` document tagged with the parse error: never dropped.
 */
export function toDocument(
  envelope: CwlEnvelope,
  event: CwlLogEvent,
  options: DocumentOptions | string = {},
  vpcFlowFormat?: string[],
): IndexableDocument {
  const opts = typeof options === 'string' ? { indexPrefix: options } : options;
  const prefix = opts.indexPrefix ?? DEFAULT_INDEX_PREFIX;
  const format = vpcFlowFormat ?? opts.vpcFlowFormats?.[envelope.logGroup];
  const ctx: ParseContext = {
    owner: envelope.owner,
    logGroup: envelope.logGroup,
    logStream: envelope.logStream,
    eventId: event.id,
    timestamp: event.timestamp,
  };
  const bound = bindToLogGroup(detectSource(event.message, format), opts.logGroupSources, envelope.logGroup);
  const result = parse(bound.detected, ctx);
  const cwlTime = new Date(event.timestamp);
  const fallbackTime = isUsableDate(cwlTime) ? cwlTime : new Date(0);

  let source: SourceType;
  let time: Date;
  let body: EcsDocument;
  let idParts: string[] | undefined;
  let raw: Record<string, unknown> | undefined;
  if (result && 'parsed' in result) {
    if (bound.detected.source === 'cloudtrail') raw = bound.detected.record;
    else if (bound.detected.source === 'guardduty') raw = bound.detected.finding;
    source = result.source;
    time = isUsableDate(result.parsed.timestamp) ? result.parsed.timestamp : fallbackTime;
    body = result.parsed.document;
    // A finding-keyed id lets whoever sends a finding first take it: only a mapped GuardDuty group's findings may.
    if (bound.mapped) idParts = result.parsed.idParts;
  } else {
    source = 'cloudwatch_logs';
    time = fallbackTime;
    body = { message: event.message, event: { kind: 'event' } };
    if (bound.looksLike) body.tags = [`looks_like_${bound.looksLike}`];
    if (result && 'error' in result) {
      body.tags = ['parse_failure', `${result.error.source}_parse_failure`];
      body.error = { type: 'ParseError', message: result.error.message };
    }
  }
  const { cloud, aws } = stampShared(body, source, time);
  cloud.account ??= { id: envelope.owner };
  aws.cloudwatch = {
    owner: envelope.owner,
    log_group: envelope.logGroup,
    log_stream: envelope.logStream,
    event_id: event.id,
    ...(event.extractedFields ? { extracted_fields: event.extractedFields } : {}),
  };
  // The envelope owner is set by CloudWatch Logs; an event's own account claim is only text.
  if (source === 'cloudtrail' && cloud.account && (cloud.account as EcsDocument).id !== envelope.owner && !opts.aggregatorAccounts?.includes(envelope.owner)) {
    const tags = Array.isArray(body.tags) ? (body.tags as string[]) : (body.tags = []);
    tags.push('account_mismatch');
    opts.onAccountMismatch?.();
  }
  const id = idParts ? hashId([source, ...idParts]) : documentId(envelope, event.id);
  const doc: IndexableDocument = { index: boundedIndex(opts, prefix, source, time, body, event.timestamp), id, source, eventTimestamp: event.timestamp, body };
  if (raw) doc.raw = raw;
  return doc;
}

/**
 * All documents of one envelope, in order. A VPC flow header line (as S3 exports and
 * some forwarders carry) sets the format for the lines after it; it is itself indexed as
 * a generic document, so nothing is dropped.
 */
export function toDocuments(envelope: CwlEnvelope, options: DocumentOptions = {}): IndexableDocument[] {
  let format = options.vpcFlowFormats?.[envelope.logGroup];
  const docs: IndexableDocument[] = [];
  for (const event of envelope.logEvents) {
    if (isVpcFlowHeader(event.message)) {
      try {
        format = parseVpcFlowFormat(event.message);
      } catch {
        // not a usable header after all: it is indexed as a generic document below
      }
    }
    docs.push(toDocument(envelope, event, options, format));
  }
  return docs;
}

/**
 * One event parsed as a given source (`auto` detects it). A forced source that does not
 * fit comes back as an error naming why, instead of a generic document.
 */
export function parseEventAs(
  source: 'auto' | Exclude<SourceType, 'cloudwatch_logs'>,
  envelope: Pick<CwlEnvelope, 'owner' | 'logGroup' | 'logStream'>,
  event: CwlLogEvent,
  options: DocumentOptions = {},
  vpcFlowFormat?: string[],
): { document: IndexableDocument } | { error: string } {
  const full: CwlEnvelope = { ...envelope, messageType: 'DATA_MESSAGE', subscriptionFilters: [], logEvents: [event] };
  if (source === 'vpcflow') {
    const format = vpcFlowFormat ?? DEFAULT_VPC_FLOW_FORMAT;
    try {
      parseVpcFlowLine(event.message.trim(), format, {
        owner: envelope.owner,
        logGroup: envelope.logGroup,
        logStream: envelope.logStream,
        eventId: event.id,
        timestamp: event.timestamp,
      });
    } catch (err) {
      return { error: (err as Error).message };
    }
    vpcFlowFormat = format;
  }
  const document = toDocument(full, event, options, vpcFlowFormat);
  if (source !== 'auto' && document.source !== source) {
    const reason = (document.body.error as { message?: string } | undefined)?.message;
    return { error: reason ?? `not a ${source} event (detected as ${document.source === 'cloudwatch_logs' ? 'generic' : document.source})` };
  }
  return { document };
}
