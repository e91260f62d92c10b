import type { S3Client } from '@aws-sdk/client-s3';
import { utcParts, type ArchiveLine, type CwlEnvelope } from '../../processors/index.ts';
import { listFolders, listObjects, readObject, type ListedObject } from './s3.ts';

export const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Which archived events a command works on. */
export interface ArchiveFilter {
  from: Date;
  to: Date;
  /** Partition sources without the `aws.` (vpcflow, cloudtrail, ...). */
  sources?: string[];
  accounts?: string[];
  /** Exact names, or patterns with `*`. */
  logGroups?: string[];
}

/** One object of the archive, with the partition it sits in. */
export interface ArchiveObject extends ListedObject {
  source: string;
  account: string;
  /** Start of the partition's hour (ms). */
  hour: number;
}

export function hourStart(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** `2026-05-01T10` for an hour start. */
export function hourLabel(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13);
}

const PARTITION = /^source=aws\.([^/]+)\/account=([^/]+)\/year=(\d{4})\/month=(\d\d)\/day=(\d\d)\/hour=(\d\d)\//;

/**
 * The archive objects whose partition may hold events of [from, to): the layout is
 * `source=aws.<s>/account=<a>/year=/month=/day=/hour=/` (the hour of a record's first
 * event), so a batch that began in the hour before `from` is read too.
 */
export async function listArchiveObjects(s3: S3Client, bucket: string, filter: ArchiveFilter, signal?: AbortSignal): Promise<ArchiveObject[]> {
  const firstHour = hourStart(filter.from.getTime()) - HOUR_MS;
  const lastHour = filter.to.getTime();
  const objects: ArchiveObject[] = [];
  for (const sourceFolder of await listFolders(s3, bucket, '', signal)) {
    const source = /^source=aws\.([^/]+)\/$/.exec(sourceFolder)?.[1];
    if (!source || (filter.sources && !filter.sources.includes(source))) continue;
    for (const accountFolder of await listFolders(s3, bucket, sourceFolder, signal)) {
      const account = /account=([^/]+)\/$/.exec(accountFolder)?.[1];
      if (!account || (filter.accounts && !filter.accounts.includes(account))) continue;
      // One listing per day: fewer calls than one per hour, and the hour is in the key.
      for (let day = Math.floor(firstHour / DAY_MS) * DAY_MS; day < lastHour; day += DAY_MS) {
        const p = utcParts(new Date(day));
        for (const o of await listObjects(s3, bucket, `${accountFolder}year=${p.year}/month=${p.month}/day=${p.day}/`, signal)) {
          const m = PARTITION.exec(o.key);
          if (!m) continue;
          const hour = Date.UTC(Number(m[3]), Number(m[4]) - 1, Number(m[5]), Number(m[6]));
          if (hour >= firstHour && hour < lastHour) objects.push({ ...o, source, account, hour });
        }
      }
    }
  }
  return objects.sort((a, b) => a.hour - b.hour || a.key.localeCompare(b.key));
}

/** The archived lines of one object, in order. */
export async function readArchiveLines(s3: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<ArchiveLine[]> {
  const text = (await readObject(s3, bucket, key, signal)).toString('utf8');
  const lines: ArchiveLine[] = [];
  let n = 0;
  for (const line of text.split('\n')) {
    n++;
    if (!line) continue;
    try {
      lines.push(JSON.parse(line) as ArchiveLine);
    } catch (err) {
      throw new Error(`s3://${bucket}/${key} line ${n} is not an archive line: ${(err as Error).message}`);
    }
  }
  return lines;
}

/**
 * Archive lines back into the CloudWatch Logs envelopes they came in: consecutive lines of
 * one log stream were one subscription record, so the document builder sees the same
 * batches (and VPC flow header lines apply to the lines after them) as the consumer did.
 */
export function toEnvelopes(lines: ArchiveLine[]): CwlEnvelope[] {
  const envelopes: CwlEnvelope[] = [];
  let current: CwlEnvelope | undefined;
  for (const l of lines) {
    if (!current || current.owner !== l.owner || current.logGroup !== l.logGroup || current.logStream !== l.logStream) {
      current = { messageType: 'DATA_MESSAGE', owner: l.owner, logGroup: l.logGroup, logStream: l.logStream, subscriptionFilters: [], logEvents: [] };
      if (l.policyLevel) current.policyLevel = l.policyLevel;
      envelopes.push(current);
    }
    current.logEvents.push({ id: l.id, timestamp: l.timestamp, message: l.message, ...(l.extractedFields ? { extractedFields: l.extractedFields } : {}) });
  }
  return envelopes;
}

/** A log group filter: exact names, or `*` as any run of characters. */
export function logGroupMatcher(patterns: string[] | undefined): (logGroup: string) => boolean {
  if (!patterns || patterns.length === 0) return () => true;
  const exact = new Set(patterns.filter((p) => !p.includes('*')));
  const globs = patterns
    .filter((p) => p.includes('*'))
    .map((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  return (g) => exact.has(g) || globs.some((r) => r.test(g));
}

/** Whether an event of this envelope at this time is selected. */
export function eventSelector(filter: ArchiveFilter): (owner: string, logGroup: string, timestamp: number) => boolean {
  const group = logGroupMatcher(filter.logGroups);
  const from = filter.from.getTime();
  const to = filter.to.getTime();
  const accounts = filter.accounts && new Set(filter.accounts);
  return (owner, logGroup, timestamp) => timestamp >= from && timestamp < to && (!accounts || accounts.has(owner)) && group(logGroup);
}
