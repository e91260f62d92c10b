import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { optionFields } from '../../consumers/index.ts';
import { Progress, table, type CommandIO } from '../io.ts';
import { operatorCommand } from '../ops/command.ts';
import { cloudWatchLogsEndpoint, CloudWatchLogsEndpointSchema } from '../ops/clients.ts';
import { cloudWatchLogsClients, DEFAULT_RETRY } from '../ops/cwl.ts';
import { onboard, type OnboardOptions, type OnboardResult } from '../ops/onboard.ts';
import { accountId, connectionSchema, duration, jsonOption, list } from '../ops/options.ts';
import { useProfile } from '../io.ts';
import { recordLogGroupSources } from '../ops/source-map.ts';
import type { LogGroupSource, LogGroupSources } from '../../processors/index.ts';

const { bool } = optionFields;

export const regionName = z.string().regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, 'expected an AWS region name such as eu-west-1');
export const roleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'expected an IAM role ARN (arn:aws:iam::<account>:role/<name>)');

const OnboardOwnSchema = z.object({
  ...jsonOption,
  regions: list(regionName).meta({ description: 'regions to onboard, comma-separated (default: --region)', arg: 'list' }),
  prefix: list(z.string().min(1)).meta({ description: 'log group name prefixes, comma-separated (e.g. /aws/vpc/,aws-cloudtrail-logs)', arg: 'list' }),
  pattern: list(z.string().min(1)).meta({ description: 'case-insensitive substrings of log group names, comma-separated', arg: 'list' }),
  exclude: list(z.string().min(1)).meta({ description: 'log groups never to subscribe, comma-separated; * matches any characters', arg: 'list' }),
  destinationArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:logs:(\{region\}|[a-z0-9-]+):\d{12}:destination:[^:]+$/, 'expected arn:aws:logs:{region}:<central account>:destination:<name>')
    .optional()
    .meta({ description: 'the central destination; {region} stands for each region', arg: 'arn' }),
  centralAccount: accountId.optional().meta({ description: 'instead of --destination-arn: the central account id (with --destination-name)', arg: 'id' }),
  destinationName: z.string().min(1).max(512).default('centralog').meta({ description: "the central destination's name in every region", arg: 'name' }),
  filterName: z.string().min(1).max(512).default('centralog').meta({ description: 'the subscription filter name', arg: 'name' }),
  filterPattern: z.string().max(1024).default('').meta({ description: "the filter pattern (default '': every event)", arg: 'pattern' }),
  roleArn: roleArn.optional().meta({ description: "a role of this (sender) account; needed when the destination's policy is organisation-wide", arg: 'arn' }),
  dryRun: bool.default(false).meta({ description: 'print the plan; change nothing' }),
  watch: bool.default(false).meta({ description: 'after the first pass, poll for new log groups and subscribe them too, until Ctrl-C' }),
  watchInterval: z.string().default('60s').pipe(duration).meta({ description: 'with --watch: how often to look for new log groups (default 60s)', arg: 'duration' }),
  source: z
    .enum(['cloudtrail', 'vpcflow', 'guardduty', 'trusted'], { error: 'expected cloudtrail, vpcflow, guardduty or trusted' })
    .optional()
    .meta({ description: 'what the onboarded groups carry; the consumer parses CloudTrail and GuardDuty only from groups mapped so (see --sources-file)', arg: 'source' }),
  sourcesFile: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "with --source: record each subscribed group's source in this JSON file (a bare map, or the consumer's config file) for CENTRALOG_LOG_GROUP_SOURCES", arg: 'file' }),
});
const OnboardConnection = connectionSchema([]).extend(CloudWatchLogsEndpointSchema.shape);
const OnboardOptionsSchema = OnboardOwnSchema.extend(OnboardConnection.shape)
  .refine((o) => (o.prefix?.length ?? 0) + (o.pattern?.length ?? 0) > 0, { message: 'give --prefix or --pattern: which log groups to onboard', path: ['prefix'] })
  .refine((o) => o.destinationArn || o.centralAccount, { message: 'give --destination-arn or --central-account', path: ['destinationArn'] })
  .refine((o) => !o.sourcesFile || o.source, { message: 'give --source: what the groups recorded in --sources-file carry', path: ['source'] });

const RECORDED = new Set(['subscribed', 'updated', 'already subscribed']);

/** What the consumer must be told about the groups now subscribed: printed, and recorded when asked. */
function reportSources(io: CommandIO, o: { source?: LogGroupSource; sourcesFile?: string; dryRun: boolean; json: boolean }, results: OnboardResult[]): void {
  if (!o.source || o.dryRun) return;
  const entries: LogGroupSources = Object.fromEntries(results.filter((r) => r.logGroup && RECORDED.has(r.outcome)).map((r) => [r.logGroup, o.source!]));
  if (Object.keys(entries).length === 0) return;
  if (o.sourcesFile) {
    const { written, changed } = recordLogGroupSources(o.sourcesFile, entries);
    for (const c of changed) io.err(`onboard: ${c.logGroup} was recorded as ${c.was}, now ${c.now}`);
    io.err(`onboard: ${written} log group(s) recorded as ${o.source} in ${o.sourcesFile}`);
  } else if (!o.json) {
    io.out(`  tell the central consumer (CENTRALOG_LOG_GROUP_SOURCES, merged with what it has): ${JSON.stringify(entries)}`);
  }
}

