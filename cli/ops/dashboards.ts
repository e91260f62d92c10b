import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_INDEX_PREFIX } from '../../processors/index.ts';

/** Saved objects shipped with centralog, one NDJSON file each, written for the default prefix. */
export const DASHBOARDS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'infra', 'opensearch', 'dashboards');
// The files name index patterns and ids for the default prefix; readSavedObjects renames them.
const DEFAULT_PREFIX = DEFAULT_INDEX_PREFIX;

export interface DashboardImport {
  files: string[];
  objects: number;
  errors: string[];
}

/** One saved object as the import API takes it. */
export interface SavedObject {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  references: Array<{ name: string; type: string; id: string }>;
}

/** A shipped NDJSON line that is not a saved object: named by file and line, so an edit that broke it is found. */
export class SavedObjectFileError extends Error {
  override name = 'SavedObjectFileError';
}

/**
 * The files' objects for an index prefix. They are written for `centralog`: index pattern titles
 * (`centralog-aws.vpcflow-*`) become `<prefix>-...`, and so do ids and the references to them, so
 * two deployments with different prefixes can share one OpenSearch Dashboards without
 * overwriting each other. Nothing else is rewritten: a title or text that names centralog stays.
 */
export function readSavedObjects(indexPrefix: string, dir = DASHBOARDS_DIR): { files: string[]; objects: SavedObject[] } {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ndjson')).sort() : [];
  const rename = (s: string) => (s.startsWith(`${DEFAULT_PREFIX}-`) ? `${indexPrefix}${s.slice(DEFAULT_PREFIX.length)}` : s);
  const objects = files.flatMap((f) =>
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .map((line, i) => ({ line, at: `${f}:${i + 1}` }))
      .filter(({ line }) => line.trim().length > 0)
      .map(({ line, at }) => {
        let o: SavedObject;
        try {
          o = JSON.parse(line) as SavedObject;
        } catch (err) {
          throw new SavedObjectFileError(`${join(dir, at)}: not JSON: ${(err as Error).message}`);
        }
        if (typeof o?.type !== 'string' || typeof o.id !== 'string' || typeof o.attributes !== 'object' || !Array.isArray(o.references)) {
          throw new SavedObjectFileError(`${join(dir, at)}: expected a saved object {type, id, attributes, references}`);
        }
        const attributes = o.type === 'index-pattern' && typeof o.attributes.title === 'string' ? { ...o.attributes, title: rename(o.attributes.title) } : o.attributes;
        return { ...o, id: rename(o.id), attributes, references: o.references.map((r) => ({ ...r, id: rename(r.id) })) };
      }),
  );
  return { files, objects };
}

/** The saved objects NDJSON for an index prefix, as the import API takes it. */
export function savedObjects(indexPrefix: string, dir = DASHBOARDS_DIR): { files: string[]; ndjson: string } {
  const { files, objects } = readSavedObjects(indexPrefix, dir);
  return { files, ndjson: objects.map((o) => `${JSON.stringify(o)}\n`).join('') };
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
