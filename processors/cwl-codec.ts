import { gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import * as z from 'zod';

/** One log event of a CloudWatch Logs subscription payload. */
export const CwlLogEventSchema = z.object({
  id: z.string(),
  // Milliseconds since the epoch, within the range a Date can hold.
  timestamp: z.number().int().min(0).max(8.64e15),
  message: z.string(),
  extractedFields: z.record(z.string(), z.string()).optional(),
});

/** The JSON envelope CloudWatch Logs gzips into every record it delivers to a subscription. */
export const CwlEnvelopeSchema = z.object({
  messageType: z.enum(['DATA_MESSAGE', 'CONTROL_MESSAGE']),
  owner: z.string(),
  logGroup: z.string(),
  logStream: z.string(),
  subscriptionFilters: z.array(z.string()),
  logEvents: z.array(CwlLogEventSchema),
  policyLevel: z.string().optional(),
});

export type CwlLogEvent = z.infer<typeof CwlLogEventSchema>;
export type CwlEnvelope = z.infer<typeof CwlEnvelopeSchema>;

export type DecodeFailureReason = 'compression' | 'json' | 'envelope' | 'empty' | 'kpl';

/** A record that cannot be turned into an envelope; carries what the caller needs to dead-letter it. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly reason: DecodeFailureReason,
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

/**
 * Top-level envelope key the Firehose transform adds to the records it puts back into the
 * stream. CloudWatch Logs writes the envelope and never sets it; a member account controls
 * only names and log events, which cannot reach the envelope's top level, so it cannot forge it.
 */
export const REINGEST_MARK = 'centralogReingested';

export type DecodedRecord =
  /**
   * `reingested` is set (true) only on a record the transform put back into the stream; `text`
   * (the decompressed JSON the envelope was parsed from) only when asked for with `withText`.
   */
  | { kind: 'data'; envelope: CwlEnvelope; reingested?: true; text?: string }
  | { kind: 'control'; envelope: CwlEnvelope }
  | { kind: 'failed'; error: DecodeError };

const GZIP_MAGIC_0 = 0x1f;
// A Kinesis record is at most 1 MiB; a payload inflating past this is hostile, not a log batch.
const MAX_INFLATED_BYTES = 64 * 1024 * 1024;
const GZIP_MAGIC_1 = 0x8b;

/** base64 text of a gzip ("H4sI") or zlib ("eJ", "eN", "eA") payload, as Lambda awslogs events carry it. */
function isBase64Payload(buf: Buffer): boolean {
  const head = buf.subarray(0, 4).toString('latin1');
  return head === 'H4sI' || head.startsWith('eJ') || head.startsWith('eN') || head.startsWith('eA');
}

/** The decompressed bytes of a payload (gzip or zlib, raw or base64); throws a DecodeError naming what is wrong. */
export function inflateCwlPayload(data: Uint8Array): Buffer {
  let buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length === 0) throw new DecodeError('empty', 'record has no data');
  if (isBase64Payload(buf)) buf = Buffer.from(buf.toString('latin1').trim(), 'base64');
  try {
    const limits = { maxOutputLength: MAX_INFLATED_BYTES };
    if (buf[0] === GZIP_MAGIC_0 && buf[1] === GZIP_MAGIC_1) return gunzipSync(buf, limits);
    // Some real payloads are zlib-wrapped instead of gzip (first byte 0x78).
    if (buf[0] === 0x78) return inflateSync(buf, limits);
  } catch (err) {
    throw new DecodeError('compression', (err as Error).message);
  }
  throw new DecodeError('compression', `not gzip or zlib (first bytes ${buf.subarray(0, 4).toString('hex')})`);
}

function isStringRecord(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  for (const k in v) if (typeof (v as Record<string, unknown>)[k] !== 'string') return false;
  return true;
}

/**
 * The same checks as CwlEnvelopeSchema, by hand: validating thousands of events per
 * record through zod would cost more than decoding them.
 */
