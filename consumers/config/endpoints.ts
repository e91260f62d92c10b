import * as z from 'zod';
import { endpoint, httpUrl } from './options.ts';

/**
 * Where each service lives; the same keys (and so the same CENTRALOG_* variables) for the
 * local stack, `consume` and every other entry point.
 */
export const EndpointOptionsSchema = z.object({
  region: z.string().min(1, 'expected a region name').default('us-east-1').meta({ description: 'AWS region', arg: 'region' }),
  kinesisEndpoint: endpoint.optional().meta({ description: "Kinesis endpoint URL, or 'aws' for real AWS (the default)", arg: 'url' }),
  dynamodbEndpoint: endpoint.optional().meta({ description: "DynamoDB endpoint URL, or 'aws'", arg: 'url' }),
  s3Endpoint: endpoint.optional().meta({ description: "S3 endpoint URL, or 'aws'", arg: 'url' }),
});
export type EndpointOptions = z.infer<typeof EndpointOptionsSchema>;

/** The local stack also takes an OpenSearch node from the environment. */
export const LocalStackEnvSchema = EndpointOptionsSchema.extend({
  opensearchUrl: httpUrl.optional().meta({ description: 'an OpenSearch URL instead of the local node', arg: 'url' }),
});

/** Endpoint options as the client factories take them: `aws` (or unset) means the real service. */
export function awsEndpoints(options: EndpointOptions): { region: string; kinesis?: string; dynamodb?: string; s3?: string } {
  const real = (e: string | undefined) => (e === 'aws' ? undefined : e);
  return { region: options.region, kinesis: real(options.kinesisEndpoint), dynamodb: real(options.dynamodbEndpoint), s3: real(options.s3Endpoint) };
}
