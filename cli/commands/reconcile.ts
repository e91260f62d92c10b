import type { Command } from 'commander';
import { DocumentRulesSchema, MAX_EVENT_BYTES, optionFields } from '../../consumers/index.ts';
import { BulkSink, DeadLetterSink } from '../../consumers/sinks/index.ts';
import { Progress, table, type CommandIO } from '../io.ts';
import { HOUR_MS, hourLabel } from '../ops/archive.ts';
import { operatorClients } from '../ops/clients.ts';
import { operatorCommand } from '../ops/command.ts';
import { connectionSchema, jsonOption } from '../ops/options.ts';
import { missingBuckets, reconcile, type ReconcileReport } from '../ops/reconcile.ts';
import { replayArchive } from '../ops/replay.ts';
import { ArchiveSelectionSchema, fmt, printReplaySummary } from './replay.ts';

const { bool } = optionFields;

const ReconcileOwnSchema = ArchiveSelectionSchema.extend({
  ...jsonOption,
  repair: bool.default(false).meta({ description: 'replay exactly the account/log group/hours with missing events, then count them again' }),
  all: bool.default(false).meta({ description: 'list every account/log group/hour, not only those that differ' }),
});
// With the consumer's rules (its CENTRALOG_* variables), events come back with the ids, sources and indices it gave them.
const ReconcileConnection = connectionSchema(['s3Endpoint', 'opensearchUrl', 'opensearchAuth', 'indexPrefix', 'archiveBucket', 'deadLetterBucket', 'deadLetterPrefix']).extend(DocumentRulesSchema.shape);
const ReconcileOptionsSchema = ReconcileOwnSchema.extend(ReconcileConnection.shape).refine((o) => o.from < o.to, { message: 'expected --from before --to', path: ['from'] });

function printReport(io: CommandIO, report: ReconcileReport, all: boolean): void {
  const shown = report.rows.filter((r) => all || r.missing > 0 || r.deadLettered > 0);
  const t = report.totals;
  io.out('');
  io.out(`  ${report.from} .. ${report.to}: ${fmt(report.rows.length)} account/log group/hours, ${fmt(report.archiveObjects)} archive objects, ${report.seconds.toFixed(1)} s`);
  if (shown.length > 0) {
    io.out('');
    const rows = [['account', 'log group', 'hour (UTC)', 'archived', 'indexed', 'dead-lettered', 'missing']];
    for (const r of shown) rows.push([r.account, r.logGroup, hourLabel(Date.parse(r.hour)), fmt(r.archived), fmt(r.indexed), fmt(r.deadLettered), fmt(r.missing)]);
    for (const line of table(rows)) io.out(`  ${line}`);
    for (const r of shown.filter((x) => x.missing > 0).slice(0, 5)) io.out(`  missing in ${r.account} ${r.logGroup} ${hourLabel(Date.parse(r.hour))}: event ids ${r.missingEventIds.slice(0, 3).join(', ')}`);
    for (const r of shown.filter((x) => x.deadLetterReasons.length > 0).slice(0, 5)) io.out(`  dead letters of ${r.account} ${r.logGroup}: ${r.deadLetterReasons.slice(0, 3).join('; ')}`);
  }
  io.out('');
  io.out(`  total  archived ${fmt(t.archived)}  indexed ${fmt(t.indexed)}  dead-lettered ${fmt(t.deadLettered)}  missing ${fmt(t.missing)}`);
  if (report.undecodableDeadLetters > 0) io.out(`  and ${fmt(report.undecodableDeadLetters)} dead-lettered record(s) that could not be decoded (no account or log group to count them under)`);
  io.out(t.missing === 0 ? '  every archived event is in OpenSearch or the dead letters' : `  ${fmt(t.missing)} archived event(s) are neither in OpenSearch nor dead-lettered${report.rows.some((r) => r.missing > 0) ? '; --repair replays their hours' : ''}`);
}

