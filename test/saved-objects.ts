// Reads the shipped OpenSearch Dashboards saved objects the way OpenSearch Dashboards does, for
// the dashboards tests: which fields each visualisation uses, and the `_search` body it sends.
import { readSavedObjects, type SavedObject } from '../cli/ops/dashboards.ts';
import { baseComponentTemplate, indexTemplates } from '../infra/opensearch/index.ts';

export type { SavedObject };

export interface Agg {
  id: string;
  enabled?: boolean;
  type: string;
  schema: string;
  params: Record<string, any>;
}
export interface VisState {
  title: string;
  type: string;
  aggs: Agg[];
  params: Record<string, any>;
}
export interface SearchSource {
  query?: { query: string | Record<string, unknown>; language: string };
  filter?: unknown[];
  index?: string;
  indexRefName?: string;
}
export interface ScriptedField {
  name: string;
  type: string;
  script: string;
  lang: string;
}

export const shippedObjects = (prefix = 'centralog'): SavedObject[] => readSavedObjects(prefix).objects;

export const visState = (o: SavedObject): VisState => JSON.parse(o.attributes.visState as string) as VisState;

export const searchSource = (o: SavedObject): SearchSource =>
  JSON.parse((o.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string }).searchSourceJSON) as SearchSource;

/** The index pattern a visualisation or saved search reads, through its reference (as the import resolves it). */
export function indexPatternOf(o: SavedObject, all: SavedObject[]): SavedObject | undefined {
  const ref = searchSource(o).indexRefName;
  const id = ref ? o.references.find((r) => r.name === ref)?.id : undefined;
  return all.find((x) => x.type === 'index-pattern' && x.id === id);
}

export function scriptedFields(indexPattern: SavedObject): ScriptedField[] {
  const fields = JSON.parse((indexPattern.attributes.fields as string | undefined) ?? '[]') as Array<ScriptedField & { scripted?: boolean }>;
  return fields.filter((f) => f.scripted);
}

