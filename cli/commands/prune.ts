import type { Command } from 'commander';
import { z } from 'zod';
import { optionFields } from '../../consumers/index.ts';
import { Progress, table } from '../io.ts';
import { operatorClients } from '../ops/clients.ts';
import { operatorCommand } from '../ops/command.ts';
import { connectionSchema, duration, jsonOption } from '../ops/options.ts';
import { deleteIndices, indicesToPrune } from '../ops/prune.ts';
import { fmt } from './replay.ts';

const { bool } = optionFields;

const PruneOwnSchema = z.object({
  ...jsonOption,
  olderThan: z
    .string({ error: 'required: how old an index must be to go, e.g. --older-than 30d' })
    .pipe(duration)
    .meta({ description: 'delete daily indices whose whole day is older than this (required), e.g. 30d, 12w', arg: 'age' }),
  dryRun: bool.default(false).meta({ description: 'only list what would be deleted' }),
});
const PruneConnection = connectionSchema(['opensearchUrl', 'opensearchAuth', 'indexPrefix']);
const PruneOptionsSchema = PruneOwnSchema.extend(PruneConnection.shape);

function size(bytes: number): string {
  return bytes >= 1 << 30 ? `${(bytes / (1 << 30)).toFixed(1)} GiB` : bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}

/** `centralog prune`: retention where the cluster has no ISM. */
export function pruneCommand(): Command {
  return operatorCommand({
    name: 'prune',
    description:
      "Delete centralog's daily source indices (<prefix>-aws.<family>-YYYY.MM.DD) whose whole day is older than --older-than: retention for clusters without " +
      'Index State Management (the local node), run from cron or a scheduled task. Alerts indices and any other index are never touched. The S3 archive keeps every event: ' +
      '`centralog replay` brings a pruned day back.',
    own: PruneOwnSchema,
    connection: PruneConnection,
    schema: PruneOptionsSchema,
    examples: ['centralog prune --older-than 30d --dry-run', 'centralog prune --older-than 90d --index-prefix centralog --json'],
    run: async (o, io, signal) => {
      const client = operatorClients(o).opensearch();
      const old = await indicesToPrune(client, o.indexPrefix, o.olderThan);
      const docs = old.reduce((n, i) => n + i.docs, 0);
      const bytes = old.reduce((n, i) => n + i.bytes, 0);
      if (!o.dryRun && old.length > 0) {
        const progress = new Progress(io, 'prune: indices deleted', old.length);
        await deleteIndices(client, old.map((i) => i.index), (n) => progress.advance(n), signal);
        progress.finish();
      }
      if (o.json) {
        io.out(JSON.stringify({ dryRun: o.dryRun, olderThanDays: o.olderThan / 86_400_000, indices: old, documents: docs, bytes }));
        return 0;
      }
      if (old.length === 0) {
        io.out(`  no ${o.indexPrefix}-aws.* daily index is older than ${o.olderThan / 86_400_000} days`);
        return 0;
      }
      for (const line of table([['index', 'day', 'documents', 'size'], ...old.map((i) => [i.index, i.day, fmt(i.docs), size(i.bytes)])])) io.out(`  ${line}`);
      io.out('');
      io.out(`  ${o.dryRun ? 'would delete' : 'deleted'} ${fmt(old.length)} index(es): ${fmt(docs)} documents, ${size(bytes)}${o.dryRun ? ' (dry run: nothing deleted)' : ''}`);
      return 0;
    },
  });
}
