import { createOpenSearchClient } from '../../consumers/opensearch-client.ts';
import { bootstrapOpenSearch } from '../opensearch/bootstrap.ts';
import { applySecurityMappings } from '../opensearch/security.ts';

/**
 * The deployment's OpenSearch bootstrap (a CloudFormation custom resource behind the CDK
 * Provider framework): the same bootstrapOpenSearch as the CLI, plus the fine-grained
 * access control mappings. A thrown error fails the stack operation with its message.
 */
interface CustomResourceEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  PhysicalResourceId?: string;
  ResourceProperties: {
    Endpoint: string;
    IndexPrefix: string;
    RetentionDays: string;
    WriterRoleArns?: string[];
    AdminRoleArns?: string[];
  };
}

/** OpenSearch's own answer, when there is one, so the stack event says what was refused. */
export function describeError(err: unknown): string {
  const e = err as { message?: string; meta?: { statusCode?: number; body?: unknown } };
  const body = e.meta?.body === undefined ? '' : ` ${JSON.stringify(e.meta.body).slice(0, 2000)}`;
  const status = e.meta?.statusCode ? ` (HTTP ${e.meta.statusCode})` : '';
  return `${e.message ?? String(err)}${status}${body}`;
}

/** Retries what may pass on a second try (no answer, 429, 5xx); a 4xx refusal fails at once. */
export async function withRetries<T>(what: string, run: () => Promise<T>, { attempts = 5, baseDelayMs = 2000 } = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      const status = (err as { meta?: { statusCode?: number } }).meta?.statusCode;
      const transient = status === undefined || status === 429 || status >= 500;
      if (!transient || attempt >= attempts) throw new Error(`OpenSearch bootstrap failed at ${what}: ${describeError(err)}`);
      await new Promise((r) => setTimeout(r, baseDelayMs * 2 ** (attempt - 1)));
    }
  }
}

export async function handler(event: CustomResourceEvent): Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }> {
  const p = event.ResourceProperties;
  const physicalId = `${p.Endpoint}/${p.IndexPrefix}`;
  // Templates and policies stay with the domain: deleting them would not delete its data.
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId };

  const client = createOpenSearchClient(`https://${p.Endpoint}`, { sigv4: { region: process.env.AWS_REGION ?? 'us-east-1' } });
  const security = await withRetries('security mappings', () =>
    applySecurityMappings(client, { indexPrefix: p.IndexPrefix, writerRoleArns: p.WriterRoleArns ?? [], adminRoleArns: p.AdminRoleArns ?? [] }),
  );
  const result = await withRetries('templates and policies', () => bootstrapOpenSearch(client, { indexPrefix: p.IndexPrefix, retentionDays: Number(p.RetentionDays) }));
  const summary = {
    security: security.join(', '),
    templates: [...result.componentTemplates, ...result.indexTemplates].join(', '),
    ismPolicies: result.ismPolicies.join(', '),
    skipped: result.skipped.map((s) => `${s.what}: ${s.reason}`).join('; '),
  };
  console.log(JSON.stringify({ message: 'OpenSearch bootstrapped', ...summary }));
  return { PhysicalResourceId: physicalId, Data: summary };
}
