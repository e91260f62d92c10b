import type { CwlLogEvent } from '../cwl-codec.ts';

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;

function skipSpace(s: string, i: number): number {
  while (isSpace(s.charCodeAt(i))) i++;
  return i;
}

/** The first quote at or after `from` that no backslash escapes: the end of the string literal `from` lies in. */
function closingQuote(s: string, from: number): number {
  let q = s.indexOf('"', from);
  while (q !== -1) {
    let k = q - 1;
    while (s.charCodeAt(k) === BACKSLASH) k--;
    // A run of backslashes starts at an escape boundary, so its parity says whether it escapes the quote.
    if ((q - 1 - k) % 2 === 0) return q;
    q = s.indexOf('"', q + 1);
  }
  return -1;
}

/** Index just past the value starting at `i` (valid JSON assumed), or -1. */
function skipValue(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === QUOTE) {
    const q = closingQuote(s, i + 1);
    return q < 0 ? -1 : q + 1;
  }
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    for (; i < s.length; i++) {
      const d = s.charCodeAt(i);
      if (d === QUOTE) {
        const q = closingQuote(s, i + 1);
        if (q < 0) return -1;
        i = q;
      } else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
      else if ((d === CLOSE_BRACE || d === CLOSE_BRACKET) && --depth === 0) return i + 1;
    }
    return -1;
  }
  while (i < s.length) {
    const d = s.charCodeAt(i);
    if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || isSpace(d)) break;
    i++;
  }
  return i;
}

/**
 * Walks one object's members: `onMember(key, valueStart)` returns the index past the value
 * (or -1). Keys with escapes are refused (-1): they could spell a key the walk looks for.
 */
function walkObject(s: string, i: number, onMember: (key: string, at: number) => number): number {
  if (s.charCodeAt(i) !== OPEN_BRACE) return -1;
  i = skipSpace(s, i + 1);
  if (s.charCodeAt(i) === CLOSE_BRACE) return i + 1;
  for (;;) {
    if (s.charCodeAt(i) !== QUOTE) return -1;
    const q = closingQuote(s, i + 1);
    if (q < 0) return -1;
    const key = s.slice(i + 1, q);
    if (key.includes('\\')) return -1;
    i = skipSpace(s, q + 1);
    if (s.charCodeAt(i) !== COLON) return -1;
    i = onMember(key, skipSpace(s, i + 1));
    if (i < 0) return -1;
    i = skipSpace(s, i);
    const c = s.charCodeAt(i);
    if (c === CLOSE_BRACE) return i + 1;
    if (c !== COMMA) return -1;
    i = skipSpace(s, i + 1);
  }
}

/**
 * Each log event's `message` exactly as the envelope's JSON text spells it, quotes included,
 * where that spelling is byte for byte what JSON.stringify(message) writes; undefined for a
 * message spelt otherwise (an escape JSON.stringify never writes, such as `\/` or `\u0041`),
 * and undefined altogether when the text is not laid out as expected (a duplicate key, an
 * escaped key). The archive then serialises those messages itself.
 *
 * `text` must be the text `events` were parsed from, decoded from UTF-8 bytes (so it holds no
 * lone surrogate, which JSON.stringify would escape): the walk trusts its validity.
 */
export function messageLiterals(text: string, events: readonly CwlLogEvent[]): Array<string | undefined> | undefined {
  const literals: Array<string | undefined> = new Array(events.length);
  // A literal is JSON.stringify's spelling unless it holds an escape JSON.stringify never writes:
  // `\/`, or `\u` (it writes \u only for controls and lone surrogates, and those are rare enough
  // to send every \u the slow way). `\\u` also matches, which only costs that message the slow way.
  const unusual = /\\[u/]/g;
  let nextUnusual = -1;
  const canonical = (start: number, end: number): boolean => {
    if (nextUnusual < start) {
      unusual.lastIndex = start;
      nextUnusual = unusual.exec(text)?.index ?? Infinity;
    }
    return nextUnusual >= end;
  };

  const walkEvents = (i: number): number => {
    if (text.charCodeAt(i) !== OPEN_BRACKET) return -1;
    i = skipSpace(text, i + 1);
    let k = 0;
    if (text.charCodeAt(i) === CLOSE_BRACKET) return k === events.length ? i + 1 : -1;
    for (;;) {
      const event = events[k];
      if (!event) return -1;
      let seen = false;
      i = walkObject(text, i, (key, at) => {
        if (key !== 'message') return skipValue(text, at);
        if (seen || text.charCodeAt(at) !== QUOTE) return -1;
        seen = true;
        // Escapes only lengthen a string, so its closing quote lies at least the message's length on.
        const q = closingQuote(text, at + 1 + event.message.length);
        if (q < 0) return -1;
        literals[k] = canonical(at, q) ? text.slice(at, q + 1) : undefined;
        return q + 1;
      });
      if (i < 0 || !seen) return -1;
      k++;
      i = skipSpace(text, i);
      const c = text.charCodeAt(i);
      if (c === CLOSE_BRACKET) return k === events.length ? i + 1 : -1;
      if (c !== COMMA) return -1;
      i = skipSpace(text, i + 1);
    }
  };

  let found = false;
  const end = walkObject(text, skipSpace(text, 0), (key, at) => {
    if (key !== 'logEvents') return skipValue(text, at);
    // JSON.parse keeps the last of duplicate keys; refusing them keeps this walk simple.
    if (found) return -1;
    found = true;
    return walkEvents(at);
  });
  return end < 0 || !found ? undefined : literals;
}
