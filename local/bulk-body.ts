import type { IncomingMessage } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';

/** One item of a _bulk request body, as the fault proxy reads it. */
export interface BulkItem {
  action: string;
  index?: string;
  id?: string;
  /** The action line and, except for delete, its source line, as received. */
  lines: string[];
}

/**
 * Splits an NDJSON bulk body into items. Returns undefined when it cannot be read (bad JSON,
 * a missing source line): the body is then forwarded untouched and OpenSearch reports the error.
 */
export function parseBulk(body: string): BulkItem[] | undefined {
  // A trailing newline (required by the API) leaves an empty last element; blank lines carry nothing.
  const lines = body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)).filter((l) => l.trim() !== '');
  const items: BulkItem[] = [];
  for (let i = 0; i < lines.length; i++) {
    const actionLine = lines[i]!;
    let parsed: unknown;
    try {
      parsed = JSON.parse(actionLine);
    } catch {
      return undefined;
    }
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const [action] = Object.keys(parsed);
    if (!action) return undefined;
    const meta = (parsed as Record<string, unknown>)[action];
    const m = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : {};
    const item: BulkItem = {
      action,
      index: typeof m._index === 'string' ? m._index : undefined,
      id: typeof m._id === 'string' || typeof m._id === 'number' ? String(m._id) : undefined,
      lines: [actionLine],
    };
    // delete is the only action without a source line.
    if (action !== 'delete') {
      const source = lines[++i];
      if (source === undefined) return undefined;
      item.lines.push(source);
    }
    items.push(item);
  }
  return items;
}

/** The body as sent, uncompressed; undefined when it cannot be decoded. */
export function decodeBody(body: Buffer, encoding: string | undefined): Buffer | undefined {
  if (!encoding || encoding === 'identity') return body;
  try {
    if (encoding === 'gzip') return gunzipSync(body);
    if (encoding === 'deflate') return inflateSync(body);
  } catch {
    return undefined;
  }
  return undefined;
}

export function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}
