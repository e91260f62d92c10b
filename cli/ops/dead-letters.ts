import type { S3Client } from '@aws-sdk/client-s3';
import type { DeadLetter } from '../../consumers/sinks/index.ts';
import { utcHourPath } from '../../processors/index.ts';
import { HOUR_MS, hourStart } from './archive.ts';
import { forEachLimit, listObjects, readObject, type ListedObject } from './s3.ts';

/** A dead-letter object: one Kinesis record's (or archive object's) letters. */
export interface DeadLetterObject extends ListedObject {
  /** Start of the hour in its key (the record's arrival hour). */
  hour: number;
}

const HOUR_IN_KEY = /(\d{4})\/(\d\d)\/(\d\d)\/(\d\d)\//;

/**
 * Dead-letter objects under `<prefix>YYYY/MM/DD/HH/` for the hours [from, to), one
 * listing per hour; with no range, every one under the prefix.
 */
export async function listDeadLetterObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
  range?: { from: Date; to: Date },
  signal?: AbortSignal,
): Promise<DeadLetterObject[]> {
  const withHour = (o: ListedObject): DeadLetterObject => {
    const m = HOUR_IN_KEY.exec(o.key.slice(prefix.length));
    return { ...o, hour: m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4])) : 0 };
  };
  if (!range) return (await listObjects(s3, bucket, prefix, signal)).map(withHour);
  const hours: number[] = [];
  for (let h = hourStart(range.from.getTime()); h < range.to.getTime(); h += HOUR_MS) hours.push(h);
  const found: DeadLetterObject[][] = [];
  await forEachLimit(hours, 8, async (h, i) => {
    found[i] = (await listObjects(s3, bucket, `${prefix}${utcHourPath(new Date(h))}/`, signal)).map(withHour);
  }, signal);
  return found.flat();
}

/** The letters of one object, in order. */
export async function readDeadLetterObject(s3: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<DeadLetter[]> {
  const text = (await readObject(s3, bucket, key, signal)).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as DeadLetter);
}

/** `owner|logGroup|logStream|eventId` of a letter's event; undefined for an undecodable record. */
export function letterEventKey(letter: DeadLetter): string | undefined {
  if (!letter.envelope || !letter.event) return undefined;
  return `${letter.envelope.owner}|${letter.envelope.logGroup}|${letter.envelope.logStream}|${letter.event.id}`;
}

/** A reason without what differs between documents (ids, values), so letters group by cause. */
export function reasonKind(reason: string): string {
  return reason
    .replace(/ in document with id '[^']*'/g, '')
    .replace(/\. Preview of field's value: '[^']*'/g, '')
    .replace(/: For input string: "[^"]*"/g, '');
}
