import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Client } from '@opensearch-project/opensearch';
import { createDynamoDbClient, createKinesisClient, createS3Client } from './aws-clients.ts';
import { createAlerting, type Alerting } from './alerts/index.ts';
import { awsEndpoints } from './config/endpoints.ts';
import type { ConsumerOptions } from './consumer-options.ts';
import { LeaseTable } from './leases/lease-table.ts';
import { IndexBudget } from '../processors/index.ts';
import { ConsumerMetrics, type LatencySample } from './metrics.ts';
import { createOpenSearchClient } from './opensearch-client.ts';
import type { LogFunction } from './scheduler/shard-processor.ts';
import { Worker } from './scheduler/worker.ts';
import { createFanOutKinesisClient } from './retrieval/fanout-client.ts';
import { FanOutRetrieval } from './retrieval/fanout-reader.ts';
import { StreamConsumer } from './retrieval/stream-consumer.ts';
import { DeadLetterSink } from './sinks/dead-letter.ts';
import { BulkSink } from './sinks/opensearch-bulk.ts';

/** Whether requests to OpenSearch are SigV4-signed, and for which service. */
export function signsRequests(options: Pick<ConsumerOptions, 'opensearchAuth' | 'opensearchUrl'>): 'es' | 'aoss' | undefined {
  const host = new URL(options.opensearchUrl).hostname;
  const service = host.endsWith('.aoss.amazonaws.com') ? 'aoss' : 'es';
  if (options.opensearchAuth === 'sigv4') return service;
  if (options.opensearchAuth === 'auto' && /\.(es|aoss)\.amazonaws\.com$/.test(host)) return service;
  return undefined;
}

/** Enhanced fan-out through the stream consumer given or registered by name, over its own HTTP/2 client. */
function fanOutRetrieval(options: ConsumerOptions, kinesisEndpoint: string | undefined, log?: LogFunction): FanOutRetrieval {
  const endpoint = options.fanoutEndpoint === undefined ? kinesisEndpoint : options.fanoutEndpoint === 'aws' ? undefined : options.fanoutEndpoint;
  const kinesis = createFanOutKinesisClient(options.region, endpoint);
  const consumer = new StreamConsumer({ kinesis, streamName: options.streamName, arn: options.streamConsumerArn, name: options.streamConsumerName });
  return new FanOutRetrieval({ kinesis, consumer, log });
}

export interface ConsumerParts {
  worker: Worker;
  opensearch: Client;
  metrics: ConsumerMetrics;
  /** Detections, unless switched off. */
  alerting?: Alerting;
}

export interface ConsumerDeps {
  log?: LogFunction;
  /** Several workers in one process (the demo) may share one lag sample. */
  lag?: LatencySample;
}

/**
 * Builds one consumer worker and its clients from validated options: the single wiring
 * that `centralog consume`, the demo, tests and the benchmark all use.
 */
export function createConsumer(options: ConsumerOptions, deps: ConsumerDeps = {}): ConsumerParts {
  const endpoints = awsEndpoints(options);
  const service = signsRequests(options);
  const opensearch = createOpenSearchClient(options.opensearchUrl, service ? { sigv4: { region: options.region, service } } : {});
  const metrics = new ConsumerMetrics();
  const fanout = options.retrieval === 'fanout' ? fanOutRetrieval(options, endpoints.kinesis, deps.log) : undefined;
  const workerId = options.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const alerting = createAlerting(options, { opensearch, registry: metrics.registry, workerId, log: deps.log });
  const worker = new Worker({
    workerId,
    kinesis: createKinesisClient(endpoints),
    streamName: options.streamName,
    leases: new LeaseTable(createDynamoDbClient(endpoints), options.leaseTable),
    bulk: new BulkSink(opensearch, {
      maxRequestBytes: options.batchBytes,
      observeRequest: (seconds, outcome) => metrics.bulkLatency.observe({ outcome }, seconds),
    }),
    deadLetters: new DeadLetterSink(createS3Client(endpoints), options.deadLetterBucket, options.deadLetterPrefix),
    indexPrefix: options.indexPrefix,
    vpcFlowFormats: options.vpcFlowFormats,
    documents: {
      indexWindow: { maxAgeDays: options.maxEventAgeDays },
      logGroupSources: options.logGroupSources,
      aggregatorAccounts: options.aggregatorAccounts,
      onAccountMismatch: () => metrics.accountMismatches.inc(),
      indexBudget: new IndexBudget(options.maxNewIndicesPerHour),
      onRedirect: (reason, source) => metrics.documentsRedirected.inc({ reason, source }),
    },
    reader: { limit: options.maxRecordsPerRead, maxCallsPerSecond: options.readCallsPerSecond, maxIdleIntervalMs: options.idleBackoffMs },
    retrieval: fanout,
    lease: { failoverTimeMs: options.failoverTimeMs, maxLeasesForWorker: options.maxLeasesForWorker },
    maxInFlightBatches: options.maxInFlightBatches,
    batchBytes: options.batchBytes,
    maxEventBytes: options.maxEventBytes,
    retryDelayMs: options.retryDelayMs,
    breaker: { enabled: options.breaker, share: options.breakerShare, batches: options.breakerBatches },
    shardSyncIntervalMs: options.shardSyncIntervalMs,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
    metrics,
    alerting,
    lag: deps.lag,
    log: deps.log,
  });
  return { worker, opensearch, metrics, alerting };
}
