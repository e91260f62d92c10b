/**
 * Documents from the events of S3 objects, the second way in: the same parsers, ECS fields,
 * index names (bounded by the same window), and the same document ids where an event carries
 * its own (CloudTrail eventID, GuardDuty finding id + updatedAt); other events are keyed by
 * bucket, key and line number, so a redelivered notification or a re-uploaded object never
 * duplicates. Pure: the caller reads the object and hands over its text line by line.
 */
import { boundedIndex, DEFAULT_INDEX_PREFIX, hashId, stampShared, type DocumentOptions, type IndexableDocument } from '../document.ts';
import { parseAlbLogEntry } from '../parsers/alb.ts';
import { parseCloudTrailRecord } from '../parsers/cloudtrail.ts';
import { parseGuardDutyFinding } from '../parsers/guardduty.ts';
import { ParseError, type EcsDocument, type ParseContext, type ParsedEvent } from '../parsers/types.ts';
import { isUsableDate, obj } from '../parsers/values.ts';
import { isVpcFlowHeader, parseVpcFlowFormat, parseVpcFlowLine } from '../parsers/vpcflow.ts';
import type { SourceType } from '../source.ts';
import { accountFromKey, regionFromKey, type ObjectFormat } from './object-format.ts';

/** An object whose content cannot be read as its format (not JSON, no Records array...): dead-lettered whole. */
export class ObjectFormatError extends Error {
  override readonly name = 'ObjectFormatError';
}

/** Where an object sits, and when S3 stored it (the notification's eventTime): the index window's reference. */
export interface S3ObjectRef {
  bucket: string;
  key: string;
  /** ms since the epoch; a re-read of the same upload names the same indices. */
  recordTime: number;
}

/** One object's reading state: the flow log format its header set. */
export interface ObjectReader {
  ref: S3ObjectRef;
  format: ObjectFormat;
  account?: string;
  region?: string;
  vpcFlowFormat?: string[];
}

export function objectReader(ref: S3ObjectRef, format: ObjectFormat): ObjectReader {
  return { ref, format, account: accountFromKey(ref.key), region: regionFromKey(ref.key) };
}

function context(reader: ObjectReader, lineNo: number): ParseContext {
  return { owner: reader.account ?? '', logGroup: '', logStream: reader.ref.key, eventId: String(lineNo), timestamp: reader.ref.recordTime };
}

/** What every S3 document shares, then its bounded index; the parsed fields win where both exist. */
function finish(
  reader: ObjectReader,
  source: SourceType,
  parsed: ParsedEvent | undefined,
  fallback: EcsDocument,
  id: string,
  options: DocumentOptions,
): IndexableDocument {
  const time = parsed && isUsableDate(parsed.timestamp) ? parsed.timestamp : new Date(reader.ref.recordTime);
  const body: EcsDocument = parsed ? parsed.document : fallback;
  const { bucket, key } = reader.ref;
  const { cloud, aws } = stampShared(body, source, time);
  if (reader.account) cloud.account ??= { id: reader.account };
  if (reader.region) cloud.region ??= reader.region;
  aws.s3 = { bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key } };
  body.log = { file: { path: `s3://${bucket}/${key}` } };
  // The key is written by the service into its owner's prefix; a record claiming another account is only text.
  const claimed = (cloud.account as EcsDocument | undefined)?.id;
  if (source === 'cloudtrail' && reader.account && claimed !== undefined && claimed !== reader.account && !options.aggregatorAccounts?.includes(reader.account)) {
    const tags = Array.isArray(body.tags) ? (body.tags as string[]) : (body.tags = []);
    tags.push('account_mismatch');
    options.onAccountMismatch?.();
  }
  const prefix = options.indexPrefix ?? DEFAULT_INDEX_PREFIX;
  return { index: boundedIndex(options, prefix, source, time, body, reader.ref.recordTime), id, source, eventTimestamp: time.getTime(), body };
}

const lineId = (ref: S3ObjectRef, lineNo: number) => hashId(['s3', ref.bucket, ref.key, String(lineNo)]);

