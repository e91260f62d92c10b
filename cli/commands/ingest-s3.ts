import { Command } from 'commander';
import { collectDefaultMetrics } from 'prom-client';
import { createS3Ingester, resolveOptions, S3IngestOptionsSchema, startStatusServer, type LogFunction, type S3IngestOptions } from '../../consumers/index.ts';
import { createJsonLog, ensureIndexTemplates } from '../consume.ts';
import { addSchemaOptions } from '../options.ts';
import { interruptSignal } from '../signals.ts';

/** The worker's options from its config file (`--config`/CENTRALOG_CONFIG), CENTRALOG_* variables and flags, in that order. */
export function resolveS3IngestOptions(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): S3IngestOptions {
  return resolveOptions(S3IngestOptionsSchema, { flags, env, allowFile: true });
}

/** Runs one S3 ingest worker until `signal` aborts; objects in flight then get the shutdown timeout to finish. */
export async function runIngestS3(options: S3IngestOptions, signal: AbortSignal): Promise<void> {
  let log: LogFunction = () => undefined;
  const { ingester, opensearch, accounting } = createS3Ingester(options, { log: (...args) => log(...args) });
  log = createJsonLog(options.logLevel, { component: 'ingest-s3', pid: process.pid });
  await ensureIndexTemplates(opensearch, options, log);
  collectDefaultMetrics({ register: accounting.registry, prefix: 'centralog_s3_' });
  const status = await startStatusServer({ registry: accounting.registry, health: () => ingester.health(), port: options.statusPort, host: options.statusHost });
  try {
    ingester.start();
    log('info', 'S3 ingest running', { queues: options.queueUrls, roleArn: options.roleArn, opensearch: options.opensearchUrl, statusUrl: status.url });
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    log('info', 'stopping: finishing objects in flight');
    await ingester.stop();
    log('info', 'stopped', { counters: accounting.counters });
  } finally {
    await status.stop();
  }
}

/** `centralog ingest-s3`: indexes the objects S3 event notifications announce. */
export function ingestS3Command(): Command {
  const command = new Command('ingest-s3')
    .description(
      'Run one S3 ingest worker: it long-polls SQS queues of S3 event notifications (direct, SNS- or EventBridge-wrapped), ' +
        'reads each new object (ALB access logs, CloudTrail files, VPC flow log text files, GuardDuty JSON lines; gzip or plain) ' +
        'and indexes its events into the same indices as `consume`, exactly once, dead-lettering what cannot be indexed. ' +
        'A message is deleted only when every event of its objects is indexed or dead-lettered. Serves /metrics and /healthz.',
    )
    .option('--config <file>', 'JSON file with any of the keys below (camelCase); environment and flags override it (CENTRALOG_CONFIG)');
  addSchemaOptions(command, S3IngestOptionsSchema, { env: true });
  command
    .addHelpText(
      'after',
      '\nEvery flag is also the environment variable named beside it and a key of the --config file; flags win over variables, variables over the file.\n' +
        '\nExample (objects in a member account\'s bucket, read through its role):\n' +
        '  centralog ingest-s3 --queue-urls https://sqs.eu-west-1.amazonaws.com/111122223333/alb-logs-events \\\n' +
        '    --role-arn arn:aws:iam::444455556666:role/centralog-s3-read --external-id centralog-444455556666 \\\n' +
        '    --dead-letter-bucket my-dead-letters --opensearch-url https://search-logs-abc.eu-west-1.es.amazonaws.com --region eu-west-1\n',
    )
    .action(async (raw: Record<string, unknown>) => {
      await runIngestS3(resolveS3IngestOptions(raw), interruptSignal());
    });
  return command;
}
