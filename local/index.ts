// The embedded local stack: emulators, the OpenSearch node, the Firehose harness, the CWL simulator.
export { CloudWatchLogsSimulator, SIMULATED_SOURCES, type SimulatedRecord, type SimulatedSource, type SimulatorOptions } from './cwl-simulator.ts';
export { startDynamoDb, startKinesis, startS3, type RunningEmulator } from './emulators.ts';
export {
  archivePrefix,
  FirehoseHarness,
  MAX_PROCESSOR_BUFFER_BYTES,
  MAX_TRANSFORM_RESPONSE_BYTES,
  MIN_PROCESSOR_BUFFER_BYTES,
  validateResponse,
  type FirehoseHarnessCounters,
  type FirehoseHarnessOptions,
  type RetryPolicy,
  type TransformContext,
  type TransformFunction,
} from './firehose-harness.ts';
export {
  checkOpenSearchPrerequisites,
  MissingPrerequisiteError,
  OpenSearchStartError,
  resolveClasspath,
  startOpenSearch,
  type OpenSearchOptions,
  type RunningOpenSearch,
} from './opensearch.ts';
export { ElasticMqStartError, elasticMqConfig, startElasticMq, type ElasticMqOptions, type RunningElasticMq } from './elasticmq.ts';
export { ALERTS_TOPIC, createTopic, findMotoServer, MotoStartError, motoVenv, startMoto, type MotoOptions, type RunningMoto } from './moto.ts';
export { freePort } from './ports.ts';
export { S3AccessLogSimulator, type S3SimulatorOptions } from './s3-simulator.ts';
export { parseStackEnv, startLocalStack, type LocalStack, type LocalStackOptions, type StackEnv, type StackService } from './stack.ts';
export { startFanOutEndpoint, type FanOutEndpoint, type FanOutEndpointOptions } from './fanout-endpoint.ts';
export { startThrottlingProxy, type ThrottlingProxy } from './throttling-proxy.ts';
export { isRejectedItem, startFaultProxy, type FaultMode, type FaultProxy, type FaultProxyCounters } from './fault-proxy.ts';
