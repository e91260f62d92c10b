import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { AwsEndpoints } from '../consumers/index.ts';
import { startDynamoDb, startKinesis, startS3, type RunningEmulator } from './emulators.ts';
import { startOpenSearch, type RunningOpenSearch } from './opensearch.ts';

/** An endpoint URL, or `aws` for the real service with the default credential chain. */
const endpoint = z.union([z.literal('aws'), z.url({ protocol: /^https?$/ })]);

export const StackEnvSchema = z.object({
  CENTRALOG_REGION: z.string().min(1).default('us-east-1'),
  CENTRALOG_KINESIS_ENDPOINT: endpoint.optional(),
  CENTRALOG_DYNAMODB_ENDPOINT: endpoint.optional(),
  CENTRALOG_S3_ENDPOINT: endpoint.optional(),
  CENTRALOG_OPENSEARCH_URL: z.url({ protocol: /^https?$/ }).optional(),
});
export type StackEnv = z.infer<typeof StackEnvSchema>;

/** A configuration value is wrong; the message names the key and what was expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function parseStackEnv(env: NodeJS.ProcessEnv = process.env): StackEnv {
  const keys = Object.keys(StackEnvSchema.shape);
  const picked = Object.fromEntries(keys.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  const result = StackEnvSchema.safeParse(picked);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0]);
    throw new ConfigError(
      `${key}=${JSON.stringify(env[key])} is not valid: expected ${key === 'CENTRALOG_REGION' ? 'a region name' : key === 'CENTRALOG_OPENSEARCH_URL' ? 'an http(s) URL' : "an http(s) URL or 'aws'"}`,
    );
  }
  return result.data;
}

export interface StackService {
  name: 'kinesis' | 'dynamodb' | 's3' | 'opensearch';
  endpoint: string;
  /** Started by us (true) or given by the environment (false). */
  embedded: boolean;
}

export interface LocalStack {
  endpoints: AwsEndpoints;
  opensearchUrl: string;
  services: StackService[];
  opensearch?: RunningOpenSearch;
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  /** Holds the OpenSearch node's data and log. */
  workDir: string;
  env?: NodeJS.ProcessEnv;
  opensearchHeap?: string;
  onStatus?: (message: string) => void;
}

/**
 * Starts, on 127.0.0.1, whatever the environment does not point elsewhere:
 * Kinesis, DynamoDB and S3 in-process, and a real OpenSearch node as a child JVM.
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
      name: 'kinesis' | 'dynamodb' | 's3',
      given: string | undefined,
      start: () => Promise<RunningEmulator>,
    ): Promise<StackService> => {
      if (given !== undefined) return { name, endpoint: given, embedded: false };
      const emulator = await start();
      started.push(emulator);
      return { name, endpoint: emulator.endpoint, embedded: true };
    };
    const kinesis = await pick('kinesis', env.CENTRALOG_KINESIS_ENDPOINT, startKinesis);
    const dynamodb = await pick('dynamodb', env.CENTRALOG_DYNAMODB_ENDPOINT, startDynamoDb);
    const s3 = await pick('s3', env.CENTRALOG_S3_ENDPOINT, () => startS3());
    let opensearchUrl = env.CENTRALOG_OPENSEARCH_URL;
    if (opensearchUrl === undefined) {
      mkdirSync(options.workDir, { recursive: true });
      options.onStatus?.('starting OpenSearch 2.19 (the first run fetches its jars with Maven)...');
      opensearch = await startOpenSearch({ baseDir: join(options.workDir, 'opensearch'), heap: options.opensearchHeap });
      opensearchUrl = opensearch.url;
      options.onStatus?.(`OpenSearch up in ${((opensearch.classpathMs + opensearch.startMs) / 1000).toFixed(1)} s, log ${opensearch.logFile}`);
    }
    const aws = (e: string): string | undefined => (e === 'aws' ? undefined : e);
    return {
      endpoints: {
        region: env.CENTRALOG_REGION,
        kinesis: aws(kinesis.endpoint),
        dynamodb: aws(dynamodb.endpoint),
        s3: aws(s3.endpoint),
      },
      opensearchUrl,
      services: [kinesis, dynamodb, s3, { name: 'opensearch', endpoint: opensearchUrl, embedded: opensearch !== undefined }],
      opensearch,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
