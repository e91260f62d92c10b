import { Command, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { ConfigError, MissingPrerequisiteError, OpenSearchStartError } from '../local/index.ts';
import { envName, resolveConsumeConfig, runConsume } from './consume.ts';
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
    process.stderr.write(`\n${sig}: stopping cleanly (a second signal exits at once)...\n`);
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
    .option('--verbose', 'also log lease, shard and worker events (JSON lines on stderr)', false)
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
  const consume = program
    .command('consume')
    .description(
      'Run one consumer worker: it shares the stream\'s shards with every other worker using the same lease table ' +
        '(DynamoDB, KCL-compatible), turns records into ECS documents, indexes them into OpenSearch exactly once and ' +
        'dead-letters what OpenSearch refuses to S3. Serves /metrics (Prometheus) and /healthz; logs JSON lines to stdout. ' +
        'SIGTERM/Ctrl-C: batches in flight finish and checkpoint, leases are released for other workers.',
    )
    .option('--config <file>', 'JSON file with any of the keys below (camelCase); environment and flags override it');
  const consumeFlags: Array<[string, string]> = [
    ['--stream-name <name>', 'Kinesis stream to read (required)'],
    ['--lease-table <name>', 'DynamoDB lease table, created if missing (default centralog-leases)'],
    ['--dead-letter-bucket <bucket>', 'S3 bucket for dead letters (required)'],
    ['--dead-letter-prefix <prefix>', 'key prefix for dead letters (default dead-letters/)'],
    ['--opensearch-url <url>', 'OpenSearch endpoint (required)'],
    ['--opensearch-auth <mode>', 'auto | none | sigv4; auto signs requests to *.es.amazonaws.com and *.aoss.amazonaws.com (default auto)'],
    ['--region <region>', 'AWS region (default us-east-1)'],
    ['--kinesis-endpoint <url>', "Kinesis endpoint URL, or 'aws' (default: real AWS)"],
    ['--dynamodb-endpoint <url>', "DynamoDB endpoint URL, or 'aws'"],
    ['--s3-endpoint <url>', "S3 endpoint URL, or 'aws'"],
    ['--worker-id <id>', 'this worker\'s name in the lease table (default host-pid-random)'],
    ['--index-prefix <prefix>', 'OpenSearch index prefix (default centralog)'],
    ['--install-templates <bool>', 'install the index templates at start (default true)'],
    ['--failover-time-ms <ms>', 'a lease not renewed for this long is taken over (default 10000)'],
    ['--max-leases-for-worker <n>', 'never hold more leases than this (default unlimited)'],
    ['--max-in-flight-batches <n>', 'batches held in memory and concurrent _bulk requests (default 4)'],
    ['--batch-bytes <bytes>', 'NDJSON bytes per _bulk request and checkpoint (default 5 MiB, max 10 MiB)'],
    ['--max-records-per-read <n>', 'GetRecords limit (default 10000)'],
    ['--max-event-bytes <bytes>', 'events with a larger message are dead-lettered (default 262144, the CloudWatch Logs limit; CloudWatch accepts up to 1 MiB since 2025)'],
    ['--idle-backoff-ms <ms>', 'wait after an empty GetRecords (default 1000)'],
    ['--shard-sync-interval-ms <ms>', 'how often to look for new shards (default 60000; also at every shard end)'],
    ['--shutdown-timeout-ms <ms>', 'on stop, how long batches in flight get to finish (default 20000)'],
    ['--status-host <host>', 'address for /metrics and /healthz (default 127.0.0.1; 0.0.0.0 in a container)'],
    ['--status-port <port>', 'port for /metrics and /healthz (default 9464; 0 = any free port)'],
    ['--log-level <level>', 'debug | info | warn | error (default info)'],
  ];
  for (const [flags, help] of consumeFlags) consume.option(flags, help);
  consume
    .addHelpText(
      'after',
      '\nEvery flag can also be set as an environment variable, e.g. --stream-name as ' +
        `${envName('streamName')}, --failover-time-ms as ${envName('failoverTimeMs')}; ` +
        'the config file can also hold vpcFlowFormats: {"<log group>": "${version} ${account-id} ..."}.\n' +
        '\nExample:\n' +
        '  centralog consume --stream-name central-logs --dead-letter-bucket my-dead-letters \\\n' +
        '    --opensearch-url https://search-logs-abc.eu-west-1.es.amazonaws.com --region eu-west-1\n',
    )
    .action(async (raw: Record<string, unknown>) => {
      await runConsume(resolveConsumeConfig(raw), interruptSignal());
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
