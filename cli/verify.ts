import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@opensearch-project/opensearch';
import { gunzipSync } from 'node:zlib';
import type { ArchiveLine } from '../processors/index.ts';
import type { DeadLetter } from '../consumers/index.ts';
import { RULE_LEVELS, type RuleLevel } from '../processors/detections/index.ts';

async function listKeys(s3: S3Client, bucket: string, prefix?: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function readObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

/** Event keys (`owner|logGroup|logStream|id`) of every line in the S3 archive, with their count. */
export async function archivedEventKeys(s3: S3Client, bucket: string): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (const key of await listKeys(s3, bucket)) {
    if (key.startsWith('processing-failed/')) continue;
    for (const line of (await readObject(s3, bucket, key)).toString('utf8').split('\n')) {
      if (!line) continue;
      const l = JSON.parse(line) as ArchiveLine;
      const k = `${l.owner}|${l.logGroup}|${l.logStream}|${l.id}`;
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
  }
  return seen;
}

/** Every dead letter written to the bucket. */
export async function readDeadLetters(s3: S3Client, bucket: string, prefix = 'dead-letters/'): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for (const key of await listKeys(s3, bucket, prefix)) {
    const text = gunzipSync(await readObject(s3, bucket, key)).toString('utf8');
    for (const line of text.split('\n')) if (line) letters.push(JSON.parse(line) as DeadLetter);
  }
  return letters;
}

/**
 * How many documents OpenSearch holds for each CloudWatch Logs event id asked about.
 * More than one for an id would be a duplicate.
 */
export async function indexedEventIdCounts(
  client: Client,
  indexPattern: string,
  eventIds: string[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  await client.indices.refresh({ index: indexPattern, allow_no_indices: true, ignore_unavailable: true });
  const chunk = 1000;
  for (let i = 0; i < eventIds.length; i += chunk) {
    const ids = eventIds.slice(i, i + chunk);
    const body = {
      size: 0,
      query: { terms: { 'aws.cloudwatch.event_id': ids } },
      aggs: { ids: { terms: { field: 'aws.cloudwatch.event_id', size: ids.length } } },
    };
    const res = await client.search({
      index: indexPattern,
      allow_no_indices: true,
      ignore_unavailable: true,
      body: body as NonNullable<Parameters<Client['search']>[0]>['body'],
    });
    const aggs = (res.body as unknown as { aggregations?: { ids: { buckets: Array<{ key: string; doc_count: number }> } } })
      .aggregations;
    for (const b of aggs?.ids.buckets ?? []) counts.set(b.key, b.doc_count);
  }
  return counts;
}

/**
 * How many documents OpenSearch holds under each document id asked about (the S3 path's
 * events have no CloudWatch Logs event id); more than one for an id would be a duplicate.
 */
export async function indexedDocumentIdCounts(client: Client, indexPattern: string, ids: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  await client.indices.refresh({ index: indexPattern, allow_no_indices: true, ignore_unavailable: true });
  const chunk = 1000;
  for (let i = 0; i < ids.length; i += chunk) {
    const part = ids.slice(i, i + chunk);
    const res = await client.search({
      index: indexPattern,
      allow_no_indices: true,
      ignore_unavailable: true,
      // A copy under another index (another day) would be a second hit for the same id.
      body: { size: part.length * 2, _source: false, query: { ids: { values: part } } } as NonNullable<Parameters<Client['search']>[0]>['body'],
    });
    for (const h of (res.body as unknown as { hits: { hits: Array<{ _id: string }> } }).hits.hits) counts.set(h._id, (counts.get(h._id) ?? 0) + 1);
  }
  return counts;
}

/** Where each produced event ended up: the end-to-end accounting of the demo and the soak test. */
export interface EventAccount {
  produced: number;
  /** Produced events found in the archive (at least once). */
  archived: number;
  /** Extra archive copies beyond the first. */
  archiveDuplicates: number;
  /** Produced events with a document in OpenSearch. */
  indexed: number;
  /** Extra documents beyond the first. */
  duplicates: number;
  /** Missing from the archive, or neither indexed nor dead-lettered. */
  unaccounted: number;
}

/**
 * Accounts for every produced event (`owner|logGroup|logStream|id`) against what the
 * archive, OpenSearch and the dead letters hold.
 */
export async function accountForEvents(
  produced: Iterable<string>,
  sinks: { s3: S3Client; archiveBucket: string; deadLetterBucket: string; opensearch: Client; indexPattern: string },
): Promise<EventAccount> {
  const keys = [...produced];
  const idOf = (key: string) => key.slice(key.lastIndexOf('|') + 1);
  const archive = await archivedEventKeys(sinks.s3, sinks.archiveBucket);
  const letters = await readDeadLetters(sinks.s3, sinks.deadLetterBucket);
  const dead = new Set(letters.filter((l) => l.envelope && l.event).map((l) => `${l.envelope!.owner}|${l.envelope!.logGroup}|${l.envelope!.logStream}|${l.event!.id}`));
  const indexedCounts = await indexedEventIdCounts(sinks.opensearch, sinks.indexPattern, keys.map(idOf));
  const account: EventAccount = { produced: keys.length, archived: 0, archiveDuplicates: 0, indexed: 0, duplicates: 0, unaccounted: 0 };
  for (const key of keys) {
    const n = indexedCounts.get(idOf(key)) ?? 0;
    const copies = archive.get(key) ?? 0;
    if (n > 0) account.indexed++;
    account.duplicates += Math.max(0, n - 1);
    if (copies > 0) account.archived++;
    account.archiveDuplicates += Math.max(0, copies - 1);
    if (copies === 0 || (n === 0 && !dead.has(key))) account.unaccounted++;
  }
  return account;
}

/**
 * Alerts raised by the given CloudWatch Logs events (a run's own, whatever else the index
 * holds): by rule level, and how many are recorded as published to SNS.
 */
export async function alertCounts(client: Client, indexPattern: string, eventIds: string[]): Promise<{ byLevel: Record<RuleLevel, number>; published: number }> {
  await client.indices.refresh({ index: indexPattern, allow_no_indices: true, ignore_unavailable: true });
  const byLevel = Object.fromEntries(RULE_LEVELS.map((l) => [l, 0])) as Record<RuleLevel, number>;
  let published = 0;
  const chunk = 1000;
  for (let i = 0; i < eventIds.length; i += chunk) {
    const body = {
      size: 0,
      query: { terms: { 'aws.cloudwatch.event_id': eventIds.slice(i, i + chunk) } },
      aggs: { levels: { terms: { field: 'centralog.alert.level', size: RULE_LEVELS.length } }, published: { filter: { term: { 'centralog.alert.published': true } } } },
    };
    const res = await client.search({
      index: indexPattern,
      allow_no_indices: true,
      ignore_unavailable: true,
      body: body as NonNullable<Parameters<Client['search']>[0]>['body'],
    });
    const aggs = (res.body as unknown as { aggregations?: { levels: { buckets: Array<{ key: string; doc_count: number }> }; published: { doc_count: number } } }).aggregations;
    for (const b of aggs?.levels.buckets ?? []) if (b.key in byLevel) byLevel[b.key as RuleLevel] += b.doc_count;
    published += aggs?.published.doc_count ?? 0;
  }
  return { byLevel, published };
}
