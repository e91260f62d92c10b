import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), 'templates');

/** Index families, one per source: `<prefix>-aws.<family>-YYYY.MM.DD`. */
export const INDEX_FAMILIES = ['cloudtrail', 'vpcflow', 'guardduty', 'cloudwatch_logs'] as const;
export type IndexFamily = (typeof INDEX_FAMILIES)[number];

export interface ComponentTemplate {
  name: string;
  body: Record<string, unknown>;
}

export interface IndexTemplate {
  name: string;
  body: Record<string, unknown>;
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(TEMPLATES, file), 'utf8')) as Record<string, unknown>;
}

/** The component template of fields every document shares. */
export function baseComponentTemplate(prefix: string): ComponentTemplate {
  return { name: `${prefix}-aws-base`, body: readJson('base.json') };
}

/** One index template per family, composed of the base and the family's own mappings. */
export function indexTemplates(prefix: string): IndexTemplate[] {
  const base = baseComponentTemplate(prefix);
  return INDEX_FAMILIES.map((family) => {
    const mappings = readJson(`${family}.json`);
    return {
      name: `${prefix}-aws.${family}`,
      body: {
        index_patterns: [`${prefix}-aws.${family}-*`],
        priority: 100,
        composed_of: [base.name],
        template: { mappings: { dynamic: false, ...mappings } },
        _meta: { managed_by: 'centralog', family },
      },
    };
  });
}

/** Minimal surface of the OpenSearch client this needs, so callers pass any client version. */
interface TemplateClient {
  cluster: { putComponentTemplate(params: { name: string; body: Record<string, unknown> }): Promise<unknown> };
  indices: { putIndexTemplate(params: { name: string; body: Record<string, unknown> }): Promise<unknown> };
}

/** Installs (or updates) the base component template and every family's index template. */
export async function installIndexTemplates(client: TemplateClient, prefix: string): Promise<void> {
  const base = baseComponentTemplate(prefix);
  await client.cluster.putComponentTemplate({ name: base.name, body: base.body });
  for (const t of indexTemplates(prefix)) await client.indices.putIndexTemplate({ name: t.name, body: t.body });
}
