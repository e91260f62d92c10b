// The consumer's entry surface for the Firehose transform Lambda: only the way back into the
// stream. consumers/index.ts would also load the OpenSearch, DynamoDB, S3 and metrics modules.
export type { AwsEndpoints } from './aws-endpoints.ts';
export { createKinesisClient } from './kinesis-client.ts';
export { kinesisReingest } from './sinks/kinesis-reingest.ts';
// Settings are read with the same resolver as every other entry point's.
export { ConfigError, resolveOptions } from './config/options.ts';
