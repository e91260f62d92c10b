import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importDashboards, readSavedObjects, savedObjects, SavedObjectFileError, type SavedObject } from '../../cli/ops/dashboards.ts';
import {
  AGGREGATABLE,
  alertsMappingSource,
  fieldsUsed,
  indexPatternOf,
  mappingsFor,
  NUMERIC,
  queryFields,
  scriptedFields,
  scriptFields,
  searchRequest,
  searchSource,
  shippedObjects,
  visState,
} from '../saved-objects.ts';

/**
 * The shipped OpenSearch Dashboards saved objects. No OpenSearch Dashboards can run here (it is
 * in no package registry this project reaches), so the import API's rules are checked on the
 * files: known types, JSON-string attributes that parse, references that resolve, stable ids.
 */

// Renaming or dropping one of these leaves an orphan in every Dashboards a re-import overwrote.
const SHIPPED_IDS = [
  'centralog-alerts-by-rule',
  'centralog-alerts-by-level-over-time',
  'centralog-alerts-published',
  'centralog-dashboard-alerts',
  'centralog-cloudtrail-failed-console-logins',
  'centralog-cloudtrail-api-errors-by-principal',
  'centralog-cloudtrail-root-activity',
  'centralog-cloudtrail-activity-by-region-account',
  'centralog-cloudtrail-recent-iam-changes',
  'centralog-dashboard-cloudtrail',
  'centralog-guardduty-findings-by-severity',
  'centralog-guardduty-findings-by-type',
  'centralog-guardduty-findings-by-account',
  'centralog-dashboard-guardduty',
  'centralog-index-pattern-vpcflow',
  'centralog-index-pattern-cloudtrail',
  'centralog-index-pattern-guardduty',
  'centralog-index-pattern-elb',
  'centralog-index-pattern-cloudwatch_logs',
  'centralog-index-pattern-pipeline',
  'centralog-index-pattern-alerts',
  'centralog-pipeline-events-per-source',
  'centralog-pipeline-lag-by-account',
  'centralog-pipeline-tagged-documents',
  'centralog-pipeline-dead-letters',
  'centralog-dashboard-pipeline',
  'centralog-vpcflow-top-talkers',
  'centralog-vpcflow-rejected-over-time',
  'centralog-vpcflow-top-destination-ports',
  'centralog-vpcflow-bytes-by-account',
  'centralog-dashboard-vpcflow',
];

const objects = shippedObjects();
const byType = (type: string) => objects.filter((o) => o.type === type);
const JSON_ATTRIBUTES: Record<string, string[]> = {
  'index-pattern': ['fields', 'fieldFormatMap'],
  visualization: ['visState', 'uiStateJSON'],
  search: [],
  dashboard: ['panelsJSON', 'optionsJSON'],
};
// Visualisation types of OpenSearch Dashboards 2.x and the agg schemas each takes.
const VIS_SCHEMAS: Record<string, string[]> = {
  table: ['metric', 'bucket', 'split'],
  histogram: ['metric', 'segment', 'group', 'split'],
  horizontal_bar: ['metric', 'segment', 'group', 'split'],
  line: ['metric', 'segment', 'group', 'split'],
  area: ['metric', 'segment', 'group', 'split'],
  heatmap: ['metric', 'segment', 'group', 'split'],
  pie: ['metric', 'segment', 'split'],
  metric: ['metric', 'group'],
  markdown: [],
};
const AGG_TYPES = new Set(['count', 'sum', 'avg', 'min', 'max', 'cardinality', 'percentiles', 'terms', 'date_histogram']);

