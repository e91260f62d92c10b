import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Where each AWS service lives: an endpoint URL for a local or other service, undefined for real AWS. */
export interface AwsEndpoints {
  region: string;
  kinesis?: string;
  dynamodb?: string;
  s3?: string;
}

// Local emulators accept any key; s3rver wants exactly this pair.
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

function credentialsFor(endpoint: string | undefined) {
  if (endpoint === undefined || process.env.AWS_ACCESS_KEY_ID) return undefined;
  return LOCAL_CREDENTIALS;
}

export function createKinesisClient(e: AwsEndpoints): KinesisClient {
  // The SDK's default HTTP/2 handler fails against kinesalite ("Protocol error").
  return new KinesisClient({
    region: e.region,
    endpoint: e.kinesis,
    credentials: credentialsFor(e.kinesis),
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 30000 }),
  });
}

export function createDynamoDbClient(e: AwsEndpoints): DynamoDBClient {
  return new DynamoDBClient({
    region: e.region,
    endpoint: e.dynamodb,
    credentials: credentialsFor(e.dynamodb),
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 30000 }),
  });
}

export function createS3Client(e: AwsEndpoints): S3Client {
  return new S3Client({
    region: e.region,
    endpoint: e.s3,
    forcePathStyle: e.s3 !== undefined,
    credentials: credentialsFor(e.s3),
    // Without these, s3rver silently corrupts streamed uploads.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 60000 }),
  });
}
