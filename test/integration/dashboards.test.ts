import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerOptionsSchema, createConsumer, putRecordsWithRetry } from '../../consumers/index.ts';
import { baseComponentTemplate, indexTemplates, installIndexTemplates } from '../../infra/opensearch/index.ts';
import { CloudWatchLogsSimulator } from '../../local/index.ts';
import { encodeCwlRecord } from '../../processors/index.ts';
import { runCli } from '../e2e/cli-fixture.ts';
import { createBucket, createStream, startTestStack, uniqueName, waitFor } from '../helpers.ts';
import { allSamples, sampleEnvelope } from '../samples.ts';
import { fieldsUsed, indexPatternOf, scriptedFields, scriptFields, searchRequest, shippedObjects, tabify, visState, type Row, type SavedObject } from '../saved-objects.ts';

/**
 * Each shipped visualisation's search, as OpenSearch Dashboards would send it, against the real
 * node filled the way production fills it: the CloudWatch Logs simulator's member accounts and
 * every real sample among the fixtures (failed console logins, root activity, findings of each
 * severity), delivered through Kinesis to a real consumer that indexes them under the templates.
 */

type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;
const prefix = uniqueName('dash');
let objects: SavedObject[];
let total = 0;
// Wide enough for the samples' own times (2014 onwards) and the simulator's (now).
const RANGE = { from: '2010-01-01T00:00:00Z', to: new Date(Date.now() + 86_400_000).toISOString() };

beforeAll(async () => {
  stack = await startTestStack();
  objects = shippedObjects(prefix);
  await installIndexTemplates(stack.opensearch, prefix);
  const streamName = uniqueName('dash');
  const deadLetterBucket = uniqueName('dash-dead');
  await createStream(stack.kinesis, streamName, 2);
  await createBucket(stack.s3, deadLetterBucket);

  const simulator = new CloudWatchLogsSimulator({ kinesis: stack.kinesis, streamName, accounts: 3, region: 'eu-west-1' });
  await simulator.subscribe();
  await simulator.produce(1500);
  const samples = allSamples();
  const entries = samples.map((s, i) => ({ PartitionKey: `sample-${i}`, Data: encodeCwlRecord(sampleEnvelope(s, i)) }));
  for (let i = 0; i < entries.length; i += 400) await putRecordsWithRetry(stack.kinesis, streamName, entries.slice(i, i + 400));
  total = simulator.produced + samples.length;

  const { worker } = createConsumer(
    ConsumerOptionsSchema.parse({
      streamName,
      leaseTable: uniqueName('dash-leases'),
      deadLetterBucket,
      opensearchUrl: stack.opensearchUrl,
      region: stack.endpoints.region,
      kinesisEndpoint: stack.endpoints.kinesis,
      dynamodbEndpoint: stack.endpoints.dynamodb,
      s3Endpoint: stack.endpoints.s3,
      indexPrefix: prefix,
      idleBackoffMs: 100,
      // The operator's map of which group carries which source (the simulator's and the samples' groups).
      logGroupSources: JSON.stringify({
        'aws-cloudtrail-logs-*': 'cloudtrail',
        '/aws/events/guardduty': 'guardduty',
        '/aws/vpc/flowlogs': 'vpcflow',
        '/samples/cloudtrail': 'cloudtrail',
        '/samples/guardduty': 'guardduty',
        '/samples/vpcflow': 'vpcflow',
      }),
    }),
  );
  await worker.start();
  try {
    const c = worker.counters;
    await waitFor('every event indexed or accounted for', () => c.created + c.duplicates + c.deadLettered >= total, 120_000);
  } finally {
    await worker.stop();
  }
  await stack.opensearch.indices.refresh({ index: `${prefix}-*`, allow_no_indices: true } as never);
}, 240_000);

afterAll(async () => {
  await stack?.opensearch.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true } as never).catch(() => undefined);
  for (const t of indexTemplates(prefix)) await stack?.opensearch.indices.deleteIndexTemplate({ name: t.name }).catch(() => undefined);
  await stack?.opensearch.cluster.deleteComponentTemplate({ name: baseComponentTemplate(prefix).name }).catch(() => undefined);
  await stack?.stop();
});

