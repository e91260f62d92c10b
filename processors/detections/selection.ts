/**
 * Compiles a Sigma search identifier (a map, a list of maps, or keywords) into a predicate on
 * an event, following the Sigma rules specification and its modifiers appendix.
 */
import { compileCidr } from './cidr.ts';
import { fieldPath, someLeaf } from './field-path.ts';
import { base64Offsets, encode } from './encodings.ts';
import { compileTokens, literalOf, tokenize } from './pattern.ts';
import { requiredLiteral } from './regex-literal.ts';

export type Predicate = (event: Record<string, unknown>) => boolean;

/** A rule that uses something this engine cannot evaluate. */
export class UnsupportedRuleError extends Error {
  override name = 'UnsupportedRuleError';
}

/**
 * What every matching event must hold, for indexing: the lower-cased values one field
 * (eventName, eventSource) must equal. A missing key means no such constraint is known.
 */
export type Constraint = Map<string, Set<string>>;

export interface CompiledSearch {
  test: Predicate;
  /** Constraints every match of this search satisfies; undefined when none are known. */
  constraint: Constraint | undefined;
}

/** Fields whose plain equality tests file a rule in the index, in order of preference. */
export const INDEXED_FIELDS = ['eventName', 'eventSource', 'userIdentity.type'];

const STRING_OPS = new Set(['contains', 'startswith', 'endswith']);
const NUMBER_OPS = new Set(['lt', 'lte', 'gt', 'gte']);
const ENCODINGS = new Set(['wide', 'utf16le', 'utf16be', 'utf16']);
const KNOWN = new Set([...STRING_OPS, ...NUMBER_OPS, ...ENCODINGS, 'all', 're', 'i', 'm', 's', 'cidr', 'exists', 'fieldref', 'base64', 'base64offset', 'cased', 'neq']);

type ValueTest = (value: unknown, event: Record<string, unknown>) => boolean;

const asText = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;

const escapeWildcards = (s: string): string => s.replace(/[\\*?]/g, '\\$&');

/** Compiles one `field|modifiers: value(s)` entry; `field` empty means a keyword search. */
function compileFieldItem(key: string, raw: unknown): CompiledSearch {
  const [field, ...mods] = key.split('|');
  for (const m of mods) if (!KNOWN.has(m)) throw new UnsupportedRuleError(`unknown modifier '${m}' in '${key}'`);
  const has = (m: string) => mods.includes(m);
  const values = Array.isArray(raw) ? raw : [raw];
  if (values.length === 0) throw new UnsupportedRuleError(`'${key}' has an empty value list`);
  const path = field ? fieldPath(field) : undefined;

  if (has('exists')) {
    if (mods.length !== 1 || values.length !== 1 || typeof values[0] !== 'boolean') throw new UnsupportedRuleError(`'${key}' takes one boolean and no other modifier`);
    if (!path) throw new UnsupportedRuleError(`'${key}': exists needs a field`);
    const want = values[0];
    return { test: (e) => path.exists(e) === want, constraint: undefined };
  }

  const tests: ValueTest[] = values.map((v) => compileValue(key, mods, v));
  const all = has('all');
  if (all && values.length < 2) throw new UnsupportedRuleError(`'${key}': all needs a list of at least two values`);

  const onField = (t: ValueTest): Predicate => (path ? (e) => path.some(e, (v) => t(v, e)) : (e) => someLeaf(e, (v) => t(v, e)));
  let test: Predicate;
  const perValue = values.map((v, i) => (v === null && path ? (e: Record<string, unknown>) => !path.some(e, (x) => x !== null) : onField(tests[i]!)));
  if (has('neq')) {
    // Different from every listed value: the field has a value, and none of them matches.
    const any = (v: unknown, e: Record<string, unknown>) => tests.some((t) => t(v, e));
    test = path ? (e) => path.exists(e) && !path.some(e, (v) => any(v, e)) : (e) => !someLeaf(e, (v) => any(v, e));
  } else if (all) test = (e) => perValue.every((p) => p(e));
  else if (perValue.length === 1) test = perValue[0]!;
  else test = (e) => perValue.some((p) => p(e));

  let constraint: Constraint | undefined;
  if (mods.length === 0 && field && INDEXED_FIELDS.includes(field)) {
    const literals = values.map((v) => (typeof v === 'string' ? literalOf(tokenize(v)) : undefined));
    if (literals.every((l) => l !== undefined)) constraint = new Map([[field, new Set(literals.map((l) => l!.toLowerCase()))]]);
  }
  return { test, constraint };
}

