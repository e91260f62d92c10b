/**
 * CloudTrail's volatile objects (requestParameters, responseElements, additionalEventData,
 * serviceEventDetails, insightDetails, addendum) made ready for OpenSearch `flat_object` fields.
 */
import type { EcsDocument } from '../types.ts';
import { obj, type Obj } from '../values.ts';

/**
 * A flat_object indexes each leaf value as one keyword term, and Lucene rejects a term over 32,766
 * UTF-8 bytes (the whole document fails). A UTF-16 code unit is at most 3 bytes, so 8,000 code units
 * plus the path stay well below the limit. Longer values keep their first 8,000 code units and a
 * marker; the complete event is in the S3 archive.
 */
export const FLAT_VALUE_MAX_CHARS = 8000;

/** Nesting below which values are neither checked nor shortened (bounds the recursion on hostile input). */
const MAX_WALK_DEPTH = 64;

function hasLongString(v: unknown, depth: number): boolean {
  if (typeof v === 'string') return v.length > FLAT_VALUE_MAX_CHARS;
  if (depth > MAX_WALK_DEPTH || typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (hasLongString(x, depth + 1)) return true;
    return false;
  }
  for (const k in v) if (hasLongString((v as Obj)[k], depth + 1)) return true;
  return false;
}

function shortenLongStrings(v: unknown, depth: number): unknown {
  if (typeof v === 'string') {
    return v.length > FLAT_VALUE_MAX_CHARS
      ? `${v.slice(0, FLAT_VALUE_MAX_CHARS)}…[truncated ${v.length - FLAT_VALUE_MAX_CHARS} chars]`
      : v;
  }
  if (depth > MAX_WALK_DEPTH || typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map((x) => shortenLongStrings(x, depth + 1));
  const out: Obj = {};
  for (const k in v) out[k] = shortenLongStrings((v as Obj)[k], depth + 1);
  return out;
}

/**
 * A volatile CloudTrail value ready for a flat_object field: objects whole, anything else wrapped as
 * `{value}` (a flat_object field only takes objects); absent, null, '' , [] and {} give undefined.
 */
export function flat(v: unknown): EcsDocument | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  let o = obj(v);
  if (o) {
    let empty = true;
    for (const _ in o) {
      empty = false;
      break;
    }
    if (empty) return undefined;
  } else {
    if (Array.isArray(v) && v.length === 0) return undefined;
    o = { value: v };
  }
  return hasLongString(o, 0) ? (shortenLongStrings(o, 0) as EcsDocument) : o;
}
