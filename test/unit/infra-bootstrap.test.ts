import { describe, expect, it } from 'vitest';
import { handler, withRetries } from '../../infra/lambda/opensearch-bootstrap.ts';
import { bootstrapOpenSearch, ISM_PLUGIN, retentionPolicy, type BootstrapClient, type TransportRequest } from '../../infra/opensearch/bootstrap.ts';
import { applySecurityMappings, writerRole } from '../../infra/opensearch/security.ts';

/** A client that records every call and answers from a table of canned responses. */
function fakeClient(answers: Record<string, { statusCode: number; body: unknown }> = {}) {
  const calls: string[] = [];
  const bodies = new Map<string, unknown>();
  const client: BootstrapClient = {
    cluster: { putComponentTemplate: async ({ name }) => void calls.push(`component ${name}`) },
    indices: { putIndexTemplate: async ({ name }) => void calls.push(`index-template ${name}`) },
    transport: {
      async request(params: TransportRequest, options?: { ignore?: number[] }) {
        const qs = params.querystring ? `?${new URLSearchParams(Object.entries(params.querystring).map(([k, v]): [string, string] => [k, String(v)]))}` : '';
        const key = `${params.method} ${params.path}${qs}`;
        calls.push(key);
        if (params.body !== undefined) bodies.set(key, params.body);
        const answer = answers[`${params.method} ${params.path}`] ?? { statusCode: 200, body: {} };
        if (answer.statusCode >= 400 && !options?.ignore?.includes(answer.statusCode)) {
          throw Object.assign(new Error('Response Error'), { meta: { statusCode: answer.statusCode, body: answer.body } });
        }
        return answer;
      },
    },
  };
  return { client, calls, bodies };
}

describe('bootstrapOpenSearch', () => {
  it('puts the templates and, without the ISM plugin, says what it skipped and why', async () => {
    const { client, calls } = fakeClient({ 'GET /_cat/plugins': { statusCode: 200, body: [{ component: 'opensearch-job-scheduler' }] } });
    const result = await bootstrapOpenSearch(client, { indexPrefix: 'cl', retentionDays: 14 });
    expect(calls.slice(0, 7)).toEqual(['component cl-aws-base', 'index-template cl-aws.cloudtrail', 'index-template cl-aws.vpcflow', 'index-template cl-aws.guardduty', 'index-template cl-aws.elb', 'index-template cl-aws.cloudwatch_logs', 'index-template cl-alerts']);
    expect(calls).toContain('GET /_cat/plugins?format=json');
    expect(calls.some((c) => c.includes('_ism'))).toBe(false);
    expect(result.ismPolicies).toEqual([]);
    expect(result.skipped).toEqual([{ what: 'ISM policy cl-retention (delete after 14 days)', reason: expect.stringContaining(`no ${ISM_PLUGIN} plugin`) }]);
  });

  it('creates the retention policy where ISM exists', async () => {
    const { client, calls, bodies } = fakeClient({
      'GET /_cat/plugins': { statusCode: 200, body: [{ component: ISM_PLUGIN }] },
      'GET /_plugins/_ism/policies/cl-retention': { statusCode: 404, body: {} },
    });
    const result = await bootstrapOpenSearch(client, { indexPrefix: 'cl', retentionDays: 14 });
    expect(result).toMatchObject({ ismPolicies: ['cl-retention'], skipped: [] });
    expect(calls).toContain('PUT /_plugins/_ism/policies/cl-retention');
    expect(bodies.get('PUT /_plugins/_ism/policies/cl-retention')).toEqual(retentionPolicy('cl', 14));
  });

  it('updates an existing policy in place with its sequence number (ISM refuses a blind overwrite)', async () => {
    const { client, calls } = fakeClient({
      'GET /_cat/plugins': { statusCode: 200, body: [{ component: ISM_PLUGIN }] },
      'GET /_plugins/_ism/policies/cl-retention': { statusCode: 200, body: { _id: 'cl-retention', _seq_no: 7, _primary_term: 2 } },
    });
    await bootstrapOpenSearch(client, { indexPrefix: 'cl', retentionDays: 14 });
    expect(calls).toContain('PUT /_plugins/_ism/policies/cl-retention?if_seq_no=7&if_primary_term=2');
  });

  it('throws what OpenSearch refused instead of carrying on', async () => {
    const { client } = fakeClient({ 'GET /_cat/plugins': { statusCode: 200, body: [{ component: ISM_PLUGIN }] }, 'PUT /_plugins/_ism/policies/cl-retention': { statusCode: 400, body: { error: 'bad policy' } } });
    await expect(bootstrapOpenSearch(client, { indexPrefix: 'cl', retentionDays: 14 })).rejects.toMatchObject({ meta: { statusCode: 400 } });
  });

  it('the retention policy deletes the source families after the given days and applies to new indices', () => {
    const p = retentionPolicy('cl', 30).policy as any;
    expect(p.states.map((s: any) => s.name)).toEqual(['hot', 'delete']);
    expect(p.states[0].transitions).toEqual([{ state_name: 'delete', conditions: { min_index_age: '30d' } }]);
    expect(p.states[1].actions).toEqual([{ delete: {} }]);
    expect(p.ism_template).toEqual([{ index_patterns: ['cl-aws.*'], priority: 100 }]);
  });
});