function isWellFormedEnvelope(v: unknown): v is CwlEnvelope {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  if (e.messageType !== 'DATA_MESSAGE' && e.messageType !== 'CONTROL_MESSAGE') return false;
  if (typeof e.owner !== 'string' || typeof e.logGroup !== 'string' || typeof e.logStream !== 'string') return false;
  if (e.policyLevel !== undefined && typeof e.policyLevel !== 'string') return false;
  const filters = e.subscriptionFilters;
  if (!Array.isArray(filters) || !filters.every((f) => typeof f === 'string')) return false;
  const events = e.logEvents;
  if (!Array.isArray(events)) return false;
  for (const ev of events as Array<Record<string, unknown>>) {
    if (typeof ev !== 'object' || ev === null) return false;
    if (typeof ev.id !== 'string' || typeof ev.message !== 'string') return false;
    const t = ev.timestamp;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 8.64e15) return false;
    if (ev.extractedFields !== undefined && !isStringRecord(ev.extractedFields)) return false;
  }
  return true;
}

/**
 * Decodes one Kinesis record written by a CloudWatch Logs subscription.
 * Never throws: bad input comes back as `{kind: 'failed'}` with a reason. `withText` keeps the
 * decompressed JSON beside a data envelope (the archive reuses its escaping of each message).
 */
export function decodeCwlRecord(data: Uint8Array, options: { withText?: boolean } = {}): DecodedRecord {
  let json: string;
  try {
    json = inflateCwlPayload(data).toString('utf8');
  } catch (err) {
    return { kind: 'failed', error: err instanceof DecodeError ? err : new DecodeError('compression', String(err)) };
  }
  const decoded = decodeCwlJson(json);
  if (options.withText && decoded.kind === 'data') decoded.text = json;
  return decoded;
}

/**
 * The envelope checks of decodeCwlRecord for text already decompressed (a payload saved
 * as JSON, as `centralog parse --envelope` reads it). Never throws.
 */
export function decodeCwlJson(json: string): DecodedRecord {
  try {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (err) {
      throw new DecodeError('json', (err as Error).message);
    }
    let envelope: CwlEnvelope;
    if (isWellFormedEnvelope(parsed)) {
      envelope = parsed;
    } else {
      // The slow path only runs for bad input, to name what is wrong.
      const result = CwlEnvelopeSchema.safeParse(parsed);
      if (!result.success) {
        const issue = result.error.issues[0];
        throw new DecodeError('envelope', `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
      }
      envelope = result.data;
    }
    if (envelope.messageType === 'CONTROL_MESSAGE') return { kind: 'control', envelope };
    if (envelope.logEvents.length === 0) throw new DecodeError('empty', 'DATA_MESSAGE without logEvents');
    // Read from the parsed JSON (the schema's slow path strips keys it does not know), and
    // kept out of the envelope, which stays what CloudWatch Logs wrote.
    if ((parsed as Record<string, unknown>)[REINGEST_MARK] === true) {
      delete (envelope as Record<string, unknown>)[REINGEST_MARK];
      return { kind: 'data', envelope, reingested: true };
    }
    return { kind: 'data', envelope };
  } catch (err) {
    if (err instanceof DecodeError) return { kind: 'failed', error: err };
    return { kind: 'failed', error: new DecodeError('json', String(err)) };
  }
}

/**
 * Encodes an envelope exactly as CloudWatch Logs delivers it: gzip of compact JSON.
 * `reingested` adds the mark (inside the gzip, so it survives Kinesis and KPL aggregation).
 */
export function encodeCwlRecord(envelope: CwlEnvelope, options: { reingested?: boolean } = {}): Buffer {
  const { [REINGEST_MARK]: _mark, ...plain } = envelope as CwlEnvelope & { [REINGEST_MARK]?: unknown };
  return gzipSync(JSON.stringify(options.reingested ? { ...plain, [REINGEST_MARK]: true } : plain));
}
