import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Saved objects shipped with centralog, one NDJSON file each, written for the default prefix. */
export const DASHBOARDS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'infra', 'opensearch', 'dashboards');
const DEFAULT_PREFIX = 'centralog';

export interface DashboardImport {
  files: string[];
  objects: number;
  errors: string[];
}

/** The saved objects NDJSON for an index prefix: index pattern titles name the prefix. */
export function savedObjects(indexPrefix: string, dir = DASHBOARDS_DIR): { files: string[]; ndjson: string } {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ndjson')).sort() : [];
  const lines = files.flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l.trim().length > 0));
  const rewritten = indexPrefix === DEFAULT_PREFIX ? lines : lines.map((l) => l.split(`${DEFAULT_PREFIX}-`).join(`${indexPrefix}-`));
  return { files, ndjson: rewritten.length > 0 ? `${rewritten.join('\n')}\n` : '' };
}

/**
 * Imports the saved objects into OpenSearch Dashboards with overwrite, so a second import
 * replaces the same ids instead of adding copies.
 */
export async function importDashboards(dashboardsUrl: string, indexPrefix: string, dir = DASHBOARDS_DIR): Promise<DashboardImport> {
  const { files, ndjson } = savedObjects(indexPrefix, dir);
  if (!ndjson) return { files, objects: 0, errors: [`no saved objects under ${dir}`] };
  const form = new FormData();
  form.append('file', new Blob([ndjson], { type: 'application/ndjson' }), 'centralog.ndjson');
  const url = `${dashboardsUrl.replace(/\/$/, '')}/api/saved_objects/_import?overwrite=true`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body: form, headers: { 'osd-xsrf': 'true' } });
  } catch (err) {
    throw new Error(`cannot reach OpenSearch Dashboards at ${dashboardsUrl} (--dashboards-url): ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { successCount?: number; errors?: Array<{ id: string; type: string; error?: { type?: string; message?: string } }>; message?: string };
  if (!res.ok) throw new Error(`OpenSearch Dashboards refused the import (${res.status}): ${body.message ?? res.statusText}`);
  return { files, objects: body.successCount ?? 0, errors: (body.errors ?? []).map((e) => `${e.type} ${e.id}: ${e.error?.message ?? e.error?.type ?? 'error'}`) };
}
