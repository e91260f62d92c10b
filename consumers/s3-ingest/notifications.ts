/**
 * The S3 objects an SQS message announces. S3 sends its own notification (`{"Records":[...]}`,
 * keys URL-encoded with `+` for spaces), or SNS wraps it (`{"Type":"Notification","Message":"..."}`),
 * or EventBridge sends an "Object Created" event (`detail.bucket.name`, `detail.object.key`).
 * Test events (`s3:TestEvent`, sent when a notification is configured) and anything else
 * are told apart, so the caller acknowledges and counts them instead of retrying them forever.
 */

export interface ObjectCreated {
  bucket: string;
  key: string;
  size?: number;
  /** When S3 stored the object (ms). */
  eventTime: number;
}

export type Notification =
  | { kind: 'objects'; objects: ObjectCreated[]; via: 's3' | 'sns' | 'eventbridge' }
  | { kind: 'test' }
  | { kind: 'unknown'; reason: string };

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);

/** S3 writes keys form-encoded: `+` is a space, `%XX` a byte. */
export function decodeS3Key(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}

function time(v: unknown, fallback: number): number {
  const t = typeof v === 'string' ? Date.parse(v) : Number.NaN;
  return Number.isFinite(t) ? t : fallback;
}

function fromS3Records(records: unknown[], now: number): ObjectCreated[] | string {
  const objects: ObjectCreated[] = [];
  for (const r of records) {
    const rec = obj(r);
    const s3 = obj(rec?.s3);
    const bucket = obj(s3?.bucket)?.name;
    const key = obj(s3?.object)?.key;
    if (typeof bucket !== 'string' || typeof key !== 'string') return 'an S3 record without s3.bucket.name and s3.object.key';
    const eventName = typeof rec?.eventName === 'string' ? rec.eventName : '';
    // Deletions and other events announce nothing to read.
    if (!eventName.startsWith('ObjectCreated:')) continue;
    const size = obj(s3?.object)?.size;
    objects.push({ bucket, key: decodeS3Key(key), size: typeof size === 'number' ? size : undefined, eventTime: time(rec?.eventTime, now) });
  }
  return objects;
}

function fromJson(json: Obj, via: 's3' | 'sns', now: number): Notification {
  if (json.Event === 's3:TestEvent') return { kind: 'test' };
  if (Array.isArray(json.Records)) {
    const objects = fromS3Records(json.Records, now);
    return typeof objects === 'string' ? { kind: 'unknown', reason: objects } : { kind: 'objects', objects, via };
  }
  if (json.source === 'aws.s3' && json['detail-type'] === 'Object Created') {
    const detail = obj(json.detail);
    const bucket = obj(detail?.bucket)?.name;
    const key = obj(detail?.object)?.key;
    if (typeof bucket !== 'string' || typeof key !== 'string') return { kind: 'unknown', reason: 'an EventBridge Object Created event without detail.bucket.name and detail.object.key' };
    const size = obj(detail?.object)?.size;
    return { kind: 'objects', via: 'eventbridge', objects: [{ bucket, key, size: typeof size === 'number' ? size : undefined, eventTime: time(json.time, now) }] };
  }
  return { kind: 'unknown', reason: 'not an S3 event notification' };
}

/** What one SQS message body announces; never throws. */
export function parseNotification(body: string, now = Date.now()): Notification {
  let json: Obj | undefined;
  try {
    json = obj(JSON.parse(body));
  } catch {
    return { kind: 'unknown', reason: 'the message body is not JSON' };
  }
  if (!json) return { kind: 'unknown', reason: 'the message body is not a JSON object' };
  if (json.Type === 'Notification' && typeof json.Message === 'string') {
    let inner: Obj | undefined;
    try {
      inner = obj(JSON.parse(json.Message));
    } catch {
      return { kind: 'unknown', reason: 'an SNS notification whose Message is not JSON' };
    }
    return inner ? fromJson(inner, 'sns', now) : { kind: 'unknown', reason: 'an SNS notification whose Message is not a JSON object' };
  }
  return fromJson(json, 's3', now);
}
