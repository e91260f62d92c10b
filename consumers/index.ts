// The KCL-style consumer: leases -> retrieval -> processors -> sinks -> checkpoint.
export { createDynamoDbClient, createKinesisClient, createS3Client, type AwsEndpoints } from './aws-clients.ts';
export { createOpenSearchClient, type OpenSearchClientOptions } from './opensearch-client.ts';
export { LeaseCoordinator, type HeldLease, type LeaseCoordinatorOptions, type LeaseEvent } from './leases/lease-coordinator.ts';
export { LeaseObservations, planLeaseTaking, type LeasePlan, type LeasePlanInput } from './leases/lease-taker.ts';
export { LeaseTable, SHARD_END, TRIM_HORIZON, type Lease } from './leases/lease-table.ts';
export { parentsFinished, syncShardLeases, type ShardSyncResult } from './leases/shard-sync.ts';
export { startStatusServer, type HealthReport, type StatusServer } from './status-server.ts';
export { ConsumerMetrics, emptyCounters, LatencySample, sumCounters, type ConsumerCounters } from './metrics.ts';
export { listShards } from './retrieval/list-shards.ts';
export { ShardReader, type ShardBatch, type ShardReaderOptions, type StartPosition } from './retrieval/shard-reader.ts';
export { MAX_EVENT_BYTES, prepareBatch, type PreparedBatch } from './scheduler/batch.ts';
export { InFlightLimit } from './scheduler/in-flight-limit.ts';
export { Worker, type LogFunction, type WorkerOptions } from './scheduler/worker.ts';
export { DeadLetterSink, type DeadLetter } from './sinks/dead-letter.ts';
export {
  PUT_RECORDS_MAX_BYTES,
  PUT_RECORDS_MAX_ENTRIES,
  PutRecordsFailedError,
  putRecordsBatches,
  putRecordsWithRetry,
  type PutRecordsOptions,
} from './sinks/kinesis-put.ts';
export { kinesisReingest } from './sinks/kinesis-reingest.ts';
export {
  BulkSink,
  BulkUnavailableError,
  bulkLines,
  type BulkDocument,
  type BulkOutcome,
  type BulkSinkOptions,
  type RejectedDocument,
} from './sinks/opensearch-bulk.ts';
