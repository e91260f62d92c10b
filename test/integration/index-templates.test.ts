import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createOpenSearchClient } from '../../consumers/index.ts';
import { baseComponentTemplate, INDEX_FAMILIES, indexTemplates, installIndexTemplates } from '../../infra/opensearch/index.ts';
import { toDocument, type IndexableDocument } from '../../processors/index.ts';
import { allSamples, sampleEnvelope } from '../samples.ts';

type Hit = { _id: string; _source: Record<string, unknown> };

describe('index templates on a real OpenSearch node', () => {
  const client = createOpenSearchClient(inject('opensearchUrl'));
  const prefix = `tpl-${Date.now().toString(36)}`;
  const samples = allSamples();
  const documents: IndexableDocument[] = samples.map((s, i) => {
    const envelope = sampleEnvelope(s, i);
    return toDocument(envelope, envelope.logEvents[0]!, { indexPrefix: prefix }, s.vpcFormat);
  });
  let items: Array<{ status: number; error?: { type: string; reason: string } }> = [];

  beforeAll(async () => {
    await installIndexTemplates(client, prefix);
    const body = documents.flatMap((d) => [JSON.stringify({ create: { _index: d.index, _id: d.id } }), JSON.stringify(d.body)]).join('\n') + '\n';
    const res = await client.bulk({ body: body as never, refresh: 'true' });
    items = (res.body as unknown as { items: Array<{ create: { status: number; error?: { type: string; reason: string } } }> }).items.map((i) => i.create);
  });

  afterAll(async () => {
    await client.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
    for (const t of indexTemplates(prefix)) await client.indices.deleteIndexTemplate({ name: t.name });
    await client.cluster.deleteComponentTemplate({ name: baseComponentTemplate(prefix).name });
  });

  it('indexes every real CloudTrail, VPC flow and GuardDuty sample without a single mapping error', () => {
    expect(documents.length).toBeGreaterThan(900);
    const seen = new Set<string>();
    const failed = items
      .map((item, i) => {
        // The same GuardDuty finding update sent twice has one id: the second is a 409, by design.
        const repeat = seen.has(documents[i]!.id);
        seen.add(documents[i]!.id);
        return { item, origin: samples[i]!.origin, repeat };
      })
      .filter(({ item, repeat }) => !(item.status === 201 || (repeat && item.status === 409)))
      .map(({ item, origin }) => `${origin}: ${item.status} ${item.error?.type}: ${item.error?.reason}`);
    expect(failed).toEqual([]);
  });

  it('creates one index family per source, each with explicit, non-dynamic mappings under the field limit', async () => {
    const res = await client.indices.getMapping({ index: `${prefix}-*` });
    const mappings = res.body as unknown as Record<string, { mappings: { dynamic?: string | boolean; properties: Record<string, unknown> } }>;
    const families = new Set(Object.keys(mappings).map((index) => index.replace(`${prefix}-aws.`, '').replace(/-\d{4}\.\d\d\.\d\d$/, '')));
    expect([...families].sort()).toEqual([...INDEX_FAMILIES].filter((f) => families.has(f)).sort());
    for (const f of ['cloudtrail', 'vpcflow', 'guardduty']) expect(families.has(f)).toBe(true);
    const countFields = (props: Record<string, unknown>): number =>
      Object.values(props).reduce<number>((n, v) => {
        const p = (v as { properties?: Record<string, unknown> }).properties;
        return n + 1 + (p ? countFields(p) : 0);
      }, 0);
    for (const [index, { mappings: m }] of Object.entries(mappings)) {
      expect(String(m.dynamic), index).toBe('false');
      expect(countFields(m.properties), index).toBeLessThan(2000);
    }
  });

  it('maps the volatile CloudTrail objects as flat_object and still finds events by a key inside them', async () => {
    const res = await client.indices.getFieldMapping({
      index: `${prefix}-aws.cloudtrail-*`,
      fields: ['aws.cloudtrail.request_parameters', 'aws.cloudtrail.response_elements', 'source.ip', '@timestamp'],
    });
    const any = Object.values(res.body as unknown as Record<string, { mappings: Record<string, { mapping: Record<string, { type: string }> }> }>)[0]!.mappings;
    expect(any['aws.cloudtrail.request_parameters']!.mapping.request_parameters!.type).toBe('flat_object');
    expect(any['aws.cloudtrail.response_elements']!.mapping.response_elements!.type).toBe('flat_object');
    expect(any['source.ip']!.mapping.ip!.type).toBe('ip');
    expect(any['@timestamp']!.mapping['@timestamp']!.type).toBe('date');

    const withBucket = documents.find(
      (d) => d.source === 'cloudtrail' && typeof (d.body.aws as any)?.cloudtrail?.request_parameters?.bucketName === 'string',
    )!;
    const bucket = (withBucket.body.aws as any).cloudtrail.request_parameters.bucketName as string;
    const found = await client.search({
      index: `${prefix}-aws.cloudtrail-*`,
      body: { query: { term: { 'aws.cloudtrail.request_parameters.bucketName': bucket } } },
    } as never);
    const hits = (found.body as unknown as { hits: { hits: Hit[] } }).hits.hits;
    expect(hits.map((h) => h._id)).toContain(withBucket.id);
  });

  it('answers analyst queries on ECS fields: failed console logins, flows to port 22, high-severity findings', async () => {
    const count = async (index: string, query: Record<string, unknown>) => {
      const res = await client.count({ index: `${prefix}-aws.${index}-*`, body: { query } } as never);
      return (res.body as unknown as { count: number }).count;
    };
    // The first document sent under an id is the one stored; later ones were 409s.
    const firstById = new Map<string, IndexableDocument>();
    for (const d of documents) if (!firstById.has(d.id)) firstById.set(d.id, d);
    const unique = [...firstById.values()];
    const expected = (pred: (d: IndexableDocument) => boolean) => unique.filter(pred).length;
    const ev = (d: IndexableDocument) => d.body.event as Record<string, unknown>;

    const failedLogins = await count('cloudtrail', {
      bool: { filter: [{ term: { 'event.action': 'ConsoleLogin' } }, { term: { 'event.outcome': 'failure' } }] },
    });
    expect(failedLogins).toBe(expected((d) => d.source === 'cloudtrail' && ev(d).action === 'ConsoleLogin' && ev(d).outcome === 'failure'));
    expect(failedLogins).toBeGreaterThan(0);

    const ssh = await count('vpcflow', { term: { 'destination.port': 22 } });
    expect(ssh).toBe(expected((d) => d.source === 'vpcflow' && (d.body.destination as { port?: number } | undefined)?.port === 22));
    expect(ssh).toBeGreaterThan(0);

    const severe = await count('guardduty', { range: { 'event.severity': { gte: 7 } } });
    expect(severe).toBe(expected((d) => d.source === 'guardduty' && Number(ev(d).severity) >= 7));
  });
});
