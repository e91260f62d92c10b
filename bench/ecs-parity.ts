// `node --import tsx bench/ecs-parity.ts DIR [--verbose] [--json]`: how many core ECS fields of our documents agree with
// another pipeline's expected output for the same input (e.g. pairs derived from Elastic's AWS integration tests).
//
// DIR holds *.json files, each an array of {name, source, input, expected}: `input` is the raw log event (a string,
// or a JSON object that is serialised as CloudWatch Logs would carry it), `expected` a nested document holding only
// the fields to compare. A field agrees when our value equals the expected one, compared as a set of values
// (a scalar equals a one-element array; numbers and booleans compare by their text).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toDocument, type CwlEnvelope } from '../processors/index.ts';

interface ParityCase {
  name: string;
  source: string;
  input: unknown;
  expected: Record<string, unknown>;
}

interface Disagreement {
  case: string;
  field: string;
  expected: unknown;
  ours: unknown;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Leaf paths of a nested document (arrays are leaves). */
function leaves(doc: Record<string, unknown>, prefix = '', out: [string, unknown][] = []): [string, unknown][] {
  for (const [k, v] of Object.entries(doc)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v)) leaves(v, path, out);
    else out.push([path, v]);
  }
  return out;
}

function at(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const k of path.split('.')) {
    if (!isPlainObject(cur)) return undefined;
    // Dotted keys such as `@timestamp` are whole keys; documents here are nested, never dotted.
    cur = cur[k];
  }
  return cur;
}

function canonical(v: unknown): string {
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function valueSet(v: unknown): string[] {
  return (Array.isArray(v) ? v : [v]).map(canonical).sort();
}

function agrees(expected: unknown, ours: unknown): boolean {
  if (ours === undefined) return false;
  const a = valueSet(expected);
  const b = valueSet(ours);
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function loadCases(dir: string): ParityCase[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`no *.json case files in ${dir}`);
  return files.flatMap((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as ParityCase[]);
}

function ourDocument(c: ParityCase): Record<string, unknown> {
  const message = typeof c.input === 'string' ? c.input : JSON.stringify(c.input);
  const envelope: CwlEnvelope = {
    messageType: 'DATA_MESSAGE',
    owner: '000000000000',
    logGroup: `parity-${c.source}`,
    logStream: 'parity',
    subscriptionFilters: [],
    logEvents: [],
  };
  return toDocument(envelope, { id: '0', timestamp: Date.UTC(2024, 0, 1), message }).body;
}

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--'));
if (!dir || args.includes('--help')) {
  process.stderr.write('usage: node --import tsx bench/ecs-parity.ts DIR [--verbose] [--json]\n');
  process.exit(dir ? 0 : 2);
}

const bySource = new Map<string, { fields: number; agree: number }>();
const disagreements: Disagreement[] = [];
for (const c of loadCases(dir)) {
  const ours = ourDocument(c);
  const tally = bySource.get(c.source) ?? { fields: 0, agree: 0 };
  bySource.set(c.source, tally);
  for (const [field, expected] of leaves(c.expected)) {
    tally.fields++;
    const mine = at(ours, field);
    if (agrees(expected, mine)) tally.agree++;
    else disagreements.push({ case: c.name, field, expected, ours: mine });
  }
}

const total = [...bySource.values()].reduce((s, t) => ({ fields: s.fields + t.fields, agree: s.agree + t.agree }), { fields: 0, agree: 0 });
const pct = (t: { fields: number; agree: number }): string => ((100 * t.agree) / t.fields).toFixed(1);
if (args.includes('--json')) {
  process.stdout.write(`${JSON.stringify({ bySource: Object.fromEntries(bySource), total, percent: Number(pct(total)), disagreements })}\n`);
} else {
  for (const [source, t] of bySource) process.stdout.write(`${source.padEnd(10)} ${t.agree}/${t.fields} core fields agree (${pct(t)}%)\n`);
  process.stdout.write(`${'all'.padEnd(10)} ${total.agree}/${total.fields} core fields agree (${pct(total)}%)\n`);
  if (args.includes('--verbose')) {
    for (const d of disagreements) {
      process.stdout.write(`  ${d.case} :: ${d.field}: expected ${JSON.stringify(d.expected)}, ours ${JSON.stringify(d.ours)}\n`);
    }
  }
}
