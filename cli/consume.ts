import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import {
  BulkSink,
  ConsumerMetrics,
  createDynamoDbClient,
  createKinesisClient,
  createOpenSearchClient,
  createS3Client,
  DeadLetterSink,
  LeaseTable,
  MAX_EVENT_BYTES,
  startStatusServer,
  Worker,
  type AwsEndpoints,
  type LogFunction,
} from '../consumers/index.ts';

import { installIndexTemplates } from '../infra/opensearch/index.ts';
import { ConfigError } from '../local/index.ts';
import { DEFAULT_INDEX_PREFIX, parseVpcFlowFormat } from '../processors/index.ts';

const MiB = 1024 * 1024;
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
/** An endpoint URL (a local or private service), or `aws` / unset for the real service. */
const endpoint = z
  .string()
  .refine((v) => v === 'aws' || httpUrl.safeParse(v).success, "expected an http(s) URL or 'aws'")
  .optional();
const int = (min: number, max: number) =>
  z.coerce
    .number({ error: (issue) => (issue.code === 'invalid_type' ? 'expected a number' : undefined) })
    .int('expected a whole number')
    .min(min, `expected at least ${min}`)
    .max(max, `expected at most ${max}`);
const flag = z.union([z.boolean(), z.stringbool({ error: 'expected true or false' })]);

/** Everything `centralog consume` can be told; each key is a flag, a CENTRALOG_* variable and a config-file key. */
export const ConsumeConfigSchema = z.object({
  streamName: z.string({ error: 'required: the Kinesis stream to read' }).min(1).max(128),
  leaseTable: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'expected a DynamoDB table name (3-255 of letters, digits, _ . -)')
    .default('centralog-leases'),
  deadLetterBucket: z
    .string({ error: 'required: the S3 bucket for dead letters' })
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name'),
  deadLetterPrefix: z.string().default('dead-letters/'),
  opensearchUrl: httpUrl,
  /** 'auto' signs for *.es.amazonaws.com and *.aoss.amazonaws.com hosts. */
  opensearchAuth: z.enum(['auto', 'none', 'sigv4']).default('auto'),
  region: z.string().min(1).default('us-east-1'),
  kinesisEndpoint: endpoint,
  dynamodbEndpoint: endpoint,
  s3Endpoint: endpoint,
  workerId: z.string().min(1).max(200).optional(),
  indexPrefix: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - and _').default(DEFAULT_INDEX_PREFIX),
  installTemplates: flag.default(true),
  failoverTimeMs: int(1000, 600_000).default(10_000),
  maxLeasesForWorker: int(1, 10_000).optional(),
  maxInFlightBatches: int(1, 64).default(4),
  batchBytes: int(64 * 1024, 10 * MiB).default(5 * MiB),
  maxRecordsPerRead: int(1, 10_000).default(10_000),
  maxEventBytes: int(1024, 16 * MiB).default(MAX_EVENT_BYTES),
  idleBackoffMs: int(0, 60_000).default(1000),
  shardSyncIntervalMs: int(1000, 3_600_000).default(60_000),
  shutdownTimeoutMs: int(0, 600_000).default(20_000),
  statusHost: z.string().min(1).default('127.0.0.1'),
  statusPort: int(0, 65_535).default(9464),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** Custom VPC flow log formats by log group (config file only). */
  vpcFlowFormats: z
    .record(
      z.string(),
      z.string().transform((spec, ctx) => {
        try {
          return parseVpcFlowFormat(spec);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      }),
    )
    .optional(),
});
export type ConsumeConfig = z.infer<typeof ConsumeConfigSchema>;
type ConfigKey = keyof ConsumeConfig;

export const CONFIG_KEYS = Object.keys(ConsumeConfigSchema.shape) as ConfigKey[];

