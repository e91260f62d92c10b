import { Command, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { ConfigError, MissingPrerequisiteError, OpenSearchStartError } from '../local/index.ts';
import { DEMO_DEFAULTS, DemoFailedError, DemoOptionsSchema, runDemo } from './demo.ts';
import { PARSE_DEFAULTS, ParseOptionsSchema, runParse } from './parse.ts';
import { ParseError } from '../processors/index.ts';

function number(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${value}"`);
    return n;
  };
}

/** Ctrl-C or SIGTERM: the work stopped early, after cleaning up. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
}

/** Stops long work cleanly on Ctrl-C or SIGTERM; a second signal exits at once. */
function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${sig}: stopping; every service started here is being shut down...\n`);
    controller.abort(new InterruptedError(`interrupted by ${sig}; everything started was stopped`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

/** Validates parsed flags; a bad value stops with a message naming the flag. */
function validated<T>(schema: z.ZodType<T>, raw: Record<string, unknown>): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const flag = `--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  throw new ConfigError(`${flag}: ${issue.message}`);
}

export function buildProgram(): Command {
  const program = new Command()
    .name('centralog')
    .description(
      'One searchable home for an AWS organisation\'s security logs.\n' +
        'CloudWatch Logs subscriptions -> Kinesis -> Firehose transform -> S3 archive, and a consumer fleet -> OpenSearch (ECS).',
    )
    .showHelpAfterError();

  program
    .command('demo')
    .description(
      'Run the whole pipeline on the embedded local stack (Kinesis, DynamoDB, S3 emulators and a real OpenSearch node): ' +
        'simulated member accounts deliver VPC flow, CloudTrail and GuardDuty events, Firehose archives them to S3, the ' +
        'consumer indexes them; ends with a summary that accounts for every event (exit 0 only if none is missing or duplicated).',
    )
    .addOption(new Option('--duration <seconds>', 'how long to produce events').argParser(number('--duration')).default(DEMO_DEFAULTS.duration))
    .addOption(new Option('--rate <events-per-second>', 'log events produced per second, all accounts together').argParser(number('--rate')).default(DEMO_DEFAULTS.rate))
    .addOption(new Option('--accounts <n>', 'member accounts to simulate').argParser(number('--accounts')).default(DEMO_DEFAULTS.accounts))
    .addOption(new Option('--shards <n>', 'shards of the central Kinesis stream').argParser(number('--shards')).default(DEMO_DEFAULTS.shards))
    .addOption(new Option('--workers <n>', 'consumer workers sharing the shards through the lease table').argParser(number('--workers')).default(DEMO_DEFAULTS.workers))
    .addOption(new Option('--index-prefix <prefix>', 'OpenSearch index prefix').default(DEMO_DEFAULTS.indexPrefix))
    .addOption(new Option('--drain-timeout <seconds>', 'how long to wait for the pipeline to catch up after producing').argParser(number('--drain-timeout')).default(DEMO_DEFAULTS.drainTimeout))
    .option('--keep', 'leave the services up afterwards and print their URLs and example queries', false)
    .option('--json', 'print the summary as one JSON object on the last line of stdout', false)
    .addHelpText(
      'after',
      '\nEnvironment (each one replaces an embedded service):\n' +
        '  CENTRALOG_OPENSEARCH_URL     an OpenSearch URL instead of the local node\n' +
        '  CENTRALOG_KINESIS_ENDPOINT   a Kinesis endpoint URL, or "aws" for real AWS\n' +
        '  CENTRALOG_DYNAMODB_ENDPOINT  a DynamoDB endpoint URL, or "aws"\n' +
        '  CENTRALOG_S3_ENDPOINT        an S3 endpoint URL, or "aws"\n' +
        '  CENTRALOG_REGION             AWS region (default us-east-1)\n',
    )
    .action(async (raw: Record<string, unknown>) => {
      const { ok } = await runDemo(validated(DemoOptionsSchema, raw), {
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
        interactive: process.stderr.isTTY === true,
        signal: interruptSignal(),
      });
      process.exitCode = ok ? 0 : 1;
    });
  program
    .command('parse')
    .description(
      'Parse log events from stdin into the ECS documents centralog indexes: one raw event per line (blank lines ignored), ' +
        'one JSON document per line out, in input order, with _index and _id. Errors go to stderr; the exit code is 1 if any line failed.',
    )
    .addOption(new Option('--source <source>', 'parse every line as this source').choices(['auto', 'vpcflow', 'cloudtrail', 'guardduty']).default(PARSE_DEFAULTS.source))
    .option('--vpc-format <format>', 'custom VPC flow log format, e.g. "${version} ${account-id} ${interface-id} ..." (a header line in the input works too)')
    .option('--account <id>', 'account that owns the log group (CWL envelope owner)', PARSE_DEFAULTS.account)
    .option('--log-group <name>', 'log group the events came from', PARSE_DEFAULTS.logGroup)
    .option('--log-stream <name>', 'log stream the events came from', PARSE_DEFAULTS.logStream)
    .option('--index-prefix <prefix>', 'OpenSearch index prefix', PARSE_DEFAULTS.indexPrefix)
    .option('--envelope', 'read whole CloudWatch Logs subscription envelopes (JSON, optionally gzip) instead of raw events', false)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        "  echo '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK' | centralog parse\n" +
        '  centralog parse --source cloudtrail < events.ndjson\n' +
        '  centralog parse --envelope < subscription-payload.json\n',
    )
    .action(async (raw: Record<string, unknown>) => {
      const options = validated(ParseOptionsSchema, raw);
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      let out = '';
      const errors = runParse(Buffer.concat(chunks), options, {
        out: (line) => {
          out += `${line}\n`;
          if (out.length > 1 << 16) {
            process.stdout.write(out);
            out = '';
          }
        },
        err: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(out);
      process.exitCode = errors > 0 ? 1 : 0;
    });

  return program;
}

const KNOWN_ERRORS = [ConfigError, MissingPrerequisiteError, OpenSearchStartError, DemoFailedError, InterruptedError, ParseError];

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const e = err as Error;
    const known = KNOWN_ERRORS.some((k) => e instanceof k);
    process.stderr.write(`centralog: ${known ? e.message : (e.stack ?? String(e))}\n`);
    process.exitCode = e instanceof InterruptedError ? 130 : 1;
  }
}
