import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { credentialsFor, type AwsEndpoints } from './aws-endpoints.ts';

// Apart from the DynamoDB and S3 clients so that the Firehose transform Lambda, which only
// writes back to Kinesis, does not load their SDKs at every cold start.
export function createKinesisClient(e: AwsEndpoints): KinesisClient {
  // The SDK's default HTTP/2 handler fails against kinesalite ("Protocol error").
  return new KinesisClient({
    region: e.region,
    endpoint: e.kinesis,
    credentials: credentialsFor(e.kinesis),
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 30000 }),
  });
}
