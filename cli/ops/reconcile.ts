import type { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@opensearch-project/opensearch';
import { documentOptions, type DocumentRules } from '../../consumers/index.ts';
import { toDocuments } from '../../processors/index.ts';
import { eventSelector, HOUR_MS, hourStart, listArchiveObjects, readArchiveLines, toEnvelopes, type ArchiveFilter } from './archive.ts';
import { letterEventKey, listDeadLetterObjects, readDeadLetterObject, reasonKind } from './dead-letters.ts';
import { bucketKey } from './replay.ts';
import { forEachLimit } from './s3.ts';

/** One account, log group and hour (of the CloudWatch Logs event time). */
export interface ReconcileRow {
  account: string;
  logGroup: string;
  /** Hour start, ISO. */
  hour: string;
  /** Distinct events in the S3 archive. */
  archived: number;
  /** Of those, events whose document is in OpenSearch. */
  indexed: number;
  /** Of those not indexed, events in the dead letters. */
  deadLettered: number;
  /** Archived, not indexed, not dead-lettered: lost on the way to OpenSearch. */
  missing: number;
  /** A few missing event ids, to look one up. */
  missingEventIds: string[];
  /** Reasons of the dead letters, most frequent first. */
  deadLetterReasons: string[];
}

export interface ReconcileReport {
  from: string;
  to: string;
  rows: ReconcileRow[];
  totals: { archived: number; indexed: number; deadLettered: number; missing: number };
  archiveObjects: number;
  /** Dead letters of records that could not be decoded: no account or log group to count them under. */
  undecodableDeadLetters: number;
  seconds: number;
}

interface Bucket {
  account: string;
  logGroup: string;
  hour: number;
  /** Event key -> document id, for the events of this bucket. */
  events: Map<string, string>;
}

export interface ReconcileDeps {
  s3: S3Client;
  opensearch: Client;
  archiveBucket: string;
  deadLetterBucket: string;
  deadLetterPrefix: string;
}

export interface ReconcileOptions {
  filter: ArchiveFilter;
  indexPrefix: string;
  /** How events become documents, as the consumer is told (default: nothing mapped). */
  rules?: DocumentRules;
  signal?: AbortSignal;
  /** Only these `owner|logGroup|hourStart` buckets (the check after a repair). */
  buckets?: Set<string>;
  onStep?: (step: string, done: number, total: number) => void;
}

const IDS_PER_QUERY = 2000;

/** Which of these document ids exist under `<prefix>-aws.*`. */
export async function existingIds(client: Client, indexPrefix: string, ids: string[], signal?: AbortSignal, onChunk?: (n: number) => void): Promise<Set<string>> {
  const found = new Set<string>();
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_QUERY) chunks.push(ids.slice(i, i + IDS_PER_QUERY));
  // Documents indexed a moment ago count too; a role without refresh rights still gets an answer, a second later.
  await client.indices.refresh({ index: `${indexPrefix}-aws.*`, allow_no_indices: true, ignore_unavailable: true }).catch(() => undefined);
  await forEachLimit(chunks, 2, async (chunk) => {
    const res = await client.search({
      index: `${indexPrefix}-aws.*`,
      allow_no_indices: true,
      ignore_unavailable: true,
      body: { size: chunk.length, _source: false, query: { ids: { values: chunk } } } as never,
    });
    const hits = (res.body as unknown as { hits: { hits: Array<{ _id: string }> } }).hits.hits;
    for (const h of hits) found.add(h._id);
    onChunk?.(chunk.length);
  }, signal);
  return found;
}

/**
 * For a time range, counts events per account, log group and hour in the archive (the
 * complete copy), how many of them OpenSearch holds (by the document id the pipeline
 * gives each) and how many were dead-lettered. The difference is what was lost.
 */