/** A line that looked like its object's format but did not parse: a generic document, tagged, never dropped. */
function failed(reader: ObjectReader, line: string, lineNo: number, err: unknown, options: DocumentOptions): IndexableDocument {
  const e = err instanceof ParseError ? err : new ParseError(reader.format, `unexpected ${(err as Error).name}: ${(err as Error).message}`);
  const body: EcsDocument = {
    message: line,
    event: { kind: 'event' },
    tags: ['parse_failure', `${e.source}_parse_failure`],
    error: { type: 'ParseError', message: e.message },
  };
  return finish(reader, 'cloudwatch_logs', undefined, body, lineId(reader.ref, lineNo), options);
}

/**
 * The document of one line (1-based) of a line-oriented object (ALB entries, flow log lines,
 * GuardDuty JSON lines); undefined for blank lines and flow log headers, which are not events
 * (a header sets the format of the lines after it).
 */
export function lineDocument(reader: ObjectReader, line: string, lineNo: number, options: DocumentOptions = {}): IndexableDocument | undefined {
  if (line.trim() === '') return undefined;
  const ctx = context(reader, lineNo);
  try {
    switch (reader.format) {
      case 'elb':
        return finish(reader, 'elb', parseAlbLogEntry(line, { owner: ctx.owner, region: reader.region }), {}, lineId(reader.ref, lineNo), options);
      case 'vpcflow': {
        if (isVpcFlowHeader(line)) {
          reader.vpcFlowFormat = parseVpcFlowFormat(line);
          return undefined;
        }
        if (!reader.vpcFlowFormat) throw new ParseError('vpcflow', 'a flow log line before any header line (S3 flow log files start with one)');
        return finish(reader, 'vpcflow', parseVpcFlowLine(line.trim(), reader.vpcFlowFormat, ctx), {}, lineId(reader.ref, lineNo), options);
      }
      case 'guardduty': {
        const json = obj(JSON.parse(line));
        if (!json) throw new ParseError('guardduty', 'not a JSON object');
        const detail = obj(json.detail);
        const wrapped = json.source === 'aws.guardduty' && detail !== undefined;
        const parsed = parseGuardDutyFinding(wrapped ? detail : json, ctx, wrapped ? json : undefined);
        // Each update of a finding is its own document, under the same id whichever way it arrived.
        const id = parsed.idParts ? hashId(['guardduty', ...parsed.idParts]) : lineId(reader.ref, lineNo);
        return finish(reader, 'guardduty', parsed, {}, id, options);
      }
      case 'cloudtrail':
        throw new ParseError('cloudtrail', 'a CloudTrail file is one JSON document, not lines');
    }
  } catch (err) {
    return failed(reader, line, lineNo, err, options);
  }
}

/** The records of a CloudTrail file (`{"Records":[...]}`); throws ObjectFormatError when it is not one. */
export function cloudTrailRecords(text: string): unknown[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ObjectFormatError(`not a CloudTrail file: ${(err as Error).message}`);
  }
  const records = obj(json)?.Records;
  if (!Array.isArray(records)) throw new ObjectFormatError('not a CloudTrail file: no "Records" array');
  return records;
}

/** The document of record `index` (0-based) of a CloudTrail file, keyed by its eventID. */
export function cloudTrailDocument(reader: ObjectReader, record: unknown, index: number, options: DocumentOptions = {}): IndexableDocument {
  const r = obj(record);
  const text = JSON.stringify(record);
  // Records have no lines: the position in the file stands in for one when there is no eventID.
  const lineNo = index + 1;
  if (!r) return failed(reader, text, lineNo, new ParseError('cloudtrail', 'a record that is not a JSON object'), options);
  try {
    const parsed = parseCloudTrailRecord(r, context(reader, lineNo));
    const eventId = typeof r.eventID === 'string' && r.eventID !== '' ? r.eventID : undefined;
    return finish(reader, 'cloudtrail', parsed, {}, eventId ? hashId(['cloudtrail', eventId]) : lineId(reader.ref, lineNo), options);
  } catch (err) {
    return failed(reader, text, lineNo, err, options);
  }
}
