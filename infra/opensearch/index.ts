import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), 'templates');

/** Index families, one per source: `<prefix>-aws.<family>-YYYY.MM.DD`. */
export const INDEX_FAMILIES = ['cloudtrail', 'vpcflow', 'guardduty', 'elb', 'cloudwatch_logs'] as const;
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

/**
 * The version of a template as shipped: a hash of everything but `_meta`, so any change to
 * the mappings, settings or composition is a new version without anyone bumping a number.
 */
export function templateVersion(body: Record<string, unknown>): string {
  const { _meta: _, ...content } = body;
  return createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 16);
}

function withVersion(body: Record<string, unknown>, meta: Record<string, unknown>): Record<string, unknown> {
  return { ...body, _meta: { ...meta, template_version: templateVersion(body) } };
}

/** The component template of fields every document shares. */
export function baseComponentTemplate(prefix: string): ComponentTemplate {
  return { name: `${prefix}-aws-base`, body: withVersion(readJson('base.json'), { managed_by: 'centralog' }) };
}

/** One index template per family, composed of the base and the family's own mappings, and the alerts'. */
export function indexTemplates(prefix: string): IndexTemplate[] {
  const base = baseComponentTemplate(prefix);
  const families = INDEX_FAMILIES.map((family) => {
    const mappings = readJson(`${family}.json`);
    const body = {
      index_patterns: [`${prefix}-aws.${family}-*`],
      priority: 100,
      composed_of: [base.name],
      template: { mappings: { dynamic: false, ...mappings } },
    };
    return { name: `${prefix}-aws.${family}`, body: withVersion(body, { managed_by: 'centralog', family }) };
  });
  return [...families, alertsIndexTemplate(prefix, base)];
}

/**
 * Detection alerts, `<prefix>-alerts-YYYY.MM`: the base's ECS fields (event.severity, rule.*,
 * cloud.*, user.*, source.ip) plus the alert's own (rule.author, centralog.alert.*).
 */
function alertsIndexTemplate(prefix: string, base: ComponentTemplate): IndexTemplate {
  const body = {
    index_patterns: [`${prefix}-alerts-*`],
    priority: 100,
    composed_of: [base.name],
    template: { mappings: { dynamic: false, ...readJson('alerts.json') } },
  };
  return { name: `${prefix}-alerts`, body: withVersion(body, { managed_by: 'centralog', family: 'alerts' }) };
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

/** The reads checkIndexTemplates needs; `@opensearch-project/opensearch`'s Client fits. */
interface TemplateReadClient {
  cluster: { getComponentTemplate(params: { name: string }, options: { ignore: number[] }): Promise<{ body: unknown; statusCode?: number | null }> };
  indices: { getIndexTemplate(params: { name: string }, options: { ignore: number[] }): Promise<{ body: unknown; statusCode?: number | null }> };
}

export interface TemplateCheck {
  /** Every template is installed at the shipped version. */
  ok: boolean;
  missing: string[];
  /** Installed, but not the version shipped (`installed` undefined: not installed by centralog). */
  outdated: Array<{ name: string; installed?: string; shipped: string }>;
}

/** Whether the templates a consumer writes through are installed, and at the version it ships. */
export async function checkIndexTemplates(client: TemplateReadClient, prefix: string): Promise<TemplateCheck> {
  const check: TemplateCheck = { ok: true, missing: [], outdated: [] };
  const compare = (name: string, shipped: Record<string, unknown>, res: { body: unknown; statusCode?: number | null }, found: unknown) => {
    if (res.statusCode === 404 || !found) {
      check.missing.push(name);
      return;
    }
    const installed = ((found as { _meta?: { template_version?: unknown } })._meta?.template_version ?? undefined) as string | undefined;
    const version = templateVersion(shipped);
    if (installed !== version) check.outdated.push({ name, installed, shipped: version });
  };
  const base = baseComponentTemplate(prefix);
  const baseRes = await client.cluster.getComponentTemplate({ name: base.name }, { ignore: [404] });
  const components = (baseRes.body as { component_templates?: Array<{ name: string; component_template: unknown }> }).component_templates ?? [];
  compare(base.name, base.body, baseRes, components.find((c) => c.name === base.name)?.component_template);
  for (const t of indexTemplates(prefix)) {
    const res = await client.indices.getIndexTemplate({ name: t.name }, { ignore: [404] });
    const templates = (res.body as { index_templates?: Array<{ name: string; index_template: unknown }> }).index_templates ?? [];
    compare(t.name, t.body, res, templates.find((x) => x.name === t.name)?.index_template);
  }
  check.ok = check.missing.length === 0 && check.outdated.length === 0;
  return check;
}
