import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../../consumers/index.ts';
import { LogGroupSourcesSchema, type LogGroupSources } from '../../processors/index.ts';

/**
 * Records what onboarded log groups carry in a JSON file the central consumer reads: either
 * a bare map (what CENTRALOG_LOG_GROUP_SOURCES takes) or a consumer config file, whose
 * `logGroupSources` key is updated and every other key kept. Returns the groups whose
 * recorded source changed, so the caller can say so.
 */
export function recordLogGroupSources(file: string, entries: LogGroupSources): { written: number; changed: Array<{ logGroup: string; was: string; now: string }> } {
  let existing: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      existing = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`--sources-file ${file}: not JSON (${(err as Error).message}); nothing written`);
    }
    if (typeof existing !== 'object' || existing === null || Array.isArray(existing)) throw new ConfigError(`--sources-file ${file}: expected a JSON object; nothing written`);
  }
  const isConfig = 'logGroupSources' in existing || 'streamName' in existing;
  const current = (isConfig ? (existing.logGroupSources ?? {}) : existing) as Record<string, unknown>;
  const parsed = LogGroupSourcesSchema.safeParse(current);
  if (!parsed.success) throw new ConfigError(`--sources-file ${file}: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}; nothing written`);
  const map = { ...parsed.data };
  const changed: Array<{ logGroup: string; was: string; now: string }> = [];
  for (const [logGroup, source] of Object.entries(entries)) {
    if (map[logGroup] !== undefined && map[logGroup] !== source) changed.push({ logGroup, was: map[logGroup]!, now: source });
    map[logGroup] = source;
  }
  const sorted = Object.fromEntries(Object.entries(map).sort(([a], [b]) => a.localeCompare(b)));
  const out = isConfig ? { ...existing, logGroupSources: sorted } : sorted;
  // Written whole or not at all: the consumer may read it at any moment.
  writeFileSync(`${file}.tmp`, `${JSON.stringify(out, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return { written: Object.keys(entries).length, changed };
}