export function envName(key: string): string {
  return `CENTRALOG_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Merges the config file, the environment and the flags (each later one wins) and
 * validates the result; a bad value stops with its key, where it came from and what was
 * expected.
 */
export function resolveConsumeConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ConsumeConfig {
  const raw: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  const configFile = (flags.config as string | undefined) ?? env.CENTRALOG_CONFIG;
  if (configFile) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config file ${configFile}: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${configFile}: expected a JSON object`);
    for (const [k, v] of Object.entries(parsed)) {
      if (!CONFIG_KEYS.includes(k as ConfigKey)) {
        throw new ConfigError(`config file ${configFile}: unknown key "${k}" (known: ${CONFIG_KEYS.join(', ')})`);
      }
      raw[k] = v;
      origin[k] = `${k} in ${configFile}`;
    }
  }
  for (const k of CONFIG_KEYS) {
    const v = env[envName(k)];
    if (v !== undefined && v !== '') {
      raw[k] = v;
      origin[k] = envName(k);
    }
  }
  for (const k of CONFIG_KEYS) {
    if (flags[k] !== undefined) {
      raw[k] = flags[k];
      origin[k] = flagName(k);
    }
  }
  const result = ConsumeConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = String(issue.path[0]);
  const inner = issue.path.length > 1 ? ` [${issue.path.slice(1).map(String).join('.')}]` : '';
  const where = (origin[key] ?? `${flagName(key)} (or ${envName(key)})`) + inner;
  const got = raw[key] === undefined || inner ? '' : ` (got ${JSON.stringify(raw[key])})`;
  throw new ConfigError(`${where}: ${issue.message}${got}`);
}

function awsEndpoint(value: string | undefined): string | undefined {
  return value === 'aws' ? undefined : value;
}

export function signsRequests(config: Pick<ConsumeConfig, 'opensearchAuth' | 'opensearchUrl'>): 'es' | 'aoss' | undefined {
  const host = new URL(config.opensearchUrl).hostname;
  const service = host.endsWith('.aoss.amazonaws.com') ? 'aoss' : 'es';
  if (config.opensearchAuth === 'sigv4') return service;
  if (config.opensearchAuth === 'auto' && /\.(es|aoss)\.amazonaws\.com$/.test(host)) return service;
  return undefined;
}

/** A JSON-lines logger on stdout for the Worker's log calls. */
export function createJsonLog(level: ConsumeConfig['logLevel'], base: Record<string, unknown>): LogFunction {
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
export async function runConsume(config: ConsumeConfig, signal: AbortSignal): Promise<void> {
  const workerId = config.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const log = createJsonLog(config.logLevel, { workerId });
  const endpoints: AwsEndpoints = {
    region: config.region,
    kinesis: awsEndpoint(config.kinesisEndpoint),
    dynamodb: awsEndpoint(config.dynamodbEndpoint),
    s3: awsEndpoint(config.s3Endpoint),
  };
  const service = signsRequests(config);
  const opensearch = createOpenSearchClient(config.opensearchUrl, service ? { sigv4: { region: config.region, service } } : {});
  if (config.installTemplates) await installIndexTemplates(opensearch, config.indexPrefix);

  const metrics = new ConsumerMetrics();
  collectDefaultMetrics({ register: metrics.registry, prefix: 'centralog_consumer_' });
  const worker = new Worker({
    workerId,
    kinesis: createKinesisClient(endpoints),
    streamName: config.streamName,
    leases: new LeaseTable(createDynamoDbClient(endpoints), config.leaseTable),
    bulk: new BulkSink(opensearch, {
      maxRequestBytes: config.batchBytes,
      observeRequest: (seconds, outcome) => metrics.bulkLatency.observe({ outcome }, seconds),
    }),
    deadLetters: new DeadLetterSink(createS3Client(endpoints), config.deadLetterBucket, config.deadLetterPrefix),
    indexPrefix: config.indexPrefix,
    vpcFlowFormats: config.vpcFlowFormats,
    reader: { limit: config.maxRecordsPerRead, idleBackoffMs: config.idleBackoffMs },
    lease: { failoverTimeMs: config.failoverTimeMs, maxLeasesForWorker: config.maxLeasesForWorker },
    maxInFlightBatches: config.maxInFlightBatches,
    batchBytes: config.batchBytes,
    maxEventBytes: config.maxEventBytes,
    shardSyncIntervalMs: config.shardSyncIntervalMs,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    metrics,
    log,
  });
  const status = await startStatusServer({ registry: metrics.registry, health: () => worker.health(), port: config.statusPort, host: config.statusHost });
  try {
    await worker.start();
    log('info', 'consumer running', {
      streamName: config.streamName,
      leaseTable: config.leaseTable,
      opensearch: config.opensearchUrl,
      sigv4: service ?? false,
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