/** Field names a Lucene query string names (`a.b:x`, `_exists_:a.b`), quoted values left out. */
export function queryFields(query: string): string[] {
  const unquoted = query.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const named = [...unquoted.matchAll(/(?:^|[\s(])([A-Za-z@_][\w.@]*):/g)].map((m) => m[1]!).filter((f) => f !== '_exists_');
  const exists = [...unquoted.matchAll(/_exists_:([\w.@]+)/g)].map((m) => m[1]!);
  return [...named, ...exists];
}

export interface FieldUse {
  field: string;
  /** agg type (terms, sum, date_histogram…), `query`, `column`, `sort` or `time` */
  use: string;
}

/** Every field a saved object reads: agg fields, query fields, saved search columns and sort, the pattern's time field. */
export function fieldsUsed(o: SavedObject, all: SavedObject[]): FieldUse[] {
  const uses: FieldUse[] = [];
  const ip = indexPatternOf(o, all);
  if (ip?.attributes.timeFieldName) uses.push({ field: ip.attributes.timeFieldName as string, use: 'time' });
  const q = searchSource(o).query;
  if (q && typeof q.query === 'string') uses.push(...queryFields(q.query).map((field) => ({ field, use: 'query' })));
  if (o.type === 'visualization') for (const a of visState(o).aggs) if (a.params.field) uses.push({ field: a.params.field as string, use: a.type });
  if (o.type === 'search') {
    uses.push(...(o.attributes.columns as string[]).map((field) => ({ field, use: 'column' })));
    uses.push(...(o.attributes.sort as Array<[string, string]>).map(([field]) => ({ field, use: 'sort' })));
  }
  return uses;
}

/** `doc['x']` fields a painless script reads. */
export const scriptFields = (script: string): string[] => [...new Set([...script.matchAll(/doc\['([^']+)'\]/g)].map((m) => m[1]!))];

// ---- Mappings, as the index templates give them ----

export type FieldTypes = Map<string, string>;

export function flattenMappings(properties: Record<string, any>, prefix = '', out: FieldTypes = new Map()): FieldTypes {
  for (const [name, def] of Object.entries(properties)) {
    const path = `${prefix}${name}`;
    if (def.properties) flattenMappings(def.properties, `${path}.`, out);
    else out.set(path, def.type ?? 'object');
    for (const [sub, subDef] of Object.entries((def.fields ?? {}) as Record<string, { type: string }>)) out.set(`${path}.${sub}`, subDef.type);
  }
  return out;
}

/**
 * The alert document contract, for as long as no index template covers `centralog-alerts-*`:
 * the fields and types the alerts dashboard relies on. Once the template exists it is read instead.
 */
const ALERT_CONTRACT: Record<string, string> = {
  '@timestamp': 'date',
  'event.kind': 'keyword',
  'event.severity': 'long',
  'rule.id': 'keyword',
  'rule.name': 'keyword',
  'rule.author': 'keyword',
  'rule.ruleset': 'keyword',
  tags: 'keyword',
  'centralog.alert.level': 'keyword',
  'centralog.alert.published': 'boolean',
  'centralog.alert.source.id': 'keyword',
  'centralog.alert.source.index': 'keyword',
};

const templateFor = (title: string) => indexTemplates('centralog').find((t) => ((t.body as any).index_patterns as string[]).includes(title));

/** Where the alerts mapping came from, for messages. */
export const alertsMappingSource = (): string => templateFor('centralog-alerts-*')?.name ?? 'the alert document contract (no alerts index template yet)';

/**
 * The field types of the indices an index pattern title covers (default prefix): the index
 * template whose pattern it is (with the base it is composed of); `centralog-aws.*` only the
 * base, which every family has.
 */
export function mappingsFor(title: string): FieldTypes | undefined {
  const base = baseComponentTemplate('centralog');
  const baseTypes = flattenMappings((base.body as any).template.mappings.properties);
  if (title === 'centralog-aws.*') return baseTypes;
  const t = templateFor(title);
  if (!t) return title === 'centralog-alerts-*' ? new Map(Object.entries(ALERT_CONTRACT)) : undefined;
  const composed = ((t.body as any).composed_of ?? []).includes(base.name);
  return flattenMappings((t.body as any).template.mappings.properties, '', composed ? new Map(baseTypes) : new Map());
}

export const AGGREGATABLE = new Set(['keyword', 'long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long', 'date', 'date_nanos', 'ip', 'boolean']);
export const NUMERIC = new Set(['long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long']);

// ---- The request OpenSearch Dashboards sends ----

export interface TimeRange {
  from: string;
  to: string;
}

export interface SearchRequest {
  index: string;
  body: Record<string, any>;
  /** `aggs`: read the aggregation tree; `hits`: a saved search's documents. */
  kind: 'aggs' | 'hits';
}

const FIXED = ['1s', '5s', '10s', '30s', '1m', '5m', '10m', '30m', '1h', '3h', '12h', '1d'];
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** date_histogram's interval: `auto` picks about 50 buckets over the range, as the charts do. */
function interval(param: string, range?: TimeRange): Record<string, string> {
  if (param === 'auto') {
    if (!range) return { calendar_interval: '1d' };
    const span = Date.parse(range.to) - Date.parse(range.from);
    const pick = FIXED.find((i) => Number(i.slice(0, -1)) * UNIT_MS[i.slice(-1)]! >= span / 50);
    return pick ? { fixed_interval: pick } : span / 50 <= 7 * 86_400_000 ? { calendar_interval: '1w' } : { calendar_interval: '1M' };
  }
  const m = /^(\d*)(ms|s|m|h|d|w|M|y)$/.exec(param);
  if (!m) throw new Error(`unknown date_histogram interval ${param}`);
  const n = m[1] || '1';
  return ['w', 'M', 'y'].includes(m[2]!) ? { calendar_interval: `1${m[2]}` } : { fixed_interval: `${n}${m[2]}` };
}

/**
 * The `_search` OpenSearch Dashboards sends for a visualisation or saved search: its query
 * (Lucene as query_string) within the time range on the pattern's time field, and its aggs as
 * one tree (bucket aggs nested in order, metrics under the deepest, a terms agg ordered by a
 * metric holding that metric); a scripted field's agg runs its script. Undefined for a
 * visualisation that queries nothing (markdown).
 */
export function searchRequest(o: SavedObject, all: SavedObject[], range?: TimeRange): SearchRequest | undefined {
  const ip = indexPatternOf(o, all);
  if (!ip) return undefined;
  const src = searchSource(o);
  const text = typeof src.query?.query === 'string' ? src.query.query.trim() : '';
  if (src.query && src.query.language !== 'lucene') throw new Error(`${o.id}: only Lucene queries are translated (got ${src.query.language})`);
  const must = text ? [{ query_string: { query: text, analyze_wildcard: true } }] : [{ match_all: {} }];
  const timeField = ip.attributes.timeFieldName as string;
  const filter = range ? [{ range: { [timeField]: { gte: range.from, lte: range.to, format: 'strict_date_optional_time' } } }] : [];
  const query = { bool: { must, filter } };
  const index = ip.attributes.title as string;
  if (o.type === 'search') {
    const sort = (o.attributes.sort as Array<[string, string]>).map(([f, dir]) => ({ [f]: { order: dir } }));
    return { index, kind: 'hits', body: { size: 50, query, sort } };
  }
  const vis = visState(o);
  const aggs = vis.aggs.filter((a) => a.enabled !== false);
  if (aggs.length === 0) return undefined;
  const scripted = new Map(scriptedFields(ip).map((f) => [f.name, f]));
  const source = (field: string) => {
    const s = scripted.get(field);
    return s ? { script: { source: s.script, lang: s.lang } } : { field };
  };
  const metricDsl = (a: Agg): Record<string, unknown> | undefined => {
    switch (a.type) {
      case 'count':
        return undefined;
      case 'sum':
      case 'avg':
      case 'min':
      case 'max':
      case 'cardinality':
        return { [a.type]: source(a.params.field) };
      case 'percentiles':
        return { percentiles: { ...source(a.params.field), percents: a.params.percents } };
      default:
        throw new Error(`${o.id}: metric ${a.type} is not translated`);
    }
  };
  const metrics = aggs.filter((a) => a.schema === 'metric');
  const buckets = aggs.filter((a) => a.schema !== 'metric');
  const metricAggs = (only?: Agg[]) =>
    Object.fromEntries((only ?? metrics).flatMap((m) => (metricDsl(m) ? [[m.id, metricDsl(m)] as const] : [])));
  let inner: Record<string, unknown> = metricAggs();
  for (const b of [...buckets].reverse()) {
    let dsl: Record<string, unknown>;
    if (b.type === 'terms') {
      const by = metrics.find((m) => m.id === b.params.orderBy);
      const order = b.params.orderBy === '_key' ? { _key: b.params.order } : by?.type === 'count' ? { _count: b.params.order } : { [b.params.orderBy]: b.params.order };
      dsl = { terms: { ...source(b.params.field), size: b.params.size, order } };
      if (by && by.type !== 'count') inner = { ...metricAggs([by]), ...inner };
    } else if (b.type === 'date_histogram') {
      dsl = { date_histogram: { field: b.params.field, ...interval(b.params.interval, range), min_doc_count: b.params.min_doc_count ?? 1, time_zone: 'UTC' } };
    } else throw new Error(`${o.id}: bucket agg ${b.type} is not translated`);
    inner = { [b.id]: Object.keys(inner).length > 0 ? { ...dsl, aggs: inner } : dsl };
  }
  return { index, kind: 'aggs', body: { size: 0, query, aggs: inner } };
}

export type Row = Record<string, unknown>;

/**
 * The response as the table a visualisation draws: one row per deepest bucket, with each
 * bucket's key and each metric's value (count = doc_count; percentiles as {percent: value}).
 */
export function tabify(o: SavedObject, response: Record<string, any>): Row[] {
  const aggs = visState(o).aggs.filter((a) => a.enabled !== false);
  const metrics = aggs.filter((a) => a.schema === 'metric');
  const buckets = aggs.filter((a) => a.schema !== 'metric');
  const metricValues = (node: Record<string, any>, docCount: number): Row =>
    Object.fromEntries(metrics.map((m) => [m.id, m.type === 'count' ? docCount : m.type === 'percentiles' ? node[m.id]?.values : node[m.id]?.value]));
  const walk = (node: Record<string, any>, depth: number, keys: Row, docCount: number): Row[] => {
    if (depth === buckets.length) return [{ ...keys, ...metricValues(node, docCount) }];
    const b = buckets[depth]!;
    return (node[b.id]?.buckets ?? []).flatMap((x: Record<string, any>) => walk(x, depth + 1, { ...keys, [b.id]: x.key_as_string ?? x.key }, x.doc_count));
  };
  return walk(response.aggregations ?? {}, 0, {}, response.hits?.total?.value ?? 0);
}
