import type { BootstrapClient } from './bootstrap.ts';

/**
 * Fine-grained access control on Amazon OpenSearch Service: an IAM role can do nothing
 * until it is mapped to an OpenSearch role. The consumer gets a role that writes only
 * `<prefix>-*` indices; listed operator roles get all_access.
 */
export interface SecurityMappings {
  indexPrefix: string;
  /** IAM role ARNs that index documents (the consumer's task role). */
  writerRoleArns: string[];
  /** IAM role ARNs mapped to all_access in addition to the master role. */
  adminRoleArns: string[];
}

export function writerRoleName(indexPrefix: string): string {
  return `${indexPrefix}_writer`;
}

/** What the consumer does: `_bulk` with create into daily indices it may create. */
export function writerRole(indexPrefix: string): Record<string, unknown> {
  return {
    description: 'centralog consumer: bulk-creates documents in its own indices',
    cluster_permissions: ['cluster_monitor', 'indices:data/write/bulk'],
    index_permissions: [{ index_patterns: [`${indexPrefix}-*`], allowed_actions: ['create_index', 'crud', 'indices:admin/mapping/put'] }],
  };
}

const API = '/_plugins/_security/api';

/** Adds backend roles to a mapping, keeping whatever it already maps (the master user among them). */
async function addToMapping(client: BootstrapClient, role: string, backendRoles: string[]): Promise<void> {
  const path = `${API}/rolesmapping/${encodeURIComponent(role)}`;
  const res = await client.transport.request({ method: 'GET', path }, { ignore: [404] });
  const current = res.statusCode === 404 ? undefined : (res.body as Record<string, { backend_roles?: string[]; users?: string[]; hosts?: string[] }> | undefined)?.[role];
  const merged = {
    backend_roles: [...new Set([...(current?.backend_roles ?? []), ...backendRoles])],
    users: current?.users ?? [],
    hosts: current?.hosts ?? [],
  };
  await client.transport.request({ method: 'PUT', path, body: merged });
}

/** Puts the writer role and the role mappings; throws on any refusal. */
export async function applySecurityMappings(client: BootstrapClient, m: SecurityMappings): Promise<string[]> {
  const writer = writerRoleName(m.indexPrefix);
  await client.transport.request({ method: 'PUT', path: `${API}/roles/${encodeURIComponent(writer)}`, body: writerRole(m.indexPrefix) });
  await addToMapping(client, writer, m.writerRoleArns);
  const done = [`role ${writer}`, `mapping ${writer}`];
  if (m.adminRoleArns.length > 0) {
    await addToMapping(client, 'all_access', m.adminRoleArns);
    done.push('mapping all_access');
  }
  return done;
}
