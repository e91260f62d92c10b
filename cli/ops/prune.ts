import type { Client } from '@opensearch-project/opensearch';

export interface DailyIndex {
  index: string;
  family: string;
  /** The index's day (UTC), YYYY-MM-DD. */
  day: string;
  docs: number;
  bytes: number;
}

const DAY_MS = 86_400_000;

/** Only centralog's own daily source indices: `<prefix>-aws.<family>-YYYY.MM.DD`, nothing else. */
function dailyIndexPattern(indexPrefix: string): RegExp {
  const escaped = indexPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped}-aws\\.([a-z0-9_]+)-(\\d{4})\\.(\\d\\d)\\.(\\d\\d)$`);
}

/**
 * The daily indices whose whole day ended more than `olderThanMs` before `now`, oldest
 * first. Alerts indices and anything not named like a daily source index are never listed.
 */
export async function indicesToPrune(client: Client, indexPrefix: string, olderThanMs: number, now = Date.now()): Promise<DailyIndex[]> {
  const res = await client.cat.indices({ index: `${indexPrefix}-aws.*`, format: 'json', h: 'index,docs.count,store.size', bytes: 'b', expand_wildcards: 'open,closed' } as never);
  const rows = res.body as unknown as Array<{ index: string; 'docs.count'?: string; 'store.size'?: string }>;
  const pattern = dailyIndexPattern(indexPrefix);
  const cutoff = now - olderThanMs;
  const old: DailyIndex[] = [];
  for (const r of rows) {
    const m = pattern.exec(r.index);
    if (!m) continue;
    const dayStart = Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4]));
    if (Number.isNaN(dayStart) || dayStart + DAY_MS > cutoff) continue;
    old.push({ index: r.index, family: `aws.${m[1]}`, day: `${m[2]}-${m[3]}-${m[4]}`, docs: Number(r['docs.count'] ?? 0), bytes: Number(r['store.size'] ?? 0) });
  }
  return old.sort((a, b) => a.day.localeCompare(b.day) || a.index.localeCompare(b.index));
}

/** Deletes whole indices, a few names per request (request lines stay short). */
export async function deleteIndices(client: Client, indices: string[], onBatch?: (n: number) => void, signal?: AbortSignal): Promise<void> {
  for (let i = 0; i < indices.length; i += 20) {
    signal?.throwIfAborted();
    const batch = indices.slice(i, i + 20);
    await client.indices.delete({ index: batch.join(','), ignore_unavailable: true } as never);
    onBatch?.(batch.length);
  }
}
