import type { FirehoseResult, FirehoseTransformationResultRecord } from './types.ts';

/** `{"records":[` + `]}`: what the response holds besides its entries and the commas between them. */
export const RESPONSE_FRAME_BYTES = Buffer.byteLength('{"records":[]}');

/** Bytes of a string value inside JSON, without its quotes (escapes and UTF-8 counted). */
export function jsonStringBytes(value: string): number {
  return Buffer.byteLength(JSON.stringify(value)) - 2;
}

const BASE64 = /^[A-Za-z0-9+/=]*$/;

/** Bytes of a payload inside JSON: base64 (the only thing Firehose sends and we return) as is, anything else escaped. */
export function payloadBytes(data: string): number {
  return BASE64.test(data) ? data.length : jsonStringBytes(data);
}

/**
 * Bytes of an entry as JSON.stringify writes it in the response. Its payload is measured
 * on its own so that megabytes of base64 are not serialised twice, nor scanned when the
 * caller made it base64 itself (`base64`).
 */
export function entryBytes(entry: FirehoseTransformationResultRecord, options: { base64?: boolean } = {}): number {
  if (entry.data === '') return Buffer.byteLength(JSON.stringify(entry));
  return Buffer.byteLength(JSON.stringify({ ...entry, data: '' })) + (options.base64 ? entry.data.length : payloadBytes(entry.data));
}

/** The least Firehose accepts for a record: its id, a result and empty data. */
export function minimalEntry(recordId: string, result: FirehoseResult): FirehoseTransformationResultRecord {
  return { recordId, result, data: '' };
}

/** Bytes of a response of `count` entries whose sizes add up to `entries`. */
export function responseBytes(entries: number, count: number): number {
  return RESPONSE_FRAME_BYTES + entries + Math.max(0, count - 1);
}

/**
 * No valid response exists: the minimal answers alone pass the limit. Firehose bounds an
 * invocation (processor buffer of at most 3 MB), and a minimal answer is shorter than the
 * record it answers, so this needs an invocation Firehose does not send.
 */
export class ResponseLimitError extends Error {
  override readonly name = 'ResponseLimitError';
  constructor(
    readonly records: number,
    readonly minimalBytes: number,
    readonly maxBytes: number,
  ) {
    super(`the minimal answers to ${records} records take ${minimalBytes} bytes, over the ${maxBytes}-byte response limit`);
  }
}
