import { createOpenSearchClient } from '../../consumers/opensearch-client.ts';
import { describe, expect, inject, it } from 'vitest';
import { bootstrapOpenSearch } from '../../infra/opensearch/bootstrap.ts';

// The same function the deployment's custom resource and the CLI run, against a real node.
describe('bootstrapOpenSearch on the local OpenSearch node', () => {
  const client = createOpenSearchClient(inject('opensearchUrl'));
  const indexPrefix = `bootstrap${Date.now().toString(36)}`;

  it('installs every template, is idempotent, and reports the ISM policy as skipped (no ISM plugin locally)', async () => {
    const first = await bootstrapOpenSearch(client, { indexPrefix, retentionDays: 7 });
    const second = await bootstrapOpenSearch(client, { indexPrefix, retentionDays: 7 });
    expect(second).toEqual(first);
    expect(first.indexTemplates).toEqual([`${indexPrefix}-aws.cloudtrail`, `${indexPrefix}-aws.vpcflow`, `${indexPrefix}-aws.guardduty`, `${indexPrefix}-aws.elb`, `${indexPrefix}-aws.cloudwatch_logs`, `${indexPrefix}-alerts`]);
    expect(first.ismPolicies).toEqual([]);
    expect(first.skipped).toEqual([expect.objectContaining({ what: `ISM policy ${indexPrefix}-retention (delete after 7 days)` })]);

    const stored = await client.indices.getIndexTemplate({ name: `${indexPrefix}-aws.cloudtrail` });
    expect(stored.body.index_templates[0]!.index_template.composed_of).toEqual([`${indexPrefix}-aws-base`]);
    await client.indices.deleteIndexTemplate({ name: `${indexPrefix}-aws.*` });
    await client.indices.deleteIndexTemplate({ name: `${indexPrefix}-alerts` });
    await client.cluster.deleteComponentTemplate({ name: `${indexPrefix}-aws-base` });
  });

  it('fails loudly when OpenSearch refuses a template', async () => {
    // An index prefix OpenSearch rejects as a template pattern (upper case is not a valid index name).
    await expect(bootstrapOpenSearch(client, { indexPrefix: 'BAD PREFIX', retentionDays: 7 })).rejects.toMatchObject({ meta: { statusCode: 400 } });
  });
});
