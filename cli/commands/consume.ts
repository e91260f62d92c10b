import { Command } from 'commander';
import { ConsumerOptionsSchema } from '../../consumers/index.ts';
import { resolveConsumerOptions, runConsume } from '../consume.ts';
import { addSchemaOptions } from '../options.ts';
import { interruptSignal } from '../signals.ts';

/** `centralog consume`: one worker of the consumer fleet. */
export function consumeCommand(): Command {
  const command = new Command('consume')
    .description(
      'Run one consumer worker: it shares the stream\'s shards with every other worker using the same lease table ' +
        '(DynamoDB, KCL-compatible), turns records into ECS documents, indexes them into OpenSearch exactly once and ' +
        'dead-letters what OpenSearch refuses to S3. Serves /metrics (Prometheus) and /healthz; logs JSON lines to stdout. ' +
        'SIGTERM/Ctrl-C: batches in flight finish and checkpoint, leases are released for other workers.',
    )
    .option('--config <file>', 'JSON file with any of the keys below (camelCase); environment and flags override it (CENTRALOG_CONFIG)');
  addSchemaOptions(command, ConsumerOptionsSchema, { env: true });
  command
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

  return command;
}