describe('shipped saved objects: the import API format', () => {
  it('ships the index patterns, visualisations, saved search and dashboards under stable ids, each once', () => {
    expect(objects.map((o) => o.id)).toEqual(SHIPPED_IDS);
    expect(new Set(objects.map((o) => o.id)).size).toBe(objects.length);
    // Same files, same bytes: a re-import with overwrite=true replaces rather than adds.
    expect(savedObjects('centralog').ndjson).toBe(savedObjects('centralog').ndjson);
    expect(byType('dashboard').map((o) => o.attributes.title)).toEqual(['centralog: alerts', 'centralog: CloudTrail', 'centralog: GuardDuty', 'centralog: pipeline', 'centralog: VPC flow logs']);
  });

  it('every object has a known type, a title, references by name, and JSON-string attributes that parse', () => {
    const problems: string[] = [];
    for (const o of objects) {
      if (!(o.type in JSON_ATTRIBUTES)) problems.push(`${o.id}: unknown type ${o.type}`);
      if (typeof o.attributes.title !== 'string' || !o.attributes.title) problems.push(`${o.id}: no title`);
      for (const key of JSON_ATTRIBUTES[o.type] ?? []) {
        const v = o.attributes[key];
        if (v === undefined && key === 'fieldFormatMap') continue;
        if (typeof v !== 'string') problems.push(`${o.id}: ${key} must be a JSON string`);
        else
          try {
            JSON.parse(v);
          } catch {
            problems.push(`${o.id}: ${key} is not JSON`);
          }
      }
      if (o.type !== 'index-pattern') {
        const meta = o.attributes.kibanaSavedObjectMeta as { searchSourceJSON?: unknown } | undefined;
        if (typeof meta?.searchSourceJSON !== 'string') problems.push(`${o.id}: kibanaSavedObjectMeta.searchSourceJSON must be a JSON string`);
      }
      const names = o.references.map((r) => r.name);
      if (new Set(names).size !== names.length) problems.push(`${o.id}: reference names repeat`);
      for (const r of o.references) if (![r.name, r.type, r.id].every((x) => typeof x === 'string' && x)) problems.push(`${o.id}: reference ${JSON.stringify(r)}`);
    }
    expect(problems).toEqual([]);
  });

  it('every reference resolves to an object in the set, of the type it names; searches name their index pattern only by reference', () => {
    const problems: string[] = [];
    for (const o of objects) {
      for (const r of o.references) if (!objects.some((x) => x.id === r.id && x.type === r.type)) problems.push(`${o.id}: ${r.name} -> missing ${r.type} ${r.id}`);
      if (o.type === 'visualization' || o.type === 'search') {
        const src = searchSource(o);
        // A raw id here would bypass the references the import resolves (and renames with the prefix).
        if (src.index !== undefined) problems.push(`${o.id}: searchSourceJSON.index set; use indexRefName`);
        if (src.indexRefName && src.indexRefName !== 'kibanaSavedObjectMeta.searchSourceJSON.index') problems.push(`${o.id}: indexRefName ${src.indexRefName}`);
        if (src.indexRefName && o.references.find((r) => r.name === src.indexRefName)?.type !== 'index-pattern') problems.push(`${o.id}: indexRefName has no index-pattern reference`);
        if (!Array.isArray(src.filter) || src.query?.language !== 'lucene' || typeof src.query.query !== 'string') problems.push(`${o.id}: query/filter shape`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('dashboards place each panel, a reference to a visualisation or saved search, on the 48-column grid without overlap', () => {
    for (const d of byType('dashboard')) {
      const panels = JSON.parse(d.attributes.panelsJSON as string) as Array<{ version: string; panelIndex: string; panelRefName: string; gridData: { x: number; y: number; w: number; h: number; i: string } }>;
      expect(panels.length, d.id).toBeGreaterThan(0);
      expect(d.references.length, d.id).toBe(panels.length);
      for (const p of panels) {
        const ref = d.references.find((r) => r.name === p.panelRefName);
        expect(ref && ['visualization', 'search'].includes(ref.type), `${d.id} ${p.panelRefName}`).toBe(true);
        // The 7.3.0 panel migration reads each panel's version: one without it fails the import.
        expect(typeof p.version, d.id).toBe('string');
        expect(p.panelIndex).toBe(p.gridData.i);
        expect(p.gridData.x + p.gridData.w, d.id).toBeLessThanOrEqual(48);
        expect(Math.min(p.gridData.x, p.gridData.y, p.gridData.w - 1, p.gridData.h - 1), d.id).toBeGreaterThanOrEqual(0);
      }
      expect(new Set(panels.map((p) => p.panelIndex)).size).toBe(panels.length);
      for (const [i, a] of panels.entries())
        for (const b of panels.slice(i + 1)) {
          const overlap = a.gridData.x < b.gridData.x + b.gridData.w && b.gridData.x < a.gridData.x + a.gridData.w && a.gridData.y < b.gridData.y + b.gridData.h && b.gridData.y < a.gridData.y + a.gridData.h;
          expect(overlap, `${d.id}: panels ${a.panelIndex} and ${b.panelIndex} overlap`).toBe(false);
        }
      expect(d.attributes.timeRestore).toBe(true);
      expect(typeof d.attributes.timeFrom).toBe('string');
    }
    // Every visualisation and search is on a dashboard.
    const placed = new Set(byType('dashboard').flatMap((d) => d.references.map((r) => r.id)));
    expect([...byType('visualization'), ...byType('search')].filter((o) => !placed.has(o.id)).map((o) => o.id)).toEqual([]);
  });

  it('visualisations: a known type, agg schemas that type takes, unique agg ids, series drawn from a metric, and an index pattern unless markdown', () => {
    const problems: string[] = [];
    for (const o of byType('visualization')) {
      const v = visState(o);
      if (v.title !== o.attributes.title) problems.push(`${o.id}: visState.title differs`);
      const schemas = VIS_SCHEMAS[v.type];
      if (!schemas) {
        problems.push(`${o.id}: vis type ${v.type}`);
        continue;
      }
      if (new Set(v.aggs.map((a) => a.id)).size !== v.aggs.length) problems.push(`${o.id}: agg ids repeat`);
      // Charts keep their kind in params.type too; the two disagreeing draws one and edits the other.
      if (v.params.type !== undefined && v.params.type !== v.type) problems.push(`${o.id}: params.type ${v.params.type} but type ${v.type}`);
      for (const a of v.aggs) {
        if (!schemas.includes(a.schema)) problems.push(`${o.id}: ${a.type} in schema ${a.schema}`);
        if (!AGG_TYPES.has(a.type)) problems.push(`${o.id}: agg type ${a.type}`);
        if (a.type === 'terms' && a.params.orderBy !== '_key' && !v.aggs.some((m) => m.id === a.params.orderBy && m.schema === 'metric')) problems.push(`${o.id}: terms ${a.id} ordered by a missing metric`);
      }
      for (const s of (v.params.seriesParams ?? []) as Array<{ data: { id: string } }>) if (!v.aggs.some((a) => a.id === s.data.id && a.schema === 'metric')) problems.push(`${o.id}: series of missing metric ${s.data.id}`);
      if (v.type === 'markdown') {
        if (!String(v.params.markdown ?? '').trim()) problems.push(`${o.id}: empty markdown`);
      } else if (!indexPatternOf(o, objects)) problems.push(`${o.id}: no index pattern`);
    }
    expect(problems).toEqual([]);
  });

  it('index patterns: one per index family, the pipeline and the alerts, each with a time field; none with a partial field list', () => {
    const patterns = byType('index-pattern').map((o) => [o.attributes.title, o.attributes.timeFieldName]);
    expect(patterns).toEqual([
      ['centralog-aws.vpcflow-*', '@timestamp'],
      ['centralog-aws.cloudtrail-*', '@timestamp'],
      ['centralog-aws.guardduty-*', '@timestamp'],
      ['centralog-aws.elb-*', '@timestamp'],
      ['centralog-aws.cloudwatch_logs-*', '@timestamp'],
      ['centralog-aws.*', 'event.ingested'],
      ['centralog-alerts-*', '@timestamp'],
    ]);
    for (const ip of byType('index-pattern')) {
      // OpenSearch Dashboards fetches the field list only when no stored field is complete
      // (aggregatable, searchable and readFromDocValues): a complete one would hide every other field.
      const fields = JSON.parse(ip.attributes.fields as string) as Array<Record<string, unknown>>;
      expect(fields.filter((f) => 'aggregatable' in f && 'searchable' in f && 'readFromDocValues' in f).map((f) => f.name), ip.id).toEqual([]);
    }
    const lag = scriptedFields(byType('index-pattern').find((o) => o.id === 'centralog-index-pattern-pipeline')!);
    expect(lag.map((f) => [f.name, f.type, f.lang, scriptFields(f.script)])).toEqual([['lag_ms', 'number', 'painless', ['event.ingested', '@timestamp']]]);
  });
});

/** Every field use that the index templates cannot serve, as messages. */
function fieldProblems(list: SavedObject[], all: SavedObject[]): string[] {
  const problems: string[] = [];
  for (const o of list) {
    const ip = indexPatternOf(o, all);
    if (!ip) continue;
    const title = ip.attributes.title as string;
    const types = mappingsFor(title);
    if (!types) {
      problems.push(`${o.id}: no index template covers ${title}`);
      continue;
    }
    const scripted = new Map(scriptedFields(ip).map((f) => [f.name, f]));
    for (const { field, use } of fieldsUsed(o, all)) {
      const s = scripted.get(field);
      if (s) {
        if (['sum', 'avg', 'percentiles', 'min', 'max'].includes(use) && s.type !== 'number') problems.push(`${o.id}: ${use} on scripted ${field} of type ${s.type}`);
        for (const f of scriptFields(s.script)) if (!AGGREGATABLE.has(types.get(f) ?? 'missing')) problems.push(`${o.id}: scripted ${field} reads ${f} (${types.get(f) ?? 'not mapped'} in ${title})`);
        continue;
      }
      const type = types.get(field);
      if (!type || type === 'object') {
        problems.push(`${o.id}: ${use} ${field}: not mapped in ${title}`);
        continue;
      }
      if (['query', 'column'].includes(use)) {
        if (type === 'flat_object' && use === 'column') problems.push(`${o.id}: column ${field} is flat_object`);
        continue;
      }
      if (!AGGREGATABLE.has(type)) problems.push(`${o.id}: ${use} ${field} is ${type}, which cannot be aggregated`);
      else if (['sum', 'avg', 'percentiles'].includes(use) && !NUMERIC.has(type)) problems.push(`${o.id}: ${use} ${field} is ${type}, not numeric`);
      else if (['min', 'max'].includes(use) && !NUMERIC.has(type) && type !== 'date') problems.push(`${o.id}: ${use} ${field} is ${type}`);
      else if (['date_histogram', 'time'].includes(use) && type !== 'date') problems.push(`${o.id}: ${use} ${field} is ${type}, not date`);
    }
  }
  return problems;
}

describe('shipped saved objects: fields against the index templates', () => {
  it('every field a visualisation or saved search uses exists in the index templates with a type it can aggregate', () => {
    const used = [...byType('visualization'), ...byType('search')];
    expect(used.flatMap((o) => fieldsUsed(o, objects)).length).toBeGreaterThan(60);
    expect(fieldProblems(used, objects), `alerts mappings from ${alertsMappingSource()}`).toEqual([]);
  });

  it('the check names a text field, a flat_object, an unmapped field and a keyword summed', () => {
    const base = byType('visualization').find((o) => o.id === 'centralog-cloudtrail-api-errors-by-principal')!;
    const broken = (aggs: unknown[], query: string): SavedObject => {
      const state = { ...visState(base), aggs };
      const meta = { searchSourceJSON: JSON.stringify({ ...searchSource(base), query: { query, language: 'lucene' } }) };
      return { ...base, id: 'broken', attributes: { ...base.attributes, visState: JSON.stringify(state), kibanaSavedObjectMeta: meta } };
    };
    const o = broken(
      [
        { id: '1', type: 'sum', schema: 'metric', params: { field: 'event.action' } },
        { id: '2', type: 'terms', schema: 'bucket', params: { field: 'message', orderBy: '_key', order: 'asc', size: 5 } },
        { id: '3', type: 'terms', schema: 'bucket', params: { field: 'aws.cloudtrail.request_parameters', orderBy: '_key', order: 'asc', size: 5 } },
      ],
      'aws.cloudtrail.no_such_field:x AND event.action:"a:b"',
    );
    expect(fieldProblems([o], objects)).toEqual([
      'broken: query aws.cloudtrail.no_such_field: not mapped in centralog-aws.cloudtrail-*',
      'broken: sum event.action is keyword, not numeric',
      'broken: terms message is text, which cannot be aggregated',
      'broken: terms aws.cloudtrail.request_parameters is flat_object, which cannot be aggregated',
    ]);
  });

  it('reads field names from Lucene queries, not from quoted values', () => {
    expect(queryFields('event.provider:"iam.amazonaws.com" AND NOT aws.cloudtrail.read_only:true')).toEqual(['event.provider', 'aws.cloudtrail.read_only']);
    expect(queryFields('_exists_:aws.cloudtrail.error_code')).toEqual(['aws.cloudtrail.error_code']);
    expect(queryFields('(a.b:1 OR c:"x:y")')).toEqual(['a.b', 'c']);
  });
});

describe('shipped saved objects: the searches they send', () => {
  it('top talkers: bytes summed per source, then destination, each ordered by bytes', () => {
    const o = objects.find((x) => x.id === 'centralog-vpcflow-top-talkers')!;
    expect(searchRequest(o, objects, { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' })).toEqual({
      index: 'centralog-aws.vpcflow-*',
      kind: 'aggs',
      body: {
        size: 0,
        query: { bool: { must: [{ match_all: {} }], filter: [{ range: { '@timestamp': { gte: '2026-01-01T00:00:00Z', lte: '2026-01-02T00:00:00Z', format: 'strict_date_optional_time' } } }] } },
        aggs: {
          '3': {
            terms: { field: 'source.ip', size: 10, order: { '1': 'desc' } },
            aggs: { '1': { sum: { field: 'network.bytes' } }, '4': { terms: { field: 'destination.ip', size: 3, order: { '1': 'desc' } }, aggs: { '1': { sum: { field: 'network.bytes' } } } } },
          },
        },
      },
    });
  });

  it('lag by account runs the scripted field, over the last hour of event.ingested', () => {
    const o = objects.find((x) => x.id === 'centralog-pipeline-lag-by-account')!;
    const req = searchRequest(o, objects, { from: 'now-1h', to: 'now' })!;
    expect(req.index).toBe('centralog-aws.*');
    expect(req.body.query.bool.filter).toEqual([{ range: { 'event.ingested': { gte: 'now-1h', lte: 'now', format: 'strict_date_optional_time' } } }]);
    const script = scriptedFields(indexPatternOf(o, objects)!)[0]!.script;
    expect(req.body.aggs['4'].terms).toEqual({ field: 'aws.cloudwatch.owner', size: 50, order: { _count: 'desc' } });
    expect(req.body.aggs['4'].aggs).toEqual({ '2': { percentiles: { script: { source: script, lang: 'painless' }, percents: [50, 99] } }, '3': { max: { script: { source: script, lang: 'painless' } } } });
  });

  it('every visualisation but the markdown note, and the saved search, translate to a search', () => {
    const none = [...byType('visualization'), ...byType('search')].filter((o) => !searchRequest(o, objects)).map((o) => o.id);
    expect(none).toEqual(['centralog-pipeline-dead-letters']);
  });
});

describe('prefix and import', () => {
  it('renames index pattern titles, ids and references for another prefix, and nothing else', () => {
    const renamed = shippedObjects('acme-prod');
    expect(renamed.map((o) => o.id)).toEqual(SHIPPED_IDS.map((id) => id.replace(/^centralog-/, 'acme-prod-')));
    expect(renamed.filter((o) => o.type === 'index-pattern').map((o) => o.attributes.title)).toEqual([
      'acme-prod-aws.vpcflow-*',
      'acme-prod-aws.cloudtrail-*',
      'acme-prod-aws.guardduty-*',
      'acme-prod-aws.elb-*',
      'acme-prod-aws.cloudwatch_logs-*',
      'acme-prod-aws.*',
      'acme-prod-alerts-*',
    ]);
    for (const o of renamed) for (const r of o.references) expect(renamed.some((x) => x.id === r.id && x.type === r.type), `${o.id} -> ${r.id}`).toBe(true);
    // Titles, visStates and dashboards' contents are as shipped.
    for (const [i, o] of renamed.entries()) {
      const { title: _t, ...rest } = o.attributes;
      const { title: _u, ...shippedRest } = objects[i]!.attributes;
      expect(rest).toEqual(shippedRest);
      if (o.type !== 'index-pattern') expect(o.attributes.title).toBe(objects[i]!.attributes.title);
    }
  });

  it('reports a broken line by file and line number', () => {
    const dir = mkdtempSync(join(tmpdir(), 'centralog-so-'));
    try {
      writeFileSync(join(dir, 'a.ndjson'), `${JSON.stringify({ type: 'index-pattern', id: 'x', attributes: { title: 't' }, references: [] })}\n{"type": "visualization",\n`);
      expect(() => readSavedObjects('centralog', dir)).toThrow(SavedObjectFileError);
      expect(() => readSavedObjects('centralog', dir)).toThrow(/a\.ndjson:2: not JSON/);
      writeFileSync(join(dir, 'a.ndjson'), `{"type":"visualization","id":"v"}\n`);
      expect(() => readSavedObjects('centralog', dir)).toThrow(/a\.ndjson:1: expected a saved object \{type, id, attributes, references\}/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('imports the whole set in one request with overwrite=true, the same bytes each time, and reports refused objects', async () => {
    const received: Array<{ url: string; xsrf: string | undefined; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push({ url: req.url!, xsrf: req.headers['osd-xsrf'] as string | undefined, body });
        const refused = received.length === 2 ? [{ id: 'acme-dashboard-vpcflow', type: 'dashboard', error: { type: 'missing_references' } }] : [];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: refused.length === 0, successCount: SHIPPED_IDS.length - refused.length, errors: refused.length ? refused : undefined }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_dashboards/`;
    try {
      const first = await importDashboards(url, 'acme');
      const second = await importDashboards(url, 'acme');
      expect(first).toEqual({ files: ['alerts.ndjson', 'cloudtrail.ndjson', 'guardduty.ndjson', 'index-patterns.ndjson', 'pipeline.ndjson', 'vpcflow.ndjson'], objects: SHIPPED_IDS.length, errors: [] });
      expect(second.errors).toEqual(['dashboard acme-dashboard-vpcflow: missing_references']);
      expect(received.map((r) => [r.url, r.xsrf])).toEqual([
        ['/_dashboards/api/saved_objects/_import?overwrite=true', 'true'],
        ['/_dashboards/api/saved_objects/_import?overwrite=true', 'true'],
      ]);
      // The multipart body carries the NDJSON of the renamed set, identically both times.
      const ndjson = savedObjects('acme').ndjson;
      expect(received[0]!.body).toContain(ndjson);
      expect(received[0]!.body).toContain('filename="centralog.ndjson"');
      const unbound = (b: string) => b.replaceAll(/centralog-[0-9a-f-]{36}/g, 'BOUNDARY');
      expect(unbound(received[1]!.body)).toBe(unbound(received[0]!.body));
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('signs the import with SigV4 for a domain, the signature covering the body as it arrives', async () => {
    const got: Array<{ authorization: string; sha: string; body: Buffer; type: string }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ authorization: String(req.headers.authorization), sha: String(req.headers['x-amz-content-sha256']), body: Buffer.concat(chunks), type: String(req.headers['content-type']) });
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'no permissions for [cluster:admin/opensearch/dashboards]' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY, profile: process.env.AWS_PROFILE };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDDASHBOARDS', AWS_SECRET_ACCESS_KEY: 'secret' });
    delete process.env.AWS_PROFILE;
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_dashboards`;
      await expect(importDashboards(url, 'centralog', undefined, { sigv4: { region: 'eu-west-1', service: 'es' } })).rejects.toThrow(
        'OpenSearch Dashboards refused the import (403): no permissions for [cluster:admin/opensearch/dashboards]',
      );
      expect(got).toHaveLength(1);
      expect(got[0]!.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDDASHBOARDS\/\d{8}\/eu-west-1\/es\/aws4_request, SignedHeaders=\S*content-type\S*, Signature=[0-9a-f]{64}$/);
      expect(got[0]!.sha).toBe(createHash('sha256').update(got[0]!.body).digest('hex'));
      expect(got[0]!.type).toMatch(/^multipart\/form-data; boundary=centralog-/);
      expect(got[0]!.body.toString('utf8')).toContain(savedObjects('centralog').ndjson);
    } finally {
      for (const [k, v] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret], ['AWS_PROFILE', saved.profile]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
