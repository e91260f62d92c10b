// The KCL-style consumer: leases -> retrieval -> processors -> sinks -> checkpoint.
// What the CLI, the local stack and the benchmarks use; tests reach internals by their paths.
export { createConsumer, signsRequests, type ConsumerDeps, type ConsumerParts } from './consumer.ts';
export { createS3Ingester, S3IngestOptionsSchema, type S3IngestCounters, type S3IngestOptions, type S3IngestParts } from './s3-ingest/index.ts';
export { ConsumerOptionsSchema, MAX_EVENT_BYTES, type ConsumerOptions } from './consumer-options.ts';
export { backoffDelay, type BackoffPolicy } from './backoff.ts';
export { documentOptions, DocumentRulesSchema, type DocumentRules } from './config/document-rules.ts';
export { awsEndpoints, EndpointOptionsSchema, LocalStackEnvSchema, type EndpointOptions } from './config/endpoints.ts';
export { ConfigError, describeOptions, envName, flagName, optionFields, resolveOptions, type OptionInfo, type OptionMeta } from './config/options.ts';
export { createDynamoDbClient, createKinesisClient, createS3Client, type AwsEndpoints } from './aws-clients.ts';
export { createOpenSearchClient, type OpenSearchClientOptions } from './opensearch-client.ts';
export { startStatusServer, type HealthReport, type StatusServer } from './status-server.ts';
export { LatencySample, sumCounters, type ConsumerCounters } from './metrics.ts';
export { listShards } from './retrieval/list-shards.ts';
export { ShardReader, type ShardBatch, type ShardReaderOptions } from './retrieval/shard-reader.ts';
export { prepareBatch, type PreparedBatch } from './scheduler/batch.ts';
export type { LogFunction } from './scheduler/shard-processor.ts';
export { Worker, type WorkerOptions } from './scheduler/worker.ts';
export type { DeadLetter } from './sinks/dead-letter.ts';
export { putRecordsWithRetry } from './sinks/kinesis-put.ts';
export { kinesisReingest } from './sinks/kinesis-reingest.ts';
export { bulkLines } from './sinks/opensearch-bulk.ts';
