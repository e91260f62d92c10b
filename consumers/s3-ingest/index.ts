// The second way in: S3 event notifications on SQS -> objects -> the same processors and sinks.
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Client } from '@opensearch-project/opensearch';
import { IndexBudget } from '../../processors/index.ts';
import { createS3Client } from '../aws-clients.ts';
import { credentialsFor } from '../aws-endpoints.ts';
import { awsEndpoints } from '../config/endpoints.ts';
import { ConfigError } from '../config/options.ts';
import { signsRequests } from '../consumer.ts';
import { createOpenSearchClient } from '../opensearch-client.ts';
import type { LogFunction } from '../scheduler/shard-processor.ts';
import { DeadLetterSink } from '../sinks/dead-letter.ts';
import { BulkSink } from '../sinks/opensearch-bulk.ts';
import { S3IngestAccounting } from './accounting.ts';
import { assumedRoleCredentials } from './assume-role.ts';
import { S3Ingester } from './ingester.ts';
import { ObjectIngest } from './object-ingest.ts';
import type { S3IngestOptions } from './options.ts';

export { emptyS3IngestCounters, S3IngestAccounting, type MessageOutcome, type S3IngestCounters } from './accounting.ts';
export { AssumeRoleError, assumedRoleCredentials } from './assume-role.ts';
export { S3Ingester, type S3IngesterOptions } from './ingester.ts';
export { decodeS3Key, parseNotification, type Notification, type ObjectCreated } from './notifications.ts';
export { ObjectIngest, type ExportOrigin, type ObjectOutcome } from './object-ingest.ts';
export { S3IngestOptionsSchema, type S3IngestOptions } from './options.ts';

export interface S3IngestParts {
  ingester: S3Ingester;
  opensearch: Client;
  accounting: S3IngestAccounting;
}

const real = (e: string | undefined) => (e === 'aws' ? undefined : e);

/** Builds one S3 ingest worker and its clients from validated options: what `ingest-s3`, the demo and tests use. */
export function createS3Ingester(options: S3IngestOptions, deps: { log?: LogFunction } = {}): S3IngestParts {
  if (options.externalId !== undefined && options.roleArn === undefined) throw new ConfigError('--external-id (CENTRALOG_EXTERNAL_ID) is only used with --role-arn: give the role it belongs to');
  const endpoints = awsEndpoints(options);
  const service = signsRequests(options);
  const opensearch = createOpenSearchClient(options.opensearchUrl, service ? { sigv4: { region: options.region, service } } : {});
  const accounting = new S3IngestAccounting();
  const sqsEndpoint = real(options.sqsEndpoint);
  const sqs = new SQSClient({ region: options.region, endpoint: sqsEndpoint, credentials: credentialsFor(sqsEndpoint), requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 60_000 }) });
  let readCredentials;
  if (options.roleArn) {
    const stsEndpoint = real(options.stsEndpoint);
    const sts = new STSClient({ region: options.region, endpoint: stsEndpoint, credentials: credentialsFor(stsEndpoint) });
    readCredentials = assumedRoleCredentials(sts, options.roleArn, options.externalId);
  }
  const objects = new ObjectIngest(
    // Objects are read as the bucket owner's role when one is given; dead letters are written as ourselves.
    createS3Client(endpoints, readCredentials),
    new BulkSink(opensearch, { maxRequestBytes: options.batchBytes }),
    new DeadLetterSink(createS3Client(endpoints), options.deadLetterBucket, options.deadLetterPrefix),
    {
      batchBytes: options.batchBytes,
      documents: {
        indexPrefix: options.indexPrefix,
        indexWindow: { maxAgeDays: options.maxEventAgeDays },
        indexBudget: new IndexBudget(options.maxNewIndicesPerHour),
        aggregatorAccounts: options.aggregatorAccounts,
      },
    },
  );
  const ingester = new S3Ingester({
    sqs,
    queueUrls: options.queueUrls,
    objects,
    accounting,
    waitTimeSeconds: options.waitTimeSeconds,
    maxMessages: options.maxMessages,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
    maxObjectsInFlight: options.maxObjectsInFlight,
    retryDelayMs: options.retryDelayMs,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
    log: deps.log,
  });
  return { ingester, opensearch, accounting };
}
