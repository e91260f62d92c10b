import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  waitUntilStreamExists,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { inject } from 'vitest';
import {
  createDynamoDbClient,
  createKinesisClient,
  createOpenSearchClient,
  createS3Client,
  listShards,
  type AwsEndpoints,
} from '../consumers/index.ts';
import { startDynamoDb, startKinesis, startS3, type RunningEmulator } from '../local/index.ts';
import { encodeCwlRecord } from '../processors/index.ts';

/** Real emulators on loopback for one test file, plus the run's shared OpenSearch node. */
export async function startTestStack() {
  const emulators: RunningEmulator[] = [await startKinesis(), await startDynamoDb(), await startS3()];
  const [kinesisE, dynamoE, s3E] = emulators as [RunningEmulator, RunningEmulator, RunningEmulator];
  const endpoints: AwsEndpoints = { region: 'us-east-1', kinesis: kinesisE.endpoint, dynamodb: dynamoE.endpoint, s3: s3E.endpoint };
  const opensearchUrl = inject('opensearchUrl');
  return {
    endpoints,
    opensearchUrl,
    kinesis: createKinesisClient(endpoints),
    dynamodb: createDynamoDbClient(endpoints),
    s3: createS3Client(endpoints),
    opensearch: createOpenSearchClient(opensearchUrl),
    stop: async () => {
      await Promise.all(emulators.map((e) => e.stop()));
    },
  };
}

/** A loopback TCP gate in front of a service: shut, clients get ECONNREFUSED; open again, on the same port. */
export interface Gate {
  endpoint: string;
  /** Stops listening and cuts every open connection, as if the service had gone away. */
  shut(): Promise<void>;
  open(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Puts a gate in front of an http://127.0.0.1:port endpoint. The service behind it keeps
 * its state (an emulator that is closed loses its data), so it can come back as it was.
 */
export async function startGate(target: string): Promise<Gate> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => {
    const upstream = connect(Number(targetPort), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const { port } = server.address() as AddressInfo;
  let listening = true;
  const shut = async () => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    sockets.clear();
    await closed;
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    shut,
    open: async () => {
      if (listening) return;
      await listen(port);
      listening = true;
    },
    stop: shut,
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export async function createStream(kinesis: KinesisClient, name: string, shards: number): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  await waitUntilStreamExists({ client: kinesis, maxWaitTime: 30, minDelay: 1 }, { StreamName: name });
}

export async function createBucket(s3: S3Client, name: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
}

/** Polls until `done()` is true; fails with `what` after the timeout. */
export async function waitFor(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Every record of one shard, read from TRIM_HORIZON. */
export async function readShard(kinesis: KinesisClient, streamName: string, shardId: string): Promise<_Record[]> {
  const records: _Record[] = [];
  const it = await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
  let iterator = it.ShardIterator;
  while (iterator) {
    const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
    const got = out.Records ?? [];
    records.push(...got);
    if (got.length === 0) break;
    iterator = out.NextShardIterator;
  }
  return records;
}

/** Every record in the stream, shard by shard. */
export async function readStream(kinesis: KinesisClient, streamName: string): Promise<_Record[]> {
  const records: _Record[] = [];
  for (const shard of await listShards(kinesis, streamName)) records.push(...(await readShard(kinesis, streamName, shard.ShardId!)));
  return records;
}

/** A CloudWatch Logs record holding one plain-text event of account 210987654321's /app/plain group. */
export function plainEventRecord(logStream: string, id: string, message: string, timestamp: number): Uint8Array {
  return encodeCwlRecord({
    messageType: 'DATA_MESSAGE',
    owner: '210987654321',
    logGroup: '/app/plain',
    logStream,
    subscriptionFilters: ['f'],
    logEvents: [{ id, timestamp, message }],
  });
}
