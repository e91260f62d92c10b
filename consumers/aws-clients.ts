import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { credentialsFor, type AwsEndpoints } from './aws-endpoints.ts';

export type { AwsEndpoints } from './aws-endpoints.ts';
export { createKinesisClient } from './kinesis-client.ts';

export function createDynamoDbClient(e: AwsEndpoints): DynamoDBClient {
  return new DynamoDBClient({
    region: e.region,
    endpoint: e.dynamodb,
    credentials: credentialsFor(e.dynamodb),
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 30000 }),
  });
}

/** `credentials`: e.g. an assumed role's, to read another account's bucket; default the standard chain. */
export function createS3Client(e: AwsEndpoints, credentials?: S3ClientConfig['credentials']): S3Client {
  return new S3Client({
    region: e.region,
    endpoint: e.s3,
    forcePathStyle: e.s3 !== undefined,
    credentials: credentials ?? credentialsFor(e.s3),
    // Without these, s3rver silently corrupts streamed uploads.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 60000 }),
  });
}