async function run(o: SavedObject): Promise<{ rows: Row[]; hits: Array<Record<string, any>> }> {
  const req = searchRequest(o, objects, RANGE)!;
  const res = await stack.opensearch.search({ index: req.index, allow_no_indices: true, body: req.body } as never);
  const body = res.body as unknown as Record<string, any>;
  return { rows: req.kind === 'aggs' ? tabify(o, body) : [], hits: body.hits.hits };
}

const queried = () => objects.filter((o) => (o.type === 'visualization' || o.type === 'search') && searchRequest(o, objects));

describe('dashboards on the real node, filled through the consumer', () => {
  it('indexes the simulated and sample events it is fed', async () => {
    const res = await stack.opensearch.count({ index: `${prefix}-aws.*` } as never);
    expect((res.body as unknown as { count: number }).count).toBeGreaterThan(2000);
  });

  it("every visualisation's search returns rows with a value in each metric; the saved search returns documents", async () => {
    const empty: string[] = [];
    for (const o of queried()) {
      const { rows, hits } = await run(o);
      if (o.type === 'search') {
        if (hits.length === 0) empty.push(`${o.id}: no documents`);
        continue;
      }
      const metrics = visState(o).aggs.filter((a) => a.schema === 'metric');
      if (rows.length === 0) empty.push(`${o.id}: no rows`);
      else
        for (const m of metrics) {
          const v = rows[0]![m.id];
          const ok = m.type === 'percentiles' ? Object.values(v as Record<string, number | null>).every((x) => Number.isFinite(x)) : Number.isFinite(v as number) && (v as number) > 0;
          if (!ok) empty.push(`${o.id}: metric ${m.id} (${m.type}) is ${JSON.stringify(v)}`);
        }
    }
    expect(empty).toEqual([]);
    expect(queried().length).toBe(18);
  });

  it('OpenSearch Dashboards will find each field aggregatable: _field_caps over the filled indices agrees', async () => {
    const problems: string[] = [];
    for (const o of queried()) {
      const ip = indexPatternOf(o, objects)!;
      const scripted = new Map(scriptedFields(ip).map((f) => [f.name, f]));
      const fields = fieldsUsed(o, objects).flatMap((u) => (scripted.has(u.field) ? scriptFields(scripted.get(u.field)!.script).map((field) => ({ field, use: u.use })) : [u]));
      const caps = await stack.opensearch.fieldCaps({ index: ip.attributes.title as string, fields: [...new Set(fields.map((f) => f.field))].join(',') } as never);
      const found = (caps.body as unknown as { fields: Record<string, Record<string, { aggregatable: boolean; searchable: boolean }>> }).fields;
      for (const { field, use } of fields) {
        const types = Object.values(found[field] ?? {});
        if (types.length === 0) problems.push(`${o.id}: ${field} not in ${ip.attributes.title}`);
        else if (use !== 'query' && use !== 'column' && !types.every((t) => t.aggregatable)) problems.push(`${o.id}: ${field} not aggregatable`);
        else if (types.length > 1) problems.push(`${o.id}: ${field} has conflicting types ${Object.keys(found[field]!).join(', ')}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('failed console logins add up to the failed ConsoleLogin documents, and root activity to the Root identity documents', async () => {
    const count = async (query: Record<string, unknown>) =>
      ((await stack.opensearch.count({ index: `${prefix}-aws.cloudtrail-*`, body: { query } } as never)).body as unknown as { count: number }).count;
    const sum = (rows: Row[]) => rows.reduce((n, r) => n + (r['1'] as number), 0);
    const failed = await run(objects.find((o) => o.id === `${prefix}-cloudtrail-failed-console-logins`)!);
    const expected = await count({ bool: { filter: [{ term: { 'event.action': 'ConsoleLogin' } }, { term: { 'event.outcome': 'failure' } }] } });
    expect(expected).toBeGreaterThan(0);
    // Rows are per account, user and address; a login without a user or address has no row.
    expect(sum(failed.rows)).toBeLessThanOrEqual(expected);
    expect(sum(failed.rows)).toBeGreaterThan(0);
    const root = await run(objects.find((o) => o.id === `${prefix}-cloudtrail-root-activity`)!);
    expect(root.rows.every((r) => (r['1'] as number) > 0)).toBe(true);
    const rootDocs = await count({ term: { 'aws.cloudtrail.user_identity.type': 'Root' } });
    expect(sum(root.rows)).toBeLessThanOrEqual(rootDocs);
    expect(rootDocs).toBeGreaterThan(0);
  });

  it('events per source per minute add up to every document indexed, per source', async () => {
    const { rows } = await run(objects.find((o) => o.id === `${prefix}-pipeline-events-per-source`)!);
    const bySource = new Map<string, number>();
    for (const r of rows) bySource.set(r['3'] as string, (bySource.get(r['3'] as string) ?? 0) + (r['1'] as number));
    const res = await stack.opensearch.search({ index: `${prefix}-aws.*`, body: { size: 0, aggs: { s: { terms: { field: 'event.dataset', size: 10 } } } } } as never);
    const truth = (res.body as any).aggregations.s.buckets.map((b: { key: string; doc_count: number }) => [b.key, b.doc_count]);
    expect([...bySource].sort()).toEqual(truth.sort());
    expect([...bySource.keys()]).toEqual(expect.arrayContaining(['aws.vpcflow', 'aws.cloudtrail', 'aws.guardduty']));
  });

  it('lag by account is event.ingested - @timestamp of the documents themselves', async () => {
    const { rows } = await run(objects.find((o) => o.id === `${prefix}-pipeline-lag-by-account`)!);
    expect(rows.length).toBeGreaterThanOrEqual(4); // three simulated member accounts and the samples' account
    for (const r of rows.slice(0, 4)) {
      const docs = await stack.opensearch.search({ index: `${prefix}-aws.*`, body: { size: 10_000, query: { term: { 'aws.cloudwatch.owner': r['4'] } }, _source: ['@timestamp', 'event.ingested'] } } as never);
      const lags = (docs.body as any).hits.hits.map((h: any) => Date.parse(h._source.event.ingested) - Date.parse(h._source['@timestamp']));
      expect(r['1'], String(r['4'])).toBe(lags.length);
      expect(r['3'], String(r['4'])).toBe(Math.max(...lags));
    }
  });
});

describe('centralog bootstrap --dashboards-url', () => {
  it('installs the templates, then imports the saved objects renamed for --index-prefix; a refused object fails the command, naming it', async () => {
    const bodies: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        bodies.push(`${req.method} ${req.url} ${req.headers['osd-xsrf']} ${req.headers.authorization ?? 'unsigned'}\n${body}`);
        const refused = bodies.length === 2 ? [{ id: `${prefix}-dashboard-alerts`, type: 'dashboard', error: { type: 'missing_references' } }] : [];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: refused.length === 0, successCount: objects.length - refused.length, ...(refused.length ? { errors: refused } : {}) }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const args = ['bootstrap', '--opensearch-url', stack.opensearchUrl, '--index-prefix', prefix, '--dashboards-url', url];
    try {
      const first = await runCli(args);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain(`dashboards          ${objects.length} saved object(s) imported into ${url}`);
      expect(bodies[0]).toMatch(/^POST \/api\/saved_objects\/_import\?overwrite=true true unsigned\n/);
      for (const title of ['aws.vpcflow-*', 'aws.cloudtrail-*', 'aws.guardduty-*', 'aws.*', 'alerts-*']) expect(bodies[0]).toContain(`"title":"${prefix}-${title}"`);
      expect(bodies[0]).not.toContain('"id":"centralog-');
      const second = await runCli(args);
      expect(second.code).toBe(1);
      expect(second.stdout).toContain(`1 refused: dashboard ${prefix}-dashboard-alerts: missing_references`);
      // --opensearch-auth sigv4 signs the import as it signs the cluster's requests.
      const signed = await runCli([...args, '--opensearch-auth', 'sigv4', '--region', 'eu-west-1'], { AWS_ACCESS_KEY_ID: 'AKIDBOOTSTRAP', AWS_SECRET_ACCESS_KEY: 'secret', AWS_PROFILE: '' });
      expect(signed.code, signed.stderr).toBe(0);
      expect(bodies[2]).toMatch(/^POST \S+ true AWS4-HMAC-SHA256 Credential=AKIDBOOTSTRAP\/\d{8}\/eu-west-1\/es\/aws4_request/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const unreachable = await runCli(['bootstrap', '--opensearch-url', stack.opensearchUrl, '--index-prefix', prefix, '--dashboards-url', 'http://127.0.0.1:9']);
    expect(unreachable.code).not.toBe(0);
    expect(unreachable.stderr).toMatch(/cannot reach OpenSearch Dashboards at http:\/\/127\.0\.0\.1:9 \(--dashboards-url\)/);
  });
});
