import { Command } from 'commander';
import type { z } from 'zod';
import { ConfigError } from '../../consumers/index.ts';
import { addSchemaOptions } from '../options.ts';
import { processIO, type CommandIO } from '../io.ts';
import { interruptSignal } from '../signals.ts';
import { resolveCommandOptions } from './options.ts';

type AnyObject = z.ZodObject<z.ZodRawShape>;

export interface OperatorCommandSpec<S extends AnyObject> {
  name: string;
  description: string;
  /** The command's own options; help lists them first. */
  own: AnyObject;
  /** Connection options (profile, region, endpoints, resources): also CENTRALOG_* variables. */
  connection: AnyObject;
  /** Both together, as the action receives them. */
  schema: S;
  examples: string[];
  /** Extra help text before the examples. */
  notes?: string;
  run: (options: z.infer<S>, io: CommandIO, signal: AbortSignal) => Promise<number | void>;
}

/**
 * One operator command: flags and help generated from its schemas, connection settings
 * also from CENTRALOG_* variables, examples in `--help`, Ctrl-C stopping cleanly, and
 * the exit code the action returns.
 */
export function operatorCommand<S extends AnyObject>(spec: OperatorCommandSpec<S>): Command {
  const command = new Command(spec.name).description(spec.description);
  addSchemaOptions(command, spec.own);
  addSchemaOptions(command, spec.connection, { env: true });
  command
    .addHelpText(
      'after',
      `${spec.notes ? `\n${spec.notes}\n` : ''}` +
        '\nConnection flags are also the CENTRALOG_* variable named beside them (`npm start -- --keep` prints them for the local stack); flags win.\n' +
        `\nExample${spec.examples.length > 1 ? 's' : ''}:\n${spec.examples.map((e) => `  ${e}\n`).join('')}`,
    )
    .action(async (raw: Record<string, unknown>) => {
      // Output piped into `head` and the like: the reader left, nothing more to say.
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      });
      const options = resolveCommandOptions(spec.schema, spec.connection, raw);
      try {
        const code = await spec.run(options, processIO, interruptSignal());
        process.exitCode = code ?? 0;
      } catch (err) {
        throw explain(err, options as Record<string, unknown>);
      }
    });
  return command;
}

/** A service could not be used as configured; the message names the option to check. Shown without a stack trace. */
export class OperatorError extends ConfigError {}

/**
 * The usual operational failures as one line naming the option behind them: a service
 * that cannot be reached, a bucket, stream or table that does not exist, denied access.
 */
export function explain(err: unknown, options: Record<string, unknown>): unknown {
  const e = err as { name?: string; message?: string; code?: string; $metadata?: unknown; meta?: { statusCode?: number } };
  if (!e || typeof e !== 'object' || err instanceof ConfigError || e.name === 'InterruptedError' || e.name === 'AbortError') return err;
  const message = e.message ?? String(err);
  const bucket = /bucket/i.test(message) ? ' (check --archive-bucket / --dead-letter-bucket)' : '';
  switch (e.name) {
    case 'NoSuchBucket':
      return new OperatorError(`S3: ${message}${bucket}`);
    case 'ResourceNotFoundException':
      return new OperatorError(`${message} (check --stream-name / --lease-table and --region)`);
    case 'AccessDenied':
    case 'AccessDeniedException':
    case 'UnrecognizedClientException':
    case 'ExpiredTokenException':
    case 'CredentialsProviderError':
      return new OperatorError(`AWS credentials: ${message} (check --profile and --region)`);
    case 'ConnectionError':
      return new OperatorError(`cannot reach OpenSearch at ${String(options.opensearchUrl)} (--opensearch-url): ${message}`);
    default:
  }
  const code = e.code ?? (e as { cause?: { code?: string } }).cause?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || /ECONNREFUSED|ENOTFOUND/.test(message)) {
    return new OperatorError(`cannot reach an AWS endpoint: ${message} (check the --*-endpoint flags, CENTRALOG_*_ENDPOINT variables and --region)`);
  }
  return err;
}
