import * as z from 'zod';
import { DEFAULT_INDEX_PREFIX } from '../../processors/index.ts';
import { EndpointOptionsSchema } from '../config/endpoints.ts';
import { bool, endpoint, httpUrl, indexPrefix, int } from '../config/options.ts';
import { ConsumerOptionsSchema } from '../consumer-options.ts';

const MiB = 1024 * 1024;

const queueUrl = z.url({ protocol: /^https?$/, error: 'expected SQS queue URLs (https://sqs.<region>.amazonaws.com/<account>/<name>)' });

/** One queue URL, a comma-separated list, or a JSON array of them. */
const queueUrls = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const s = v.trim();
    if (s.startsWith('[')) {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        return v;
      }
    }
    return s.split(',').map((u) => u.trim()).filter(Boolean);
  },
  z.array(queueUrl, { error: 'expected one or more SQS queue URLs, comma-separated or as a JSON array' }).min(1, 'expected at least one SQS queue URL'),
);

const consumer = ConsumerOptionsSchema.shape;

/**
 * Everything an S3 ingest worker can be told. It shares with `consume` what both do the same
 * way (OpenSearch, dead letters, index prefix and window, status server, logging); each key is a
 * flag, a CENTRALOG_* variable and a config-file key.
 */
export const S3IngestOptionsSchema = z.object({
  queueUrls: queueUrls.meta({ description: 'SQS queues of S3 event notifications (direct, SNS- or EventBridge-wrapped), comma-separated (required)', arg: 'urls' }),
  deadLetterBucket: consumer.deadLetterBucket,
  deadLetterPrefix: consumer.deadLetterPrefix,
  opensearchUrl: httpUrl.meta({ description: 'OpenSearch endpoint (required)', arg: 'url' }),
  opensearchAuth: consumer.opensearchAuth,
  ...EndpointOptionsSchema.pick({ region: true, s3Endpoint: true }).shape,
  sqsEndpoint: endpoint.optional().meta({ description: "SQS endpoint URL, or 'aws'", arg: 'url' }),
  stsEndpoint: endpoint.optional().meta({ description: "STS endpoint URL, or 'aws'", arg: 'url' }),
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'expected an IAM role ARN (arn:aws:iam::<account>:role/<name>)')
    .optional()
    .meta({ description: "role to assume for reading objects in another account's bucket", arg: 'arn' }),
  externalId: z.string().min(2).max(1224).regex(/^[\w+=,.@:/-]+$/, 'expected 2-1224 of letters, digits and +=,.@:/-').optional().meta({ description: 'external id the role requires (sts:ExternalId)', arg: 'id' }),
  indexPrefix: indexPrefix.default(DEFAULT_INDEX_PREFIX).meta({ description: 'OpenSearch index prefix', arg: 'prefix' }),
  installTemplates: bool.default(true).meta({ description: 'install the index templates at start', arg: 'bool' }),
  batchBytes: int(64 * 1024, 10 * MiB).default(5 * MiB).meta({ description: 'NDJSON bytes per _bulk request (max 10 MiB)', arg: 'bytes' }),
  waitTimeSeconds: int(0, 20).default(20).meta({ description: 'SQS long-poll wait', arg: 's' }),
  maxMessages: int(1, 10).default(10).meta({ description: 'messages per ReceiveMessage', arg: 'n' }),
  visibilityTimeoutSeconds: int(2, 43_200)
    .default(300)
    .meta({ description: 'how long a received message stays hidden; extended by this much every half of it while its objects are read', arg: 's' }),
  maxObjectsInFlight: int(1, 64).default(4).meta({ description: 'objects read and indexed at once', arg: 'n' }),
  retryDelayMs: int(1, 600_000).default(5000).meta({ description: 'first wait before a message that failed (OpenSearch or S3 unavailable) is received again', arg: 'ms' }),
  maxEventAgeDays: consumer.maxEventAgeDays,
  maxNewIndicesPerHour: consumer.maxNewIndicesPerHour,
  aggregatorAccounts: consumer.aggregatorAccounts,
  statusHost: consumer.statusHost,
  statusPort: int(0, 65_535).default(9465).meta({ description: 'port for /metrics and /healthz (0 = any free port)', arg: 'port' }),
  logLevel: consumer.logLevel,
  shutdownTimeoutMs: int(0, 600_000).default(30_000).meta({ description: 'on stop, how long objects in flight get to finish (their messages are otherwise left to reappear)', arg: 'ms' }),
});
export type S3IngestOptions = z.infer<typeof S3IngestOptionsSchema>;
