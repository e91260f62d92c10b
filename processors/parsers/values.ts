/**
 * The plain values every parser reads out of JSON and log lines, each with one meaning.
 * All pure (node:net's isIP is a syntax check, no I/O).
 */
import { isIP } from 'node:net';

export type Obj = Record<string, unknown>;

/** A JSON object (not an array, not null), else undefined. */
export function obj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** A non-empty string; a finite number as its decimal text (exports write ids and codes as numbers); else undefined. */
export function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v !== '' ? v : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
}

/** A boolean, or "true"/"false"/"yes"/"no" in any case (CloudTrail writes MFAUsed as "Yes"/"No"); else undefined. */
export function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string' || v.length > 5) return undefined;
  const s = v.toLowerCase();
  return s === 'true' || s === 'yes' ? true : s === 'false' || s === 'no' ? false : undefined;
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/** A finite number, or a decimal string of one (" 7.5", "-1", "1e3"); hex, "Infinity" and "" are not numbers. */
export function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (!DECIMAL.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** num() when it is a safe integer: a larger one would not reach a long field as it was sent. */
export function int(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && Number.isSafeInteger(n) ? n : undefined;
}

/** The value of 1..maxDigits ASCII digits (no sign, space or point: a log-line field), else -1. */
export function digits(s: string, maxDigits: number): number {
  const len = s.length;
  if (len === 0 || len > maxDigits) return -1;
  let n = 0;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return len > 15 ? Number(s) : n;
}

/**
 * True for an address OpenSearch's `ip` type stores: node's isIP, which refuses IPv4 with leading
 * zeros ("010.1.1.1" is octal to some parsers, decimal to others), and no IPv6 zone id ("fe80::1%eth0").
 */
export function isIpAddress(s: string): boolean {
  const family = isIP(s);
  return family === 4 || (family === 6 && s.indexOf('%') === -1);
}

/** The value when it is such an address, else undefined. */
export function ip(v: unknown): string | undefined {
  return typeof v === 'string' && isIpAddress(v) ? v : undefined;
}

/** Latest instant with a four-digit year, the range of OpenSearch's default date format. */
const MAX_TIME_MS = 253_402_300_799_999;

/** True for a valid Date in years 1970-9999 (what index names and date fields can hold). */
export function isUsableDate(d: Date | undefined): d is Date {
  if (d === undefined) return false;
  const t = d.getTime();
  return t >= 0 && t <= MAX_TIME_MS;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * A time as a Date in years 1970-9999, else undefined; never a local-time guess nor a rolled-over
 * date. Strings: `YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH[:MM]]`, no zone read as UTC (exports of
 * CloudTrail and GuardDuty data drop it). Numbers: epoch seconds, or milliseconds from 1e11 up.
 */
export function parseTime(v: unknown): Date | undefined {
  let t: number;
  if (typeof v === 'number') {
    t = Math.abs(v) < 1e11 ? v * 1000 : v;
  } else if (typeof v === 'string') {
    const m = ISO_TIME.exec(v.trim());
    if (!m) return undefined;
    const year = Number(m[1]);
    const month = Number(m[2]);
    const day = Number(m[3]);
    const hour = Number(m[4]);
    const minute = Number(m[5]);
    const second = Number(m[6]);
    // Before 1969 no offset reaches 1970 (and Date.UTC would read years 0-99 as 1900-1999).
    if (year < 1969 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
    const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
    t = Date.UTC(year, month - 1, day, hour, minute, second, ms);
    if (new Date(t).getUTCDate() !== day) return undefined; // 2023-02-30 and the like
    const zone = m[8];
    if (zone && zone.length > 1) {
      const offH = Number(zone.slice(1, 3));
      const offM = zone.length > 3 ? Number(zone.slice(-2)) : 0;
      if (offH > 23 || offM > 59) return undefined;
      t -= (zone[0] === '-' ? -1 : 1) * (offH * 60 + offM) * 60_000;
    }
  } else {
    return undefined;
  }
  // NaN fails both comparisons.
  return t >= 0 && t <= MAX_TIME_MS ? new Date(t) : undefined;
}
