import { baseComponentTemplate, indexTemplates, installIndexTemplates } from './index.ts';

/** The plugin that provides Index State Management (`_plugins/_ism`). */
export const ISM_PLUGIN = 'opensearch-index-management';

/** A request through the client's transport, for APIs the typed client does not pin. */
export interface TransportRequest {
  method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  body?: Record<string, unknown> | string;
  querystring?: Record<string, string | number>;
}

/** The part of an OpenSearch client bootstrap uses; `@opensearch-project/opensearch`'s Client fits. */
export interface BootstrapClient {
  cluster: { putComponentTemplate(params: { name: string; body: Record<string, unknown> }): Promise<unknown> };
  indices: { putIndexTemplate(params: { name: string; body: Record<string, unknown> }): Promise<unknown> };
  transport: { request(params: TransportRequest, options?: { ignore?: number[] }): Promise<{ body: unknown; statusCode?: number | null }> };
}

export interface BootstrapOptions {
  indexPrefix: string;
  /** Indices of every source family are deleted this many days after creation (ISM). */
  retentionDays: number;
}

export interface BootstrapResult {
  componentTemplates: string[];
  indexTemplates: string[];
  ismPolicies: string[];
  /** What was not installed and why (e.g. a cluster without the ISM plugin). */
  skipped: Array<{ what: string; reason: string }>;
}

/** The ISM policy id for a prefix. */
export function retentionPolicyId(indexPrefix: string): string {
  return `${indexPrefix}-retention`;
}

/**
 * Deletes every source family's daily indices `retentionDays` after creation; new indices
 * pick it up through `ism_template`. Alerts indices (`<prefix>-alerts-*`) are kept.
 */
export function retentionPolicy(indexPrefix: string, retentionDays: number): Record<string, unknown> {
  return {
    policy: {
      description: `centralog: delete ${indexPrefix}-aws.* indices ${retentionDays} days after creation`,
      default_state: 'hot',
      states: [
        { name: 'hot', actions: [], transitions: [{ state_name: 'delete', conditions: { min_index_age: `${retentionDays}d` } }] },
        { name: 'delete', actions: [{ delete: {} }], transitions: [] },
      ],
      ism_template: [{ index_patterns: [`${indexPrefix}-aws.*`], priority: 100 }],
    },
  };
}

/** Names of the plugins every node of the cluster reports (`GET _cat/plugins`). */
export async function clusterPlugins(client: BootstrapClient): Promise<Set<string>> {
  const res = await client.transport.request({ method: 'GET', path: '/_cat/plugins', querystring: { format: 'json' } });
  const rows = (Array.isArray(res.body) ? res.body : []) as Array<{ component?: string }>;
  return new Set(rows.map((r) => r.component).filter((c): c is string => typeof c === 'string'));
}

/** Creates the policy, or updates it in place (ISM refuses a plain overwrite). */
async function putIsmPolicy(client: BootstrapClient, id: string, body: Record<string, unknown>): Promise<void> {
  const path = `/_plugins/_ism/policies/${encodeURIComponent(id)}`;
  const existing = await client.transport.request({ method: 'GET', path }, { ignore: [404] });
  const current = existing.body as { _seq_no?: number; _primary_term?: number } | undefined;
  const querystring =
    existing.statusCode !== 404 && current?._seq_no !== undefined && current._primary_term !== undefined
      ? { if_seq_no: current._seq_no, if_primary_term: current._primary_term }
      : undefined;
  await client.transport.request({ method: 'PUT', path, body, ...(querystring ? { querystring } : {}) });
}

/**
 * Puts centralog's index templates and, where the cluster has ISM, its retention policy
 * into OpenSearch. Idempotent; any refusal from OpenSearch is thrown, never swallowed.
 * The CLI's `bootstrap` and the deployment's custom resource both run this.
 */
export async function bootstrapOpenSearch(client: BootstrapClient, options: BootstrapOptions): Promise<BootstrapResult> {
  const { indexPrefix, retentionDays } = options;
  await installIndexTemplates(client, indexPrefix);
  const result: BootstrapResult = {
    componentTemplates: [baseComponentTemplate(indexPrefix).name],
    indexTemplates: indexTemplates(indexPrefix).map((t) => t.name),
    ismPolicies: [],
    skipped: [],
  };
  const plugins = await clusterPlugins(client);
  if (plugins.has(ISM_PLUGIN)) {
    const id = retentionPolicyId(indexPrefix);
    await putIsmPolicy(client, id, retentionPolicy(indexPrefix, retentionDays));
    result.ismPolicies.push(id);
  } else {
    result.skipped.push({
      what: `ISM policy ${retentionPolicyId(indexPrefix)} (delete after ${retentionDays} days)`,
      reason: `the cluster has no ${ISM_PLUGIN} plugin (GET _cat/plugins): indices are not deleted by age; delete old ones yourself`,
    });
  }
  return result;
}