export async function reconcile(deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileReport> {
  const started = performance.now();
  const { filter, signal } = options;
  const select = eventSelector(filter);
  const step = options.onStep ?? (() => undefined);

  // Dead letters are keyed by arrival, at or after the event: look a day past the range.
  const lettersTo = new Date(Math.min(Date.now() + HOUR_MS, filter.to.getTime() + 24 * HOUR_MS));
  const letterObjects = await listDeadLetterObjects(deps.s3, deps.deadLetterBucket, deps.deadLetterPrefix, { from: new Date(filter.from.getTime() - HOUR_MS), to: lettersTo }, signal);
  const letters = new Map<string, string>();
  let undecodable = 0;
  let read = 0;
  await forEachLimit(letterObjects, 8, async (o) => {
    for (const l of await readDeadLetterObject(deps.s3, deps.deadLetterBucket, o.key, signal)) {
      const key = letterEventKey(l);
      if (key) letters.set(key, l.reason);
      else if (o.hour >= filter.from.getTime() && o.hour < filter.to.getTime()) undecodable++;
    }
    step('dead-letter objects', ++read, letterObjects.length);
  }, signal);

  const objects = await listArchiveObjects(deps.s3, deps.archiveBucket, filter, signal);
  const rows = new Map<string, ReconcileRow>();
  const buckets = new Map<string, Bucket>();
  // An hour's events are in its own partition and the one before (a batch that began
  // earlier): once partition h is read, hours up to h are complete and leave memory, so a
  // long range needs about two hours of event ids at a time.
  const settle = async (upTo: number) => {
    const ready = [...buckets].filter(([, b]) => b.hour <= upTo);
    if (ready.length === 0) return;
    const ids = [...new Set(ready.flatMap(([, b]) => [...b.events.values()]))];
    const found = await existingIds(deps.opensearch, options.indexPrefix, ids, signal);
    for (const [key, b] of ready) {
      buckets.delete(key);
      const row = countBucket(b, found, letters);
      const earlier = rows.get(key);
      rows.set(key, earlier ? mergeRows(earlier, row) : row);
    }
  };
  // The pipeline's document rules, for its ids; archived events keep the index window of their own time.
  const documents = documentOptions(options.rules, options.indexPrefix, true);
  const byHour = new Map<number, typeof objects>();
  for (const o of objects) byHour.set(o.hour, [...(byHour.get(o.hour) ?? []), o]);
  read = 0;
  for (const [hour, hourObjects] of [...byHour].sort((a, b) => a[0] - b[0])) {
    await forEachLimit(hourObjects, 4, async (object) => {
      for (const envelope of toEnvelopes(await readArchiveLines(deps.s3, deps.archiveBucket, object.key, signal))) {
        const { owner, logGroup, logStream } = envelope;
        const wanted = envelope.logEvents.map((e) => select(owner, logGroup, e.timestamp) && (!options.buckets || options.buckets.has(bucketKey(owner, logGroup, e.timestamp))));
        if (!wanted.includes(true)) continue;
        // The pipeline's own document ids (GuardDuty's come from the finding, not the event).
        const docs = toDocuments(envelope, documents);
        envelope.logEvents.forEach((event, i) => {
          if (!wanted[i]) return;
          const key = bucketKey(owner, logGroup, event.timestamp);
          let bucket = buckets.get(key);
          if (!bucket) buckets.set(key, (bucket = { account: owner, logGroup, hour: hourStart(event.timestamp), events: new Map() }));
          bucket.events.set(`${owner}|${logGroup}|${logStream}|${event.id}`, docs[i]!.id);
        });
      }
      step('archive objects', ++read, objects.length);
    }, signal);
    await settle(hour);
  }
  await settle(Number.POSITIVE_INFINITY);

  const sorted = [...rows.values()].sort((x, y) => x.account.localeCompare(y.account) || x.logGroup.localeCompare(y.logGroup) || x.hour.localeCompare(y.hour));
  const totals = { archived: 0, indexed: 0, deadLettered: 0, missing: 0 };
  for (const row of sorted) {
    totals.archived += row.archived;
    totals.indexed += row.indexed;
    totals.deadLettered += row.deadLettered;
    totals.missing += row.missing;
  }
  return {
    from: filter.from.toISOString(),
    to: filter.to.toISOString(),
    rows: sorted,
    totals,
    archiveObjects: objects.length,
    undecodableDeadLetters: undecodable,
    seconds: (performance.now() - started) / 1000,
  };
}

/** One bucket's events: indexed (its document exists), else dead-lettered, else missing. */
function countBucket(b: Bucket, found: Set<string>, letters: Map<string, string>): ReconcileRow {
  const row: ReconcileRow = { account: b.account, logGroup: b.logGroup, hour: new Date(b.hour).toISOString(), archived: b.events.size, indexed: 0, deadLettered: 0, missing: 0, missingEventIds: [], deadLetterReasons: [] };
  const reasons = new Map<string, number>();
  for (const [eventKey, id] of b.events) {
    if (found.has(id)) row.indexed++;
    else if (letters.has(eventKey)) {
      row.deadLettered++;
      const reason = reasonKind(letters.get(eventKey)!);
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    } else {
      row.missing++;
      if (row.missingEventIds.length < 5) row.missingEventIds.push(eventKey.slice(eventKey.lastIndexOf('|') + 1));
    }
  }
  row.deadLetterReasons = [...reasons].sort((x, y) => y[1] - x[1]).map(([r, n]) => `${n} x ${r}`);
  return row;
}

/** A bucket settled in two parts (an event far older than its batch's first): one row. */
function mergeRows(a: ReconcileRow, b: ReconcileRow): ReconcileRow {
  return {
    ...a,
    archived: a.archived + b.archived,
    indexed: a.indexed + b.indexed,
    deadLettered: a.deadLettered + b.deadLettered,
    missing: a.missing + b.missing,
    missingEventIds: [...a.missingEventIds, ...b.missingEventIds].slice(0, 5),
    deadLetterReasons: [...a.deadLetterReasons, ...b.deadLetterReasons],
  };
}

/** The buckets to replay: every row with missing events. */
export function missingBuckets(report: ReconcileReport): Set<string> {
  return new Set(report.rows.filter((r) => r.missing > 0).map((r) => bucketKey(r.account, r.logGroup, Date.parse(r.hour))));
}