const ORDER = ['subscribed', 'updated', 'would subscribe', 'would update', 'already subscribed', 'skipped', 'failed'];

export function printOnboard(io: CommandIO, results: OnboardResult[]): void {
  const sorted = [...results].sort((a, b) => ORDER.indexOf(a.outcome) - ORDER.indexOf(b.outcome) || a.region.localeCompare(b.region) || a.logGroup.localeCompare(b.logGroup));
  io.out('');
  if (sorted.length === 0) io.out('  no log group matched');
  else for (const line of table([['region', 'log group', 'result', 'reason'], ...sorted.map((r) => [r.region, r.logGroup || '(whole region)', r.outcome, r.reason ?? ''])])) io.out(`  ${line}`);
  const counts = ORDER.map((o) => [o, results.filter((r) => r.outcome === o).length] as const).filter(([, n]) => n > 0);
  io.out('');
  io.out(`  ${counts.map(([o, n]) => `${o} ${n}`).join(', ') || 'nothing to do'}`);
}

/** `centralog onboard`: subscribe a member account's log groups to the central destination. */
export function onboardCommand(): Command {
  return operatorCommand({
    name: 'onboard',
    description:
      "Run in a member account: find log groups by name prefix or pattern in the given regions and attach a subscription filter to the central destination of each region. " +
      'Idempotent: an identical filter is left alone, our own filter is updated in place; a log group already at its limit of 2 filters is reported and never has another filter removed; ' +
      "centralog's own log groups are never subscribed. Ends with a table: subscribed, already subscribed, skipped and failed, with reasons; exit code 1 if any failed.",
    own: OnboardOwnSchema,
    connection: OnboardConnection,
    schema: OnboardOptionsSchema,
    notes: 'Throttled calls are retried with back-off; a region that cannot be reached is reported and the other regions go on. --watch polls (DescribeLogGroups) every --watch-interval.',
    examples: [
      'centralog onboard --profile member --regions eu-west-1,us-east-1 --prefix /aws/vpc/,aws-cloudtrail-logs --central-account 999988887777 --dry-run',
      'centralog onboard --regions eu-west-1 --prefix aws-cloudtrail-logs --central-account 999988887777 --source cloudtrail --sources-file centralog-sources.json',
      'centralog onboard --regions eu-west-1 --pattern guardduty --destination-arn "arn:aws:logs:{region}:999988887777:destination:centralog" --role-arn arn:aws:iam::111122223333:role/CWLtoCentralog --watch',
    ],
    run: async (o, io, signal) => {
      useProfile(o);
      const regions = o.regions ?? [o.region];
      const options: OnboardOptions = {
        regions,
        prefixes: o.prefix ?? [],
        patterns: o.pattern ?? [],
        exclude: o.exclude ?? [],
        destinationArn: (region) => (o.destinationArn ? o.destinationArn.replace('{region}', region) : `arn:aws:logs:${region}:${o.centralAccount}:destination:${o.destinationName}`),
        filterName: o.filterName,
        filterPattern: o.filterPattern,
        roleArn: o.roleArn,
        dryRun: o.dryRun,
        retry: DEFAULT_RETRY,
        signal,
        onRetry: (region, err) => io.err(`onboard: ${region}: ${err.name}, retrying`),
      };
      const progress = new Progress(io, `onboard${o.dryRun ? ' (dry run)' : ''}: log groups`);
      const clientFor = cloudWatchLogsClients(cloudWatchLogsEndpoint(o));
      const seen = new Set<string>();
      const results = await onboard(clientFor, { ...options, onResult: () => progress.advance(1) }, seen);
      progress.finish();
      if (o.json && !o.watch) io.out(JSON.stringify({ dryRun: o.dryRun, results }));
      else if (!o.json) printOnboard(io, results);
      else for (const r of results) io.out(JSON.stringify(r));
      reportSources(io, o, results);
      if (o.watch) {
        io.err(`onboard --watch: looking for new log groups every ${o.watchInterval / 1000} s (Ctrl-C to stop)`);
        while (!signal.aborted) {
          try {
            await sleep(o.watchInterval, undefined, { signal });
          } catch {
            break;
          }
          const fresh = await onboard(clientFor, { ...options, onResult: (r) => io.out(o.json ? JSON.stringify(r) : `  ${r.region}  ${r.logGroup}  ${r.outcome}${r.reason ? `  ${r.reason}` : ''}`) }, seen).catch((err) => {
            if (signal.aborted) return [];
            throw err;
          });
          results.push(...fresh);
          reportSources(io, o, fresh);
        }
        if (!o.json) printOnboard(io, results);
      }
      return results.some((r) => r.outcome === 'failed') ? 1 : 0;
    },
  });
}
