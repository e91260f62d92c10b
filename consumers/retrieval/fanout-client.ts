import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import { credentialsFor } from '../aws-endpoints.ts';

/** A Kinesis client over HTTP/2, which SubscribeToShard requires; `endpoint` undefined means real AWS. */
export function createFanOutKinesisClient(region: string, endpoint: string | undefined): KinesisClient {
  return new KinesisClient({
    region,
    endpoint,
    credentials: credentialsFor(endpoint),
    // No request timeout: a subscription stays open for up to 5 minutes. A 512 KiB stream window (the
    // Kinesis Client Library's) lets the next event arrive while a batch is delivered, yet bounds what waits.
    requestHandler: new NodeHttp2Handler({ sessionTimeout: 600_000, nodeHttp2ConnectOptions: { settings: { initialWindowSize: 512 * 1024 } } }),
  });
}