/** `centralog reconcile`: proves, per account, log group and hour, that every archived event reached OpenSearch or the dead letters. */
export function reconcileCommand(): Command {
  return operatorCommand({
    name: 'reconcile',
    description:
      'For a time range, count events per account, log group and hour in the S3 archive, in OpenSearch and in the dead letters, and print the differences. ' +
      'An event counts as indexed when OpenSearch holds the document the pipeline gives it (same id). ' +
      '--repair replays exactly the hours with missing events and counts them again. Exit code 1 while events are missing.',
    own: ReconcileOwnSchema,
    connection: ReconcileConnection,
    schema: ReconcileOptionsSchema,
    notes: 'Hours are those of the CloudWatch Logs event time. Events of the last minutes may still be on their way: end the range a few minutes ago.',
    examples: ['centralog reconcile --from 24h --to 10m', 'centralog reconcile --from 2026-05-01 --to 2026-05-02 --account 111122223333 --repair --json'],
    run: async (o, io, signal) => {
      const clients = operatorClients(o);
      const s3 = clients.s3();
      const opensearch = clients.opensearch();
      const filter = { from: o.from, to: o.to, sources: o.source, accounts: o.account, logGroups: o.logGroup };
      const deps = { s3, opensearch, archiveBucket: o.archiveBucket, deadLetterBucket: o.deadLetterBucket, deadLetterPrefix: o.deadLetterPrefix };
      const bars = new Map<string, { bar: Progress; done: number }>();
      const onStep = (label: string, done: number, total: number) => {
        let step = bars.get(label);
        if (!step) bars.set(label, (step = { bar: new Progress(io, `reconcile: ${label}`, total), done: 0 }));
        step.bar.advance(done - step.done);
        step.done = done;
        if (done === total) step.bar.finish();
      };
      io.err(`reconcile: ${o.from.toISOString()} .. ${o.to.toISOString()}: s3://${o.archiveBucket}, ${o.opensearchUrl} (${o.indexPrefix}-aws.*), s3://${o.deadLetterBucket}/${o.deadLetterPrefix}`);
      const report = await reconcile(deps, { filter, indexPrefix: o.indexPrefix, rules: o, signal, onStep });
      let after: ReconcileReport | undefined;
      let repair: Awaited<ReturnType<typeof replayArchive>> | undefined;
      const buckets = missingBuckets(report);
      if (!o.json) printReport(io, report, o.all);
      if (o.repair && buckets.size > 0) {
        io.err(`reconcile --repair: replaying ${buckets.size} account/log group/hour(s)`);
        const progress = new Progress(io, 'repair: archive objects');
        // Only the accounts and hours to repair are listed and read.
        const rows = report.rows.filter((r) => r.missing > 0);
        const hours = rows.map((r) => Date.parse(r.hour));
        const narrow = {
          ...filter,
          accounts: [...new Set(rows.map((r) => r.account))],
          from: new Date(Math.max(filter.from.getTime(), Math.min(...hours))),
          to: new Date(Math.min(filter.to.getTime(), Math.max(...hours) + HOUR_MS)),
        };
        repair = await replayArchive(
          { s3, archiveBucket: o.archiveBucket, bulk: new BulkSink(opensearch), deadLetters: new DeadLetterSink(s3, o.deadLetterBucket, o.deadLetterPrefix) },
          { filter: narrow, buckets, indexPrefix: o.indexPrefix, rules: o, maxEventBytes: MAX_EVENT_BYTES, signal, onObject: () => progress.advance(1) },
        );
        progress.finish();
        bars.clear();
        after = await reconcile(deps, { filter: narrow, buckets, indexPrefix: o.indexPrefix, rules: o, signal, onStep });
        if (!o.json) {
          printReplaySummary(io, repair);
          io.out('');
          io.out('  after the repair:');
          printReport(io, after, true);
        }
      } else if (o.repair && !o.json) {
        io.out('  nothing to repair');
      }
      if (o.json) io.out(JSON.stringify({ ...report, repair, after }));
      return (after ?? report).totals.missing > 0 ? 1 : 0;
    },
  });
}
