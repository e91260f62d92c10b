/**
 * CloudWatch Logs history exported to S3 by CreateExportTask: objects at
 * `<prefix>/<task id>/<log stream>/000000.gz`, gzip text whose lines are `<ISO time> <message>`
 * (a message with newlines continues on the lines after it). The export carries no event ids,
 * so an exported event's id is made from what it does carry; see exportEventId.
 */
import { hashId } from '../document.ts';
import type { CwlLogEvent } from '../cwl-codec.ts';

/** Where an exported object comes from, read from its key under `<prefix>/<task id>/`. */
export interface ExportObjectKey {
  taskId: string;
  logStream: string;
}

/**
 * The log stream of an object of export task `taskId` (stream names may hold `/`: the stream is
 * everything between the task folder and the part file), or undefined for keys that are not parts
 * (such as the `aws-logs-write-test` object the service leaves at the prefix).
 */
export function exportObjectKey(key: string, taskPrefix: string, taskId: string): ExportObjectKey | undefined {
  const folder = `${taskPrefix.replace(/\/+$/, '')}/${taskId}/`.replace(/^\//, '');
  if (!key.startsWith(folder)) return undefined;
  const m = /^(.+)\/\d{6}(?:\.gz)?$/.exec(key.slice(folder.length));
  return m ? { taskId, logStream: m[1]! } : undefined;
}

const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z) ([\s\S]*)$/;

/** The time and message of an export line, or undefined when the line continues the message before it. */
export function parseExportLine(line: string): { timestamp: number; message: string } | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const timestamp = Date.parse(m[1]!);
  return Number.isNaN(timestamp) ? undefined : { timestamp, message: m[2]! };
}

/**
 * The event id an exported event is indexed under: its time, a hash of its message and how many
 * identical events (same time, same message) came before it in the object. Exports of the same
 * range of the same stream therefore give the same ids whatever the task; the live subscription's
 * ids hash CloudWatch Logs' own event id, which the export drops, so they never match these.
 */
export function exportEventId(timestamp: number, message: string, occurrence: number): string {
  return exportId(timestamp, hashId([message]), occurrence);
}

const exportId = (timestamp: number, messageHash: string, occurrence: number) => `export:${timestamp}:${messageHash}:${occurrence}`;

/** Identical events far apart in one object are not worth unbounded memory: the count restarts past this. */
const MAX_REMEMBERED = 100_000;

/**
 * Groups an export object's lines into events, in order; a line without the leading time
 * continues the message before it. Lines before the first timed line are returned in `orphans`
 * (never expected; the caller indexes them as they are rather than lose them).
 */
export class ExportEventReader {
  private pending?: { timestamp: number; message: string; line: number };
  private readonly seen = new Map<string, number>();
  readonly orphans: Array<{ line: number; text: string }> = [];

  /** Feeds line `lineNo` (1-based); returns the event it completes, if any. */
  push(line: string, lineNo: number): (CwlLogEvent & { line: number }) | undefined {
    const parsed = parseExportLine(line);
    if (!parsed) {
      if (this.pending) this.pending.message += `\n${line}`;
      else if (line !== '') this.orphans.push({ line: lineNo, text: line });
      return undefined;
    }
    const done = this.flush();
    this.pending = { ...parsed, line: lineNo };
    return done;
  }

  /** The last event, at the end of the object. */
  flush(): (CwlLogEvent & { line: number }) | undefined {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return undefined;
    const messageHash = hashId([p.message]);
    const key = `${p.timestamp}|${messageHash}`;
    const occurrence = this.seen.get(key) ?? 0;
    if (this.seen.size >= MAX_REMEMBERED) this.seen.clear();
    this.seen.set(key, occurrence + 1);
    return { id: exportId(p.timestamp, messageHash, occurrence), timestamp: p.timestamp, message: p.message, line: p.line };
  }
}
