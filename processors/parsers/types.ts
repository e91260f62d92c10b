/**
 * The contract every source parser keeps. A parser is pure: it turns one already-detected
 * event into the source-specific part of an ECS document. The caller (document.ts) adds
 * what every document shares: event.dataset, event.module, cloud.provider,
 * aws.cloudwatch.{owner,log_group,log_stream,event_id}, the index name and the id.
 */

/** What a parser knows about where an event came from. */
export interface ParseContext {
  /** Account that owns the log group (the CWL envelope's owner). */
  owner: string;
  logGroup: string;
  logStream: string;
  /** CloudWatch Logs event id (56 digits). */
  eventId: string;
  /** CloudWatch Logs event timestamp, ms since the epoch. */
  timestamp: number;
}

/** A nested ECS document (`{event: {action: ...}}`, never dotted keys). */
export type EcsDocument = { [key: string]: unknown };

/** What a parser returns. */
export interface ParsedEvent {
  /** The event's own time: it sets `@timestamp` and the index day. */
  timestamp: Date;
  /** Source-specific ECS fields; must not set `@timestamp` (the caller does, from `timestamp`). */
  document: EcsDocument;
  /** Parts of a stable id that replace the default owner|logGroup|logStream|eventId (GuardDuty: finding id + updatedAt). */
  idParts?: string[];
}

/** The event looked like a known source but could not be parsed; it is indexed as generic, tagged with this. */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    readonly source: 'cloudtrail' | 'vpcflow' | 'guardduty' | 'elb',
    message: string,
  ) {
    super(`${source}: ${message}`);
  }
}

/**
 * Drops undefined, null, empty-string values and empty objects/arrays, recursively, so documents
 * hold only what is known; undefined when nothing is left. for-in, so no entry arrays are
 * allocated: it runs once per event on the hot path, where Object.entries cost a third of a parse.
 */
export function prune(doc: EcsDocument): EcsDocument | undefined {
  let out: EcsDocument | undefined;
  for (const k in doc) {
    let v = doc[k];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v === 'object') {
      if (Array.isArray(v)) {
        if (v.length === 0) continue;
      } else if (!(v instanceof Date)) {
        v = prune(v as EcsDocument);
        if (v === undefined) continue;
      }
    }
    (out ??= {})[k] = v;
  }
  return out;
}

/** prune() that gives {} when nothing is left. */
export function compact<T extends EcsDocument>(doc: T): T {
  return (prune(doc) ?? {}) as T;
}
