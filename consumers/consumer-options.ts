import * as z from 'zod';
import { DEFAULT_INDEX_PREFIX } from '../processors/index.ts';
import { DocumentRulesSchema } from './config/document-rules.ts';
import { EndpointOptionsSchema } from './config/endpoints.ts';
import { bool, endpoint, httpUrl, indexPrefix, int, json, positive } from './config/options.ts';

const MiB = 1024 * 1024;

/** The CloudWatch Logs event limit (256 KiB): anything larger did not come from a subscription as documented. */
export const MAX_EVENT_BYTES = 256 * 1024;

/**
 * Everything a consumer worker process can be told. Each key is a flag, a CENTRALOG_*
 * variable and a config-file key; defaults and `--help` come from here and nowhere else.
 */
export const ConsumerOptionsSchema = z.object({
  streamName: z
    .string({ error: 'required: the Kinesis stream to read' })
    .min(1)
    .max(128)
    .meta({ description: 'Kinesis stream to read (required)', arg: 'name' }),
  leaseTable: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'expected a DynamoDB table name (3-255 of letters, digits, _ . -)')
    .default('centralog-leases')
    .meta({ description: 'DynamoDB lease table, created if missing', arg: 'name' }),
  deadLetterBucket: z
    .string({ error: 'required: the S3 bucket for dead letters' })
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name')
    .meta({ description: 'S3 bucket for dead letters (required)', arg: 'bucket' }),
  deadLetterPrefix: z.string().default('dead-letters/').meta({ description: 'key prefix for dead letters', arg: 'prefix' }),
  opensearchUrl: httpUrl.meta({ description: 'OpenSearch endpoint (required)', arg: 'url' }),
  opensearchAuth: z
    .enum(['auto', 'none', 'sigv4'])
    .default('auto')
    .meta({ description: 'auto | none | sigv4; auto signs requests to *.es.amazonaws.com and *.aoss.amazonaws.com', arg: 'mode' }),
  ...EndpointOptionsSchema.shape,
  workerId: z.string().min(1).max(200).optional().meta({ description: "this worker's name in the lease table (default host-pid-random)", arg: 'id' }),
  indexPrefix: indexPrefix.default(DEFAULT_INDEX_PREFIX).meta({ description: 'OpenSearch index prefix', arg: 'prefix' }),
  installTemplates: bool.default(true).meta({ description: 'install the index templates at start', arg: 'bool' }),
  failoverTimeMs: int(1000, 600_000).default(10_000).meta({ description: 'a lease not renewed for this long is taken over', arg: 'ms' }),
  maxLeasesForWorker: int(1, 10_000).optional().meta({ description: 'never hold more leases than this (default unlimited)', arg: 'n' }),
  maxInFlightBatches: int(1, 64)
    .default(4)
    .meta({ description: 'GetRecords responses held in memory at once, and concurrent _bulk requests', arg: 'n' }),
  batchBytes: int(64 * 1024, 10 * MiB).default(5 * MiB).meta({ description: 'NDJSON bytes per _bulk request and checkpoint (max 10 MiB)', arg: 'bytes' }),
  maxRecordsPerRead: int(1, 10_000).default(10_000).meta({ description: 'GetRecords limit', arg: 'n' }),
  maxEventBytes: int(1024, 16 * MiB)
    .default(MAX_EVENT_BYTES)
    .meta({ description: 'events with a larger message are dead-lettered (CloudWatch Logs accepts up to 1 MiB since 2025)', arg: 'bytes' }),
  retrieval: z
    .enum(['polling', 'fanout'])
    .default('polling')
    .meta({ description: "polling (GetRecords within --read-calls-per-second, sharing each shard's 5 calls/s and 2 MB/s with Firehose) | fanout (enhanced fan-out: SubscribeToShard over HTTP/2, 2 MB/s per shard of its own; recommended in production)", arg: 'mode' }),
  readCallsPerSecond: int(1, 5)
    .default(3)
    .meta({ description: "polling: GetRecords calls per shard per second at most, of the 5 every polling reader shares (Firehose takes about 1)", arg: 'n' }),
  idleBackoffMs: int(0, 60_000)
    .default(1000)
    .meta({ description: 'polling: longest wait between GetRecords on an idle shard (each empty response doubles the wait up to this; data resets it)', arg: 'ms' }),
  streamConsumerArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/[^/]+\/consumer\/[^:]+:\d+$/, 'expected a Kinesis stream consumer ARN (arn:aws:kinesis:<region>:<account>:stream/<stream>/consumer/<name>:<timestamp>)')
    .optional()
    .meta({ description: 'fanout: the registered stream consumer to subscribe with (the one the central stack creates); unset: register --stream-consumer-name', arg: 'arn' }),
  streamConsumerName: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{1,128}$/, 'expected 1-128 of letters, digits, _ . -')
    .default('centralog-consumer')
    .meta({ description: 'fanout: the stream consumer to register (or reuse) when no --stream-consumer-arn is given', arg: 'name' }),
  fanoutEndpoint: endpoint
    .optional()
    .meta({ description: "fanout: HTTP/2 endpoint for SubscribeToShard and the stream consumer calls (default: the Kinesis endpoint; 'aws' for real AWS)", arg: 'url' }),
  retryDelayMs: int(1, 60_000).default(1000).meta({ description: 'first wait before redelivering a batch that could not be delivered', arg: 'ms' }),
  breaker: bool
    .default(true)
    .meta({ description: 'pause a shard, as when OpenSearch refuses every write, when one document error floods consecutive batches (false: dead-letter them all)', arg: 'bool' }),
  breakerShare: positive(1)
    .default(0.5)
    .meta({ description: 'a batch counts toward the breaker when more than this share of its documents is refused with one error type and field', arg: 'share' }),
  breakerBatches: int(1, 1000).default(3).meta({ description: 'consecutive counting batches of a shard that trip the breaker (the last one is held, not dead-lettered)', arg: 'n' }),
  shardSyncIntervalMs: int(1000, 3_600_000).default(60_000).meta({ description: 'how often to look for new shards (also at every shard end)', arg: 'ms' }),
  shutdownTimeoutMs: int(0, 600_000).default(20_000).meta({ description: 'on stop, how long batches in flight get to finish', arg: 'ms' }),
  statusHost: z.string().min(1).default('127.0.0.1').meta({ description: 'address for /metrics and /healthz (0.0.0.0 in a container)', arg: 'host' }),
  statusPort: int(0, 65_535).default(9464).meta({ description: 'port for /metrics and /healthz (0 = any free port)', arg: 'port' }),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info').meta({ description: 'debug | info | warn | error', arg: 'level' }),
  maxNewIndicesPerHour: int(1, 100_000)
    .default(100)
    .meta({ description: 'index names not written before that one consumer may create per hour; past it documents go to the ingest day\'s index, tagged index_cap_reached', arg: 'n' }),
  ...DocumentRulesSchema.shape,
  detections: bool
    .default(true)
    .meta({ description: 'match CloudTrail events and GuardDuty findings of mapped or trusted log groups (see --log-group-sources) against the Sigma rules, writing each match to <prefix>-alerts-YYYY.MM', arg: 'bool' }),
  rules: z.string().min(1).optional().meta({ description: 'a folder of your own Sigma rules (*.yml, sub-folders too), loaded beside the shipped ones', arg: 'dir' }),
  alertsTopicArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/, 'expected an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)')
    .optional()
    .meta({ description: 'SNS topic each new alert is published to, once (unset: alerts are indexed unpublished until a topic is given)', arg: 'arn' }),
  snsEndpoint: endpoint.optional().meta({ description: "SNS endpoint URL, or 'aws' (the default)", arg: 'url' }),
  alertSweepIntervalMs: int(1000, 3_600_000)
    .default(60_000)
    .meta({ description: 'how often unpublished alerts (SNS failed, or a worker died before publishing) are looked for and published', arg: 'ms' }),
  alertClaimTimeoutMs: int(10_000, 86_400_000)
    .default(300_000)
    .meta({ description: 'an unpublished alert is left to the worker that created or claimed it for this long before a sweep takes it over', arg: 'ms' }),
});
export type ConsumerOptions = z.infer<typeof ConsumerOptionsSchema>;
