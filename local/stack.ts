import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { awsEndpoints, ConsumerOptionsSchema, LocalStackEnvSchema, resolveOptions, type AwsEndpoints } from '../consumers/index.ts';
import { startDynamoDb, startKinesis, startS3, type RunningEmulator } from './emulators.ts';
import { startFanOutEndpoint } from './fanout-endpoint.ts';
import { ALERTS_TOPIC, createTopic, startMoto } from './moto.ts';
import { startOpenSearch, type RunningOpenSearch } from './opensearch.ts';
import { startElasticMq } from './elasticmq.ts';

export type StackEnv = z.infer<typeof LocalStackEnvSchema>;

/** Which services the environment points elsewhere (CENTRALOG_* variables, the same ones `consume` reads). */
export function parseStackEnv(env: NodeJS.ProcessEnv = process.env): StackEnv {
  return resolveOptions(LocalStackEnvSchema, { env });
}

export interface StackService {
  name: 'kinesis' | 'dynamodb' | 's3' | 'opensearch' | 'sns' | 'sqs';
  endpoint: string;
  /** Started by us (true) or given by the environment (false). */
  embedded: boolean;
}

export interface LocalStack {
  endpoints: AwsEndpoints;
  opensearchUrl: string;
  /** The local enhanced fan-out endpoint (HTTP/2) in front of the embedded Kinesis; undefined when Kinesis comes from the environment. */
  fanoutEndpoint?: string;
  services: StackService[];
  opensearch?: RunningOpenSearch;
  /** SNS (moto) and the alerts topic, when the stack was asked for alerts. */
  sns?: { endpoint: string; topicArn: string };
  /** SQS (ElasticMQ), when the stack was asked for the S3 notification path. */
  sqs?: { endpoint: string };
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  /** Holds the OpenSearch node's data and log. */
  workDir: string;
  env?: NodeJS.ProcessEnv;
  opensearchHeap?: string;
  onStatus?: (message: string) => void;
  /** Also SNS (moto, unless CENTRALOG_SNS_ENDPOINT points elsewhere) with a topic for alerts. */
  alerts?: boolean;
  /** Also SQS (ElasticMQ, unless CENTRALOG_SQS_ENDPOINT points elsewhere) for S3 event notifications. */
  sqs?: boolean;
}

/**
 * Starts, on 127.0.0.1, whatever the environment does not point elsewhere:
 * Kinesis, DynamoDB and S3 in-process, a real OpenSearch node as a child JVM, and (for
 * alerts) moto's server as SNS, with the alerts topic created.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const env = parseStackEnv(options.env);
  const started: RunningEmulator[] = [];
  let opensearch: RunningOpenSearch | undefined;
  const stop = async (): Promise<void> => {
    await Promise.allSettled([...started.map((s) => s.stop()), opensearch?.stop()]);
  };
  try {
    const pick = async (
      name: 'kinesis' | 'dynamodb' | 's3' | 'sns' | 'sqs',
      given: string | undefined,
      start: () => Promise<RunningEmulator>,
    ): Promise<StackService> => {
      if (given !== undefined) return { name, endpoint: given, embedded: false };
      const emulator = await start();
      started.push(emulator);
      return { name, endpoint: emulator.endpoint, embedded: true };
    };
    const kinesis = await pick('kinesis', env.kinesisEndpoint, startKinesis);
    // kinesalite has no SubscribeToShard: a local endpoint serves it from kinesalite's records.
    const fanout = kinesis.embedded ? await startFanOutEndpoint({ kinesisEndpoint: kinesis.endpoint, region: env.region }) : undefined;
    if (fanout) started.push({ name: 'kinesis-fanout', endpoint: fanout.url, stop: fanout.stop });
    const dynamodb = await pick('dynamodb', env.dynamodbEndpoint, startDynamoDb);
    const s3 = await pick('s3', env.s3Endpoint, () => startS3());
    let opensearchUrl = env.opensearchUrl;
    if (opensearchUrl === undefined) {
      mkdirSync(options.workDir, { recursive: true });
      options.onStatus?.('starting OpenSearch 2.19 (the first run fetches its jars with Maven)...');
      opensearch = await startOpenSearch({ baseDir: join(options.workDir, 'opensearch'), heap: options.opensearchHeap });
      opensearchUrl = opensearch.url;
      options.onStatus?.(`OpenSearch up in ${((opensearch.classpathMs + opensearch.startMs) / 1000).toFixed(1)} s, log ${opensearch.logFile}`);
    }
    let sns: { service: StackService; topicArn: string } | undefined;
    if (options.alerts) {
      const given = resolveOptions(ConsumerOptionsSchema.pick({ snsEndpoint: true }), { env: options.env ?? process.env }).snsEndpoint;
      const service = await pick('sns', given, () => startMoto({ baseDir: join(options.workDir, 'moto') }));
      sns = { service, topicArn: await createTopic(service.endpoint === 'aws' ? undefined : service.endpoint, env.region, ALERTS_TOPIC) };
    }
    let sqs: StackService | undefined;
    if (options.sqs) {
      const given = (options.env ?? process.env).CENTRALOG_SQS_ENDPOINT || undefined;
      sqs = await pick('sqs', given, async () => {
        options.onStatus?.('starting ElasticMQ (SQS; the first run fetches its jars with Maven)...');
        const mq = await startElasticMq({ baseDir: join(options.workDir, 'elasticmq'), region: env.region });
        return { name: 'sqs', endpoint: mq.endpoint, stop: mq.stop };
      });
    }
    return {
      endpoints: awsEndpoints({ region: env.region, kinesisEndpoint: kinesis.endpoint, dynamodbEndpoint: dynamodb.endpoint, s3Endpoint: s3.endpoint }),
      opensearchUrl,
      fanoutEndpoint: fanout?.url,
      services: [kinesis, dynamodb, s3, { name: 'opensearch', endpoint: opensearchUrl, embedded: opensearch !== undefined }, ...(sns ? [sns.service] : []), ...(sqs ? [sqs] : [])],
      opensearch,
      ...(sns ? { sns: { endpoint: sns.service.endpoint, topicArn: sns.topicArn } } : {}),
      ...(sqs ? { sqs: { endpoint: sqs.endpoint } } : {}),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
