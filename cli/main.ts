import { Command } from 'commander';
import { ConfigError, ConsumerOptionsSchema, EndpointOptionsSchema, envName, LocalStackEnvSchema, resolveOptions } from '../consumers/index.ts';
import { ParseError } from '../processors/index.ts';
import { resolveConsumerOptions, runConsume } from './consume.ts';
import { DemoOptionsSchema } from './demo-options.ts';
import { addSchemaOptions } from './options.ts';
import { ParseOptionsSchema, runParse } from './parse.ts';

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

/** `  CENTRALOG_X  description` lines for a schema's variables. */
function describeEnv(schema: typeof EndpointOptionsSchema | typeof LocalStackEnvSchema): string {
  const rows = Object.entries(schema.shape).map(([key, field]) => [envName(key), (field.meta()?.description as string) ?? ''] as const);
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, text]) => `  ${name.padEnd(width)}  ${text}\n`).join('');
}

export function buildProgram(): Command {
  const program = new Command()
    .name('centralog')
    .description(
      'One searchable home for an AWS organisation\'s security logs.\n' +
        'CloudWatch Logs subscriptions -> Kinesis -> Firehose transform -> S3 archive, and a consumer fleet -> OpenSearch (ECS).',
    )
    .showHelpAfterError();

  const demo = program
    .command('demo')
    .description(
      'Run the whole pipeline on the embedded local stack (Kinesis, DynamoDB, S3 emulators and a real OpenSearch node): ' +
        'simulated member accounts deliver VPC flow, CloudTrail and GuardDuty events, Firehose archives them to S3, the ' +
        'consumer indexes them; ends with a summary that accounts for every event (exit 0 only if none is missing or duplicated).',
    );
  addSchemaOptions(demo, DemoOptionsSchema)
    .addHelpText(
      'after',
      '\nEnvironment (each one replaces an embedded service):\n' +
        describeEnv(LocalStackEnvSchema) +
        '\nExample:\n  npm start -- --rate 5000 --duration 20 --keep\n',
    )
    .action(async (raw: Record<string, unknown>) => {
      const options = resolveOptions(DemoOptionsSchema, { flags: raw });
      // Loaded only here: the demo brings the emulators, which a production install does not have.
      const { runDemo } = await import('./demo.ts');
      const { ok } = await runDemo(options, {
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
    .option('--config <file>', 'JSON file with any of the keys below (camelCase); environment and flags override it (CENTRALOG_CONFIG)');
  addSchemaOptions(consume, ConsumerOptionsSchema, { env: true });
  consume
    .addHelpText(
      'after',
      '\nEvery flag is also the environment variable named beside it and a key of the --config file; ' +
        'flags win over variables, variables over the file.\n' +
        '\nExample:\n' +
        '  centralog consume --stream-name central-logs --dead-letter-bucket my-dead-letters \\\n' +
        '    --opensearch-url https://search-logs-abc.eu-west-1.es.amazonaws.com --region eu-west-1\n',
    )
    .action(async (raw: Record<string, unknown>) => {
      await runConsume(resolveConsumerOptions(raw), interruptSignal());
    });

  const parse = program
    .command('parse')
    .description(
      'Parse log events from stdin into the ECS documents centralog indexes: one raw event per line (blank lines ignored), ' +
        'one JSON document per line out, in input order, with _index and _id. Errors go to stderr; the exit code is 1 if any line failed.',
    );
  addSchemaOptions(parse, ParseOptionsSchema)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        "  echo '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK' | centralog parse\n" +
        '  centralog parse --source cloudtrail < events.ndjson\n' +
        '  centralog parse --envelope < subscription-payload.json\n',
    )
    .action(async (raw: Record<string, unknown>) => {
      const options = resolveOptions(ParseOptionsSchema, { flags: raw });
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

/** Errors whose message says it all: no stack trace for the user. */
const KNOWN_ERRORS = new Set(['ConfigError', 'MissingPrerequisiteError', 'OpenSearchStartError', 'DemoFailedError', 'InterruptedError', 'ParseError']);

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const e = err as Error;
    const known = e instanceof ConfigError || e instanceof ParseError || KNOWN_ERRORS.has(e?.name);
    process.stderr.write(`centralog: ${known ? e.message : (e.stack ?? String(e))}\n`);
    process.exitCode = e instanceof InterruptedError ? 130 : 1;
  }
}
