import { Command } from 'commander';
import { ConfigError } from '../consumers/index.ts';
import { ParseError } from '../processors/index.ts';
import { bootstrapCommand } from './commands/bootstrap.ts';
import { consumeCommand } from './commands/consume.ts';
import { demoCommand } from './commands/demo.ts';
import { detectCommand } from './commands/detect.ts';
import { ingestS3Command } from './commands/ingest-s3.ts';
import { backfillCommand } from './commands/backfill.ts';
import { destinationCommand } from './commands/destination.ts';
import { onboardCommand } from './commands/onboard.ts';
import { parseCommand } from './commands/parse.ts';
import { pruneCommand } from './commands/prune.ts';
import { reconcileCommand } from './commands/reconcile.ts';
import { redriveCommand } from './commands/redrive.ts';
import { replayCommand } from './commands/replay.ts';
import { rulesCommand } from './commands/rules.ts';
import { statusCommand } from './commands/status.ts';
import { tailCommand } from './commands/tail.ts';
import { InterruptedError } from './signals.ts';

/** Every command, in the order `--help` lists them; each lives in cli/commands/. */
const COMMANDS = [demoCommand, consumeCommand, ingestS3Command, backfillCommand, parseCommand, detectCommand, rulesCommand, statusCommand, tailCommand, replayCommand, reconcileCommand, redriveCommand, bootstrapCommand, pruneCommand, onboardCommand, destinationCommand];

export function buildProgram(): Command {
  const program = new Command()
    .name('centralog')
    .description(
      'One searchable home for an AWS organisation\'s security logs.\n' +
        'CloudWatch Logs subscriptions -> Kinesis -> Firehose transform -> S3 archive, and a consumer fleet -> OpenSearch (ECS).',
    )
    .showHelpAfterError();
  for (const command of COMMANDS) program.addCommand(command().showHelpAfterError());
  return program;
}
/** Errors whose message says it all: no stack trace for the user. */
const KNOWN_ERRORS = new Set(['ConfigError', 'AssumeRoleError', 'SystemicRefusalError', 'MissingPrerequisiteError', 'OpenSearchStartError', 'DemoFailedError', 'InterruptedError', 'ParseError', 'RuleFolderError']);

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
