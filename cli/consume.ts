import pino from 'pino';
import { collectDefaultMetrics } from 'prom-client';
import type { Client } from '@opensearch-project/opensearch';
import {
  ConfigError,
  ConsumerOptionsSchema,
  createConsumer,
  resolveOptions,
  signsRequests,
  startStatusServer,
  type ConsumerOptions,
  type LogFunction,
} from '../consumers/index.ts';
import { checkIndexTemplates, installIndexTemplates, type TemplateCheck } from '../infra/opensearch/index.ts';

/** The consumer's options from its config file (`--config`/CENTRALOG_CONFIG), CENTRALOG_* variables and flags, in that order. */
export function resolveConsumerOptions(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ConsumerOptions {
  return resolveOptions(ConsumerOptionsSchema, { flags, env, allowFile: true });
}

/** A JSON-lines logger on stdout for the worker's log calls. */
export function createJsonLog(level: ConsumerOptions['logLevel'], base: Record<string, unknown>): LogFunction {
  const logger = pino({
    level,
    base,
    messageKey: 'message',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
  return (lvl, message, fields) => logger[lvl](fields ?? {}, message);
}

/**
 * At start: the index templates the documents rely on must be there at the version this
 * build ships, or every document of a new daily index could be mapped wrongly. Installs
 * them when allowed, else refuses to start saying what to run. A check OpenSearch will not
 * answer (unreachable, or a role that may not read templates) is logged and passed: the
 * refusal handling at run time still holds batches instead of dead-lettering them.
 */
export async function ensureIndexTemplates(
  client: Client,
  options: Pick<ConsumerOptions, 'indexPrefix' | 'installTemplates' | 'opensearchUrl'>,
  log: LogFunction,
): Promise<TemplateCheck | undefined> {
  const prefix = options.indexPrefix;
  let check: TemplateCheck | undefined;
  try {
    check = await checkIndexTemplates(client, prefix);
  } catch (err) {
    if (!options.installTemplates) {
      log('warn', 'index templates not checked: OpenSearch did not show them', {
        error: String(err),
        fix: "to check them at start, let the consumer's role read templates (indices:admin/index_template/get, cluster:admin/component_template/get)",
      });
      return undefined;
    }
  }
  if (check?.ok) {
    log('info', 'index templates present at the shipped version', { indexPrefix: prefix });
    return check;
  }
  const problem = check
    ? [
        check.missing.length > 0 ? `missing: ${check.missing.join(', ')}` : '',
        check.outdated.length > 0 ? `not the shipped version: ${check.outdated.map((o) => `${o.name} (${o.installed ?? 'no version'}, ships ${o.shipped})`).join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ')
    : 'not checked';
  if (options.installTemplates) {
    await installIndexTemplates(client, prefix);
    log('info', 'index templates installed', { indexPrefix: prefix, before: problem });
    return check;
  }
  // The URL without any user:password in it.
  const url = new URL(options.opensearchUrl);
  throw new ConfigError(
    `index templates for ${prefix}-aws.* ${problem}; the consumer may not install them (--install-templates false). ` +
      `Run: centralog bootstrap --opensearch-url ${url.origin}${url.pathname.replace(/\/$/, '')} --index-prefix ${prefix} ` +
      '(or start once with --install-templates true)',
  );
}

/**
 * Runs one consumer worker until `signal` aborts, then shuts down gracefully (batches in
 * flight finish and checkpoint, leases are released for others to take at once).
 */
export async function runConsume(options: ConsumerOptions, signal: AbortSignal): Promise<void> {
  let log: LogFunction = () => undefined;
  const { worker, opensearch, metrics } = createConsumer(options, { log: (...args) => log(...args) });
  log = createJsonLog(options.logLevel, { workerId: worker.workerId });
  await ensureIndexTemplates(opensearch, options, log);
  collectDefaultMetrics({ register: metrics.registry, prefix: 'centralog_consumer_' });
  const status = await startStatusServer({ registry: metrics.registry, health: () => worker.health(), port: options.statusPort, host: options.statusHost });
  try {
    await worker.start();
    log('info', 'consumer running', {
      streamName: options.streamName,
      leaseTable: options.leaseTable,
      opensearch: options.opensearchUrl,
      sigv4: signsRequests(options) ?? false,
      statusUrl: status.url,
      pid: process.pid,
    });
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    log('info', 'stopping: finishing batches in flight, then releasing leases');
    await worker.stop();
  } finally {
    await status.stop();
  }
}
