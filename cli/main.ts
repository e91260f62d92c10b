import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, MissingPrerequisiteError, OpenSearchStartError } from '../local/index.ts';
import { DEMO_DEFAULTS, DemoFailedError, DemoOptionsSchema, runDemo } from './demo.ts';

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
      const parsed = DemoOptionsSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const flag = `--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
        throw new ConfigError(`${flag}: ${issue.message}`);
      }
      const { ok } = await runDemo(parsed.data, {
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
        interactive: process.stderr.isTTY === true,
        signal: interruptSignal(),
      });
      process.exitCode = ok ? 0 : 1;
    });
  return program;
}

const KNOWN_ERRORS = [ConfigError, MissingPrerequisiteError, OpenSearchStartError, DemoFailedError, InterruptedError];

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
