import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@opensearch-project/opensearch';
import { z } from 'zod';
import {
  awsEndpoints,
  createDynamoDbClient,
  createKinesisClient,
  createOpenSearchClient,
  createS3Client,
  optionFields,
  signsRequests,
  type EndpointOptions,
} from '../../consumers/index.ts';
import { useProfile } from '../io.ts';

export interface OperatorClients {
  kinesis(): KinesisClient;
  s3(): S3Client;
  dynamodb(): DynamoDBClient;
  opensearch(): Client;
}

type ClientOptions = EndpointOptions & {
  profile?: string;
  opensearchUrl?: string;
  opensearchAuth?: 'auto' | 'none' | 'sigv4';
};

/**
 * The clients a command uses, made on first use with the same factories as the consumer
 * (so the local stack's quirks are handled once), for the profile and region given.
 */
export function operatorClients(options: ClientOptions): OperatorClients {
  useProfile(options);
  const endpoints = awsEndpoints(options);
  const once = <T>(make: () => T): (() => T) => {
    let made: T | undefined;
    return () => (made ??= make());
  };
  return {
    kinesis: once(() => createKinesisClient(endpoints)),
    s3: once(() => createS3Client(endpoints)),
    dynamodb: once(() => createDynamoDbClient(endpoints)),
    opensearch: once(() => {
      if (!options.opensearchUrl) throw new Error('no OpenSearch URL');
      const service = signsRequests({ opensearchUrl: options.opensearchUrl, opensearchAuth: options.opensearchAuth ?? 'auto' });
      return createOpenSearchClient(options.opensearchUrl, service ? { sigv4: { region: options.region, service } } : {});
    }),
  };
}

/**
 * Where the CloudWatch Logs control plane is, for the commands that call it (onboard,
 * destination): one URL for every region (a VPC interface endpoint, an emulator), or `aws`.
 */
export const CloudWatchLogsEndpointSchema = z.object({
  cloudwatchLogsEndpoint: optionFields.endpoint
    .optional()
    .meta({ description: "CloudWatch Logs endpoint URL used for every region (a VPC endpoint, an emulator), or 'aws' for real AWS (the default)", arg: 'url' }),
});

/** The endpoint the CloudWatch Logs clients take: undefined for real AWS. */
export function cloudWatchLogsEndpoint(options: z.infer<typeof CloudWatchLogsEndpointSchema>): string | undefined {
  return options.cloudwatchLogsEndpoint === 'aws' ? undefined : options.cloudwatchLogsEndpoint;
}

/** OpenSearch's own reason for a failed request, instead of the client's generic message. */
export function opensearchReason(err: unknown): string {
  const e = err as { meta?: { statusCode?: number; body?: { error?: { reason?: string; type?: string } | string } }; message?: string };
  const body = e.meta?.body;
  const reason = typeof body?.error === 'object' ? (body.error.reason ?? body.error.type) : body?.error;
  return e.meta?.statusCode ? `${e.meta.statusCode} ${reason ?? e.message}` : (e.message ?? String(err));
}
