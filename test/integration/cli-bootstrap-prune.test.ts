import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createOpenSearchClient } from '../../consumers/index.ts';
import { baseComponentTemplate, indexTemplates } from '../../infra/opensearch/index.ts';
import { utcParts } from '../../processors/index.ts';
import { runCli } from '../e2e/cli-fixture.ts';
import { uniqueName } from '../helpers.ts';

/** bootstrap and prune against the real local OpenSearch node (no ISM plugin). */
describe('centralog bootstrap and prune', () => {
  const url = inject('opensearchUrl');
  const client = createOpenSearchClient(url);
  const prefix = uniqueName('cli-retention').toLowerCase();
  const env = { CENTRALOG_OPENSEARCH_URL: url, CENTRALOG_INDEX_PREFIX: prefix };
  const day = (daysAgo: number) => {
    const p = utcParts(new Date(Date.now() - daysAgo * 86_400_000));
    return `${p.year}.${p.month}.${p.day}`;
  };

  afterAll(async () => {
    await client.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true } as never).catch(() => undefined);
    await client.indices.delete({ index: `not-${prefix}-*`, ignore_unavailable: true, allow_no_indices: true } as never).catch(() => undefined);
    for (const t of indexTemplates(prefix)) await client.indices.deleteIndexTemplate({ name: t.name }).catch(() => undefined);
    await client.cluster.deleteComponentTemplate({ name: baseComponentTemplate(prefix).name }).catch(() => undefined);
  });

  it('bootstrap installs the templates, says the cluster has no ISM and points at prune', async () => {
    const run = await runCli(['bootstrap', '--retention-days', '45'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/not installed\s+ISM policy .*-retention \(delete after 45 days\): the cluster has no opensearch-index-management plugin/);
    expect(run.stdout).toContain(`centralog prune --older-than 45d --index-prefix ${prefix}`);
    const templates = await client.indices.getIndexTemplate({ name: `${prefix}-*` });
    expect((templates.body as any).index_templates.map((t: any) => t.name).sort()).toEqual(indexTemplates(prefix).map((t) => t.name).sort());
    const json = (await runCli(['bootstrap', '--json'], env)).json();
    expect(json).toMatchObject({ ismPolicies: [], pruneCommand: `centralog prune --older-than 30d --index-prefix ${prefix}`, retentionDays: 30 });
  });

  describe('prune', () => {
    const old = [`${prefix}-aws.vpcflow-${day(40)}`, `${prefix}-aws.cloudtrail-${day(31)}`];
    const kept = [
      `${prefix}-aws.vpcflow-${day(29)}`,
      `${prefix}-aws.guardduty-${day(0)}`,
      // Not daily source indices: never touched, however old.
      `${prefix}-alerts-2020.01`,
      `${prefix}-aws.vpcflow-2020.01.01-restored`,
      `not-${prefix}-aws.vpcflow-2020.01.01`,
    ];
    const existing = async () => {
      const res = await client.cat.indices({ index: `${prefix}-*,not-${prefix}-*`, format: 'json', h: 'index' } as never);
      return (res.body as unknown as Array<{ index: string }>).map((r) => r.index).sort();
    };

    beforeAll(async () => {
      for (const index of [...old, ...kept]) await client.indices.create({ index });
      await client.index({ index: old[0]!, body: { message: 'x' }, refresh: true } as never);
    });

    it('--dry-run lists the daily indices past the age and deletes nothing', async () => {
      const run = await runCli(['prune', '--older-than', '30d', '--dry-run', '--json'], env);
      expect(run.code, run.stderr).toBe(0);
      const r = run.json();
      expect(r.indices.map((i: any) => i.index).sort()).toEqual([...old].sort());
      expect(r).toMatchObject({ dryRun: true, documents: 1 });
      expect(await existing()).toEqual([...old, ...kept].sort());
      const text = await runCli(['prune', '--older-than', '30d', '--dry-run'], env);
      expect(text.stdout).toMatch(/would delete 2 index\(es\): 1 documents, .*\(dry run: nothing deleted\)/);
    });

    it('deletes exactly those, with progress', async () => {
      const run = await runCli(['prune', '--older-than', '30d'], env);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/deleted 2 index\(es\)/);
      expect(run.stderr).toMatch(/prune: indices deleted \[#+\] 2\/2/);
      expect(await existing()).toEqual([...kept].sort());
      expect((await runCli(['prune', '--older-than', '30d'], env)).stdout).toMatch(/no .*daily index is older than 30 days/);
    });

    it('names the bad argument', async () => {
      expect((await runCli(['prune'], env)).stderr).toMatch(/^centralog: --older-than: required/m);
      expect((await runCli(['prune', '--older-than', 'a month'], env)).stderr).toMatch(/--older-than: expected a duration such as 15m, 12h or 30d \(got "a month"\)/);
      expect((await runCli(['prune', '--older-than', '30d', '--opensearch-url', 'localhost:9200'], env)).stderr).toMatch(/--opensearch-url: expected an http\(s\) URL/);
    });
  });
});