describe('fine-grained access control mappings', () => {
  it('maps the consumer role to a writer role limited to the prefix, keeping existing mappings', async () => {
    const { client, calls, bodies } = fakeClient({
      'GET /_plugins/_security/api/rolesmapping/all_access': { statusCode: 200, body: { all_access: { backend_roles: ['arn:aws:iam::111111111111:role/master'], users: [], hosts: [] } } },
      'GET /_plugins/_security/api/rolesmapping/cl_writer': { statusCode: 404, body: {} },
    });
    await applySecurityMappings(client, { indexPrefix: 'cl', writerRoleArns: ['arn:aws:iam::111111111111:role/task'], adminRoleArns: ['arn:aws:iam::111111111111:role/ops'] });
    expect(bodies.get('PUT /_plugins/_security/api/roles/cl_writer')).toEqual(writerRole('cl'));
    expect((writerRole('cl') as any).index_permissions[0].index_patterns).toEqual(['cl-*']);
    expect(bodies.get('PUT /_plugins/_security/api/rolesmapping/cl_writer')).toEqual({ backend_roles: ['arn:aws:iam::111111111111:role/task'], users: [], hosts: [] });
    expect(bodies.get('PUT /_plugins/_security/api/rolesmapping/all_access')).toEqual({
      backend_roles: ['arn:aws:iam::111111111111:role/master', 'arn:aws:iam::111111111111:role/ops'],
      users: [],
      hosts: [],
    });
    expect(calls.filter((c) => c.startsWith('PUT'))).toHaveLength(3);
  });
});

describe('the bootstrap custom resource handler', () => {
  it('leaves the domain alone on delete', async () => {
    const out = await handler({ RequestType: 'Delete', PhysicalResourceId: 'x', ResourceProperties: { Endpoint: 'e', IndexPrefix: 'p', RetentionDays: '1' } });
    expect(out).toEqual({ PhysicalResourceId: 'x' });
  });

  it("fails at once with OpenSearch's own answer when it refuses (4xx)", async () => {
    let calls = 0;
    const refuse = async () => {
      calls++;
      throw Object.assign(new Error('Response Error'), { meta: { statusCode: 403, body: { error: { type: 'security_exception', reason: 'no permissions for [indices:admin/template/put]' } } } });
    };
    await expect(withRetries('templates and policies', refuse, { baseDelayMs: 1 })).rejects.toThrow(
      /OpenSearch bootstrap failed at templates and policies: Response Error \(HTTP 403\) .*no permissions for \[indices:admin\/template\/put\]/,
    );
    expect(calls).toBe(1);
  });

  it('retries what may pass later (no answer, 429, 5xx), then gives up loudly', async () => {
    let calls = 0;
    const flaky = async () => {
      calls++;
      if (calls < 3) throw Object.assign(new Error('unavailable'), { meta: { statusCode: 503 } });
      return 'ok';
    };
    await expect(withRetries('x', flaky, { baseDelayMs: 1 })).resolves.toBe('ok');
    expect(calls).toBe(3);
    await expect(withRetries('x', async () => Promise.reject(new Error('connect ECONNREFUSED')), { attempts: 2, baseDelayMs: 1 })).rejects.toThrow(/failed at x: connect ECONNREFUSED/);
  });
});
