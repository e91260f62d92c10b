import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@opensearch-project/opensearch';
import { gunzipSync } from 'node:zlib';
import type { ArchiveLine } from '../processors/index.ts';
import type { DeadLetter } from '../consumers/index.ts';

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
