import type { Command } from 'commander';
import { z } from 'zod';
import { DocumentRulesSchema, MAX_EVENT_BYTES, optionFields } from '../../consumers/index.ts';
import { BulkSink, DeadLetterSink } from '../../consumers/sinks/index.ts';
import { Progress, table, type CommandIO } from '../io.ts';
import { operatorClients } from '../ops/clients.ts';
import { operatorCommand } from '../ops/command.ts';
import { accountId, connectionSchema, jsonOption, list, source, time } from '../ops/options.ts';
import { replayArchive, type ReplaySummary } from '../ops/replay.ts';

const { int } = optionFields;
const MiB = 1024 * 1024;

/** What selects archived events: shared by replay and reconcile. */
export const ArchiveSelectionSchema = z.object({
  from: time('required: the start of the time range, e.g. --from 2h or --from 2026-05-01T10:00Z').meta({
    description: 'start of the range (required): ISO time, date, or a duration ago (2h, 7d)',
    arg: 'time',
  }),
  to: time().prefault('now').meta({ description: 'end of the range, exclusive (default now)', arg: 'time' }),
  source: list(source).meta({ description: 'only these sources, comma-separated: vpcflow, cloudtrail, guardduty, cloudwatch_logs', arg: 'list' }),
  account: list(accountId).meta({ description: 'only these member accounts, comma-separated', arg: 'list' }),
  logGroup: list(z.string().min(1)).meta({ description: 'only these log groups, comma-separated; * matches any characters', arg: 'list' }),
});

const ReplayOwnSchema = ArchiveSelectionSchema.extend({
  ...jsonOption,
  concurrency: int(1, 32).default(4).meta({ description: 'archive objects processed at once', arg: 'n' }),
  batchBytes: int(64 * 1024, 10 * MiB).default(5 * MiB).meta({ description: 'NDJSON bytes per _bulk request (max 10 MiB)', arg: 'bytes' }),
  maxEventBytes: int(1024, 16 * MiB).default(MAX_EVENT_BYTES).meta({ description: "events with a larger message are dead-lettered, as the consumer does", arg: 'bytes' }),
});
// With the consumer's rules (its CENTRALOG_* variables), events come back with the ids, sources and indices it gave them.
const ReplayConnection = connectionSchema(['s3Endpoint', 'opensearchUrl', 'opensearchAuth', 'indexPrefix', 'archiveBucket', 'deadLetterBucket', 'deadLetterPrefix']).extend(DocumentRulesSchema.shape);
const ReplayOptionsSchema = ReplayOwnSchema.extend(ReplayConnection.shape).refine((o) => o.from < o.to, { message: 'expected --from before --to', path: ['from'] });

export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function printReplaySummary(io: CommandIO, s: ReplaySummary): void {
  io.out('');
  for (const line of table([
    ['archive objects', 'events', 'created', 'already present', 'dead-lettered', 'events/s'],
    [fmt(s.objects), fmt(s.events), fmt(s.created), fmt(s.alreadyPresent), fmt(s.deadLettered), fmt(s.eventsPerSecond)],
  ]))
    io.out(`  ${line}`);
}

/** `centralog replay`: the S3 archive back through the processors into OpenSearch. */
export function replayCommand(): Command {
  return operatorCommand({
    name: 'replay',
    description:
      'Replay archived events from S3 through the processors into OpenSearch, for a time range and optional source, account and log group filters. ' +
      "Idempotent: documents keep the pipeline's ids, so events already indexed count as already present and are never duplicated; " +
      'what OpenSearch refuses goes to the dead letters, as in the pipeline.',
    own: ReplayOwnSchema,
    connection: ReplayConnection,
    schema: ReplayOptionsSchema,
    notes:
      'The range applies to the CloudWatch Logs event time; --source picks archive partitions (source=aws.<source>/...).',
    examples: [
      'centralog replay --from 2026-05-01T10:00Z --to 2026-05-01T12:00Z --archive-bucket my-archive --dead-letter-bucket my-dead-letters --opensearch-url https://search-logs.eu-west-1.es.amazonaws.com',
      'centralog replay --from 6h --source cloudtrail --account 111122223333 --log-group "aws-cloudtrail-logs-*"   # with CENTRALOG_* set',
    ],
    run: async (o, io, signal) => {
      const clients = operatorClients(o);
      const s3 = clients.s3();
      let progress: Progress | undefined;
      let events = 0;
      let created = 0;
      io.err(`replay: ${o.from.toISOString()} .. ${o.to.toISOString()} from s3://${o.archiveBucket} into ${o.opensearchUrl} (${o.indexPrefix}-*)`);
      const summary = await replayArchive(
        { s3, archiveBucket: o.archiveBucket, bulk: new BulkSink(clients.opensearch(), { maxRequestBytes: o.batchBytes }), deadLetters: new DeadLetterSink(s3, o.deadLetterBucket, o.deadLetterPrefix) },
        {
          filter: { from: o.from, to: o.to, sources: o.source, accounts: o.account, logGroups: o.logGroup },
          indexPrefix: o.indexPrefix,
          rules: o,
          maxEventBytes: o.maxEventBytes,
          batchBytes: o.batchBytes,
          concurrency: o.concurrency,
          signal,
          onPlan: (objects) => (progress = new Progress(io, 'replay: archive objects', objects.length)),
          onObject: (_, c) => {
            events += c.events;
            created += c.created;
            progress?.advance(1, `${fmt(events)} events, ${fmt(created)} created`);
          },
        },
      );
      progress?.finish(`${fmt(summary.events)} events in ${summary.seconds.toFixed(1)} s`);
      if (o.json) io.out(JSON.stringify({ ...summary, seconds: Math.round(summary.seconds * 1000) / 1000, eventsPerSecond: Math.round(summary.eventsPerSecond) }));
      else printReplaySummary(io, summary);
      return 0;
    },
  });
}
