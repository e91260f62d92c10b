import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Command } from 'commander';
import { z } from 'zod';
import { DocumentRulesSchema, optionFields } from '../../consumers/index.ts';
import { Progress, table, type CommandIO } from '../io.ts';
import { backfillObjectIngest, BackfillStateFile, defaultStateFile, runBackfill, type BackfillSummary } from '../ops/backfill.ts';
import { cloudWatchLogsEndpoint, CloudWatchLogsEndpointSchema, operatorClients } from '../ops/clients.ts';
import { operatorCommand } from '../ops/command.ts';
import { cloudWatchLogsClients } from '../ops/cwl.ts';
import { accountId, connectionSchema, jsonOption, list, time } from '../ops/options.ts';
import { fmt } from './replay.ts';

const { int } = optionFields;
const MiB = 1024 * 1024;
/** A time option that keeps its text: a re-run of `--from 30d` must find the state of the first run. */
const timeAsGiven = (required: string) => z.string({ error: required }).pipe(z.string().transform((text, ctx) => {
  const date = time().safeParse(text);
  if (!date.success) {
    ctx.addIssue({ code: 'custom', message: date.error.issues[0]!.message });
    return z.NEVER;
  }
  return { text, date: date.data };
}));
const logGroupName = z.string().regex(/^[.\-_/#A-Za-z0-9]{1,512}$/, 'expected log group names (letters, digits and . - _ / #)');

const BackfillOwnSchema = z.object({
  logGroup: list(logGroupName).meta({ description: 'log groups to backfill, comma-separated (or --log-group-prefix)', arg: 'names' }),
  logGroupPrefix: logGroupName.optional().meta({ description: 'backfill every log group whose name starts with this (DescribeLogGroups)', arg: 'prefix' }),
  from: timeAsGiven('required: the start of the range, e.g. --from 2026-04-01').meta({ description: 'start of the range (required): ISO time, date, or a duration ago (30d)', arg: 'time' }),
  to: timeAsGiven('required: the end of the range; choose the time the subscription started, e.g. --to 2026-05-01T10:00Z').meta({
    description: 'end of the range (required): best the time the log group\'s subscription started (see below)',
    arg: 'time',
  }),
  bucket: z
    .string({ error: 'required: the S3 bucket export tasks write to (same region; its policy must allow logs.amazonaws.com)' })
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name')
    .meta({ description: 'S3 bucket the export tasks write to (required; in the log groups\' region)', arg: 'bucket' }),
  prefix: z
    .string()
    .default('exports')
    .transform((p) => p.replace(/\/+$/, ''))
    .meta({ description: 'key prefix of the export objects (<prefix>/<task id>/<log stream>/000000.gz)', arg: 'prefix' }),
  stateFile: z.string().min(1).optional().meta({ description: 'resume record (default .centralog-backfill-<hash of the arguments>.json in the current folder)', arg: 'file' }),
  account: accountId.optional().meta({ description: "the log groups' account, stamped as the events' owner (default: the caller's, from STS)", arg: 'id' }),
  pollSeconds: int(1, 600).default(10).meta({ description: 'seconds between DescribeExportTasks polls', arg: 's' }),
  batchBytes: int(64 * 1024, 10 * MiB).default(5 * MiB).meta({ description: 'NDJSON bytes per _bulk request (max 10 MiB)', arg: 'bytes' }),
  ...jsonOption,
});
// With the consumer's rules (CENTRALOG_LOG_GROUP_SOURCES...), a mapped CloudTrail group's exported events index as CloudTrail.
const BackfillConnection = connectionSchema(['s3Endpoint', 'opensearchUrl', 'opensearchAuth', 'indexPrefix', 'deadLetterBucket', 'deadLetterPrefix'])
  .extend(CloudWatchLogsEndpointSchema.shape)
  .extend(DocumentRulesSchema.shape);
const BackfillOptionsSchema = BackfillOwnSchema.extend(BackfillConnection.shape)
  .refine((o) => (o.logGroup?.length ? 1 : 0) + (o.logGroupPrefix ? 1 : 0) === 1, { message: 'expected either --log-group or --log-group-prefix (one of them)', path: ['logGroup'] })
  .refine((o) => o.from.date < o.to.date, { message: 'expected --from before --to', path: ['from'] });

function printSummary(io: CommandIO, s: BackfillSummary): void {
  io.out('');
  for (const line of table([
    ['log group', 'task', 'status', 'objects', 'events', 'created', 'already present', 'dead-lettered'],
    ...s.logGroups.map((g) => [g.logGroup, g.taskId ?? '-', g.status, fmt(g.objects), fmt(g.events), fmt(g.created), fmt(g.duplicates), fmt(g.deadLettered)]),
  ]))
    io.out(`  ${line}`);
  for (const g of s.logGroups) if (g.reason) io.out(`  ${g.logGroup}: ${g.reason}`);
}

/** `centralog backfill`: CloudWatch Logs history through export tasks and the S3 path into OpenSearch. */
export function backfillCommand(): Command {
  return operatorCommand({
    name: 'backfill',
    description:
      'Backfill CloudWatch Logs history: for each log group, an export task writes the range to S3 (one task at a time per account, ' +
      'as CloudWatch Logs allows; the command waits while another runs), then the exported objects are indexed through the S3 path ' +
      '(same parsers, sources by the log group map, dead letters). Resumable: progress is recorded in a state file after every step, ' +
      'so running the same command again waits on the task already started and skips objects already indexed.',
    own: BackfillOwnSchema,
    connection: BackfillConnection,
    schema: BackfillOptionsSchema,
    notes:
      'Overlap with the live stream: an export drops CloudWatch Logs\' event ids, so exported events get ids from their owner, log group,\n' +
      'stream, time, message and rank among identical events. A second backfill of the same range finds them already present, but they\n' +
      'never match the ids the subscription gave the same events, CloudTrail included (only GuardDuty findings of a mapped group match,\n' +
      'keyed by finding id and updatedAt on every path). Events both in the range and in the live stream are indexed twice: end --to\n' +
      'when the subscription was created, or accept duplicates for the overlap. Index days are the events\' own, as for replay.\n' +
      'The bucket must be in the log groups\' region and let logs.amazonaws.com call s3:GetBucketAcl and s3:PutObject.\n' +
      'A relative range (--from 30d) is resolved on the first run and kept in the state file: a re-run continues the same range.',
    examples: [
      'centralog backfill --log-group aws-cloudtrail-logs-111122223333 --from 2026-02-01 --to 2026-05-01T10:00Z --bucket my-exports --opensearch-url https://search-logs.eu-west-1.es.amazonaws.com --dead-letter-bucket my-dead-letters',
      'centralog backfill --log-group-prefix /vpc/flow --from 30d --to 2026-05-01T10:00Z --bucket my-exports --json   # with CENTRALOG_* set',
    ],
    run: async (o, io, signal) => {
      const clients = operatorClients(o);
      const s3 = clients.s3();
      const plan = { logGroups: o.logGroup, logGroupPrefix: o.logGroupPrefix, from: o.from.date, to: o.to.date, fromText: o.from.text, toText: o.to.text, bucket: o.bucket, prefix: o.prefix };
      const state = new BackfillStateFile(o.stateFile ?? defaultStateFile(plan));
      const objects = backfillObjectIngest(s3, clients.opensearch(), { rules: o, indexPrefix: o.indexPrefix, batchBytes: o.batchBytes, deadLetterBucket: o.deadLetterBucket, deadLetterPrefix: o.deadLetterPrefix });
      const progress = new Map<string, Progress>();
      io.err(`backfill: ${o.from.text} .. ${o.to.text} via s3://${o.bucket}/${o.prefix}/ into ${o.opensearchUrl} (${o.indexPrefix}-*); state in ${state.path}`);
      const resumeHint = () => io.err(`backfill: progress is recorded in ${state.path}; run the same command again to continue`);
      const summary = await runBackfill(
        {
          logs: cloudWatchLogsClients(cloudWatchLogsEndpoint(o))(o.region),
          s3,
          ingest: (object, origin, sig) => objects.ingestExport(object, origin, sig),
          owner: async () => o.account ?? (await new STSClient({ region: o.region }).send(new GetCallerIdentityCommand({}))).Account!,
        },
        {
          plan,
          state,
          pollMs: o.pollSeconds * 1000,
          limitWaitMs: o.pollSeconds * 1000,
          maxWaitMs: 5 * 60_000,
          signal,
          onStage: (group, stage) => io.err(`backfill ${group}: ${stage}`),
          onObjects: (group, total, done) => {
            const p = new Progress(io, `backfill ${group}: objects`, total);
            if (done > 0) p.advance(done, 'already indexed');
            progress.set(group, p);
          },
          onObject: (group, _key, c) => progress.get(group)?.advance(1, `${fmt(c.events)} events, ${fmt(c.created)} created`),
        },
      ).catch((err: unknown) => {
        resumeHint();
        // An interrupted wait rejects with the abort; the reason says it was Ctrl-C or SIGTERM.
        throw signal.aborted ? signal.reason : err;
      });
      for (const p of progress.values()) p.finish();
      if (o.json) io.out(JSON.stringify(summary));
      else printSummary(io, summary);
      return summary.failed > 0 ? 1 : 0;
    },
  });
}