/** The test one value of an entry makes on one value of the event's field. */
function compileValue(key: string, mods: string[], value: unknown): ValueTest {
  const has = (m: string) => mods.includes(m);
  if (value === null) {
    if (mods.length > 0) throw new UnsupportedRuleError(`'${key}': null takes no modifier`);
    return (v) => v === null;
  }
  if (typeof value === 'object') throw new UnsupportedRuleError(`'${key}' has a nested map or list as a value`);

  if (NUMBER_OPS.has(mods[0] ?? '')) {
    if (mods.length !== 1 || typeof value !== 'number') throw new UnsupportedRuleError(`'${key}' compares numbers: one number and no other modifier`);
    const n = value;
    const cmp = { lt: (x: number) => x < n, lte: (x: number) => x <= n, gt: (x: number) => x > n, gte: (x: number) => x >= n }[mods[0] as 'lt'];
    return (v) => {
      const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      return !Number.isNaN(x) && cmp(x);
    };
  }

  if (has('re')) {
    const flags = mods.slice(mods.indexOf('re') + 1);
    const rest = mods.filter((m) => m !== 're' && !flags.includes(m) && m !== 'neq');
    if (rest.length > 0 || flags.some((f) => !['i', 'm', 's'].includes(f))) throw new UnsupportedRuleError(`'${key}': re takes only its flags i, m, s after it`);
    if (typeof value !== 'string') throw new UnsupportedRuleError(`'${key}': re needs a string`);
    let re: RegExp;
    try {
      re = new RegExp(value, flags.join(''));
    } catch (err) {
      throw new UnsupportedRuleError(`'${key}': invalid regular expression: ${(err as Error).message}`);
    }
    const needle = requiredLiteral(value);
    const folded = flags.includes('i');
    if (needle === undefined) {
      return (v) => {
        const s = asText(v);
        return s !== undefined && re.test(s);
      };
    }
    // A cheap substring test first: a pattern like `.+:assumed-role/aws:.+` otherwise backtracks over every value.
    const lowerNeedle = needle.toLowerCase();
    return (v) => {
      const s = asText(v);
      return s !== undefined && (folded ? s.toLowerCase().includes(lowerNeedle) : s.includes(needle)) && re.test(s);
    };
  }
  for (const f of ['i', 'm', 's']) if (has(f)) throw new UnsupportedRuleError(`'${key}': modifier '${f}' only follows re`);

  if (has('cidr')) {
    if (mods.some((m) => m !== 'cidr' && m !== 'neq') || typeof value !== 'string') throw new UnsupportedRuleError(`'${key}': cidr takes a range and no other modifier`);
    const inRange = compileCidr(value);
    if (typeof inRange === 'string') throw new UnsupportedRuleError(`'${key}': ${inRange}`);
    return (v) => typeof v === 'string' && inRange(v);
  }

  const cased = has('cased');
  // A keyword (no field) is searched for anywhere in a value, as in a full-text search.
  const op = mods.find((m) => STRING_OPS.has(m)) ?? (key.startsWith('|') || key === '' ? 'contains' : undefined);
  if (mods.filter((m) => STRING_OPS.has(m)).length > 1) throw new UnsupportedRuleError(`'${key}': more than one of contains/startswith/endswith`);
  const wrap = (pattern: string) => (op === 'contains' ? `*${pattern}*` : op === 'startswith' ? `${pattern}*` : op === 'endswith' ? `*${pattern}` : pattern);

  if (has('fieldref')) {
    if (mods.some((m) => !['fieldref', 'cased', 'neq', ...STRING_OPS].includes(m)) || typeof value !== 'string') throw new UnsupportedRuleError(`'${key}': fieldref takes a field name`);
    const other = fieldPath(value);
    return (v, e) => {
      const s = asText(v);
      return s !== undefined && other.some(e, (o) => {
        const ref = asText(o);
        return ref !== undefined && compileTokens(tokenize(wrap(escapeWildcards(ref))), cased)(s);
      });
    };
  }

  const encoding = mods.find((m) => ENCODINGS.has(m));
  if (encoding && !has('base64') && !has('base64offset')) throw new UnsupportedRuleError(`'${key}': ${encoding} is only evaluated under base64 or base64offset`);
  if (has('base64') || has('base64offset')) {
    if (typeof value !== 'string') throw new UnsupportedRuleError(`'${key}': base64 needs a string`);
    const bytes = encode(value, encoding);
    if (has('base64offset') && op !== 'contains') throw new UnsupportedRuleError(`'${key}': base64offset is only meaningful with contains`);
    // Encoded text is compared as written: base64 is case-significant.
    const forms = has('base64offset') ? base64Offsets(bytes) : [bytes.toString('base64')];
    const tests = forms.map((f) => compileTokens(tokenize(wrap(escapeWildcards(f))), true));
    return (v) => {
      const s = asText(v);
      return s !== undefined && tests.some((t) => t(s));
    };
  }

  if (typeof value === 'boolean' && !op) {
    const text = String(value);
    return (v) => v === value || (typeof v === 'string' && v.toLowerCase() === text);
  }
  if (typeof value === 'number' && !op) {
    const text = String(value);
    return (v) => v === value || (typeof v === 'string' && v === text);
  }
  const match = compileTokens(tokenize(wrap(typeof value === 'string' ? value : escapeWildcards(String(value)))), cased);
  return (v) => {
    const s = asText(v);
    return s !== undefined && match(s);
  };
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function compileMap(map: Record<string, unknown>): CompiledSearch {
  const items = Object.entries(map).map(([k, v]) => compileFieldItem(k, v));
  if (items.length === 0) throw new UnsupportedRuleError('a search identifier is an empty map');
  const tests = items.map((i) => i.test);
  const constraint = mergeAnd(items.map((i) => i.constraint));
  const test: Predicate = tests.length === 1 ? tests[0]! : (e) => tests.every((t) => t(e));
  return { test, constraint };
}

/** Compiles one search identifier's definition. */
export function compileSearch(name: string, definition: unknown): CompiledSearch {
  try {
    if (isMap(definition)) return compileMap(definition);
    if (Array.isArray(definition)) {
      if (definition.length === 0) throw new UnsupportedRuleError('empty list');
      const keywords = definition.filter((d) => !isMap(d));
      const parts = definition.filter(isMap).map(compileMap);
      // Keywords in a list are OR-linked, as are maps in a list.
      if (keywords.length > 0) parts.push(compileFieldItem('', keywords));
      const tests = parts.map((p) => p.test);
      return { test: tests.length === 1 ? tests[0]! : (e) => tests.some((t) => t(e)), constraint: mergeOr(parts.map((p) => p.constraint)) };
    }
    if (typeof definition === 'string' || typeof definition === 'number') return compileFieldItem('', [definition]);
    throw new UnsupportedRuleError('neither a map, a list nor a keyword');
  } catch (err) {
    if (err instanceof UnsupportedRuleError) throw new UnsupportedRuleError(`search identifier '${name}': ${err.message}`);
    throw err;
  }
}

/** Both hold: every known field constraint, intersected where both know one. */
export function mergeAnd(constraints: (Constraint | undefined)[]): Constraint | undefined {
  let out: Constraint | undefined;
  for (const c of constraints) {
    if (!c) continue;
    out ??= new Map();
    for (const [field, values] of c) {
      const seen = out.get(field);
      out.set(field, seen ? new Set([...seen].filter((v) => values.has(v))) : values);
    }
  }
  return out;
}

/** One of them holds: a field is constrained only if every branch constrains it (union of values). */
export function mergeOr(constraints: (Constraint | undefined)[]): Constraint | undefined {
  if (constraints.length === 0 || constraints.some((c) => !c)) return undefined;
  const out: Constraint = new Map();
  for (const field of INDEXED_FIELDS) {
    if (!constraints.every((c) => c!.has(field))) continue;
    out.set(field, new Set(constraints.flatMap((c) => [...c!.get(field)!])));
  }
  return out.size > 0 ? out : undefined;
}
