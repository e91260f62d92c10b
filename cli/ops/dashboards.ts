import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOpenSearchClient } from '../../consumers/index.ts';
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

/** How to authenticate to OpenSearch Dashboards: SigV4 for an Amazon OpenSearch Service domain's `/_dashboards`. */
export interface DashboardsAuth {
  sigv4?: { region: string; service: 'es' | 'aoss' };
}

type ImportAnswer = { successCount?: number; errors?: Array<{ id: string; type: string; error?: { type?: string; message?: string } }>; message?: string };

/**
 * Imports the saved objects into OpenSearch Dashboards with overwrite, so a second import
 * replaces the same ids instead of adding copies. The request goes through the OpenSearch
 * client, so it is signed exactly as the cluster's requests are when the domain wants SigV4.
 */
export async function importDashboards(dashboardsUrl: string, indexPrefix: string, dir = DASHBOARDS_DIR, auth: DashboardsAuth = {}): Promise<DashboardImport> {
  const { files, ndjson } = savedObjects(indexPrefix, dir);
  if (!ndjson) return { files, objects: 0, errors: [`no saved objects under ${dir}`] };
  // The multipart body is built here, as bytes, so that a signature covers exactly what is sent.
  const boundary = `centralog-${randomUUID()}`;
  const body = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="centralog.ndjson"\r\nContent-Type: application/ndjson\r\n\r\n${ndjson}\r\n--${boundary}--\r\n`,
  );
  const url = new URL(dashboardsUrl);
  const client = createOpenSearchClient(url.origin, auth.sigv4 ? { sigv4: auth.sigv4 } : {});
  let answer: ImportAnswer;
  try {
    const res = await client.transport.request(
      { method: 'POST', path: `${url.pathname.replace(/\/$/, '')}/api/saved_objects/_import`, querystring: { overwrite: 'true' }, body },
      { headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'osd-xsrf': 'true' } },
    );
    answer = (typeof res.body === 'string' ? JSON.parse(res.body) : res.body) as ImportAnswer;
  } catch (err) {
    const e = err as { meta?: { statusCode?: number; body?: ImportAnswer | string }; message?: string };
    const status = e.meta?.statusCode;
    if (!status) throw new Error(`cannot reach OpenSearch Dashboards at ${dashboardsUrl} (--dashboards-url): ${e.message ?? String(err)}`);
    const reason = typeof e.meta?.body === 'object' ? e.meta.body.message : e.meta?.body;
    throw new Error(`OpenSearch Dashboards refused the import (${status}): ${reason || e.message}`);
  } finally {
    await client.close();
  }
  return { files, objects: answer.successCount ?? 0, errors: (answer.errors ?? []).map((e) => `${e.type} ${e.id}: ${e.error?.message ?? e.error?.type ?? 'error'}`) };
}
