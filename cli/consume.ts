import pino from 'pino';
import { collectDefaultMetrics } from 'prom-client';
import {
  ConsumerOptionsSchema,
  createConsumer,
  resolveOptions,
  signsRequests,
  startStatusServer,
  type ConsumerOptions,
  type LogFunction,
} from '../consumers/index.ts';
import { installIndexTemplates } from '../infra/opensearch/index.ts';

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
 * Runs one consumer worker until `signal` aborts, then shuts down gracefully (batches in
 * flight finish and checkpoint, leases are released for others to take at once).
 */
export async function runConsume(options: ConsumerOptions, signal: AbortSignal): Promise<void> {
  let log: LogFunction = () => undefined;
  const { worker, opensearch, metrics } = createConsumer(options, { log: (...args) => log(...args) });
  log = createJsonLog(options.logLevel, { workerId: worker.workerId });
  if (options.installTemplates) await installIndexTemplates(opensearch, options.indexPrefix);
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
