// The KCL-style consumer: retrieval -> processors -> sinks -> checkpoint.
export { createDynamoDbClient, createKinesisClient, createS3Client, type AwsEndpoints } from './aws-clients.ts';
export { createOpenSearchClient } from './opensearch-client.ts';
export { CheckpointStore, SHARD_END } from './checkpoint/checkpoint-store.ts';
export { emptyCounters, LatencySample, type ConsumerCounters } from './metrics.ts';
export { listShards } from './retrieval/list-shards.ts';
export { ShardReader, type ShardBatch, type ShardReaderOptions, type StartPosition } from './retrieval/shard-reader.ts';
export { prepareBatch, type PreparedBatch } from './scheduler/batch.ts';
export { Worker, type WorkerOptions } from './scheduler/worker.ts';
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
export { BulkSink, BulkUnavailableError, type BulkOutcome, type BulkSinkOptions, type RejectedDocument } from './sinks/opensearch-bulk.ts';
