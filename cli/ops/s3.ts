import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, type ListObjectsV2CommandInput, type S3Client } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';

export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date;
}

/** Every object under a prefix, following pagination. */
export async function listObjects(s3: S3Client, bucket: string, prefix: string, signal?: AbortSignal): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal });
    for (const o of out.Contents ?? []) if (o.Key) objects.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/** The "folders" directly under a prefix (`source=aws.vpcflow/`, ...). */
export async function listFolders(s3: S3Client, bucket: string, prefix: string, signal?: AbortSignal): Promise<string[]> {
  const folders: string[] = [];
  let token: string | undefined;
  let objects = 0;
  do {
    const input: ListObjectsV2CommandInput = { Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token };
    const out = await s3.send(new ListObjectsV2Command(input), { abortSignal: signal });
    for (const p of out.CommonPrefixes ?? []) if (p.Prefix) folders.push(p.Prefix);
    objects += out.Contents?.length ?? 0;
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  if (folders.length > 0 || objects > 0) return folders;
  // s3rver finds no folder more than one level above its objects; S3 answers the same
  // way only when the prefix is empty, and then this listing is empty too.
  const derived = new Set<string>();
  for (const o of await listObjects(s3, bucket, prefix, signal)) {
    const slash = o.key.indexOf('/', prefix.length);
    if (slash !== -1) derived.add(o.key.slice(0, slash + 1));
  }
  return [...derived].sort();
}

/** An object's bytes, gunzipped when stored gzip (Firehose may compress the archive; dead letters always are). */
export async function readObject(s3: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  const data = Buffer.from(await out.Body!.transformToByteArray());
  return data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data;
}

/** Like readObject, but undefined when there is no such object. */
export async function readObjectIfExists(s3: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<Buffer | undefined> {
  try {
    return await readObject(s3, bucket, key, signal);
  } catch (err) {
    if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

/** Runs `work` on every item with at most `concurrency` at once; stops at the first failure. */
export async function forEachLimit<T>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  let failed: unknown;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (failed === undefined && next < items.length) {
      signal?.throwIfAborted();
      const i = next++;
      try {
        await work(items[i]!, i);
      } catch (err) {
        failed ??= err;
      }
    }
  });
  await Promise.all(lanes);
  if (failed !== undefined) throw failed;
}
