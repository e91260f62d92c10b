import { ConditionalCheckFailedException, CreateTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, GetShardIteratorCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  checkOpenSearchPrerequisites,
  MissingPrerequisiteError,
  OpenSearchStartError,
  parseStackEnv,
  startOpenSearch,
} from '../../local/index.ts';
import { ConfigError } from '../../consumers/index.ts';
import { createBucket, createStream, startTestStack, uniqueName } from '../helpers.ts';

type TestStack = Awaited<ReturnType<typeof startTestStack>>;

/** Resolves with true if a TCP connection to host:port is accepted, false if it is refused. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Process ids whose command line mentions `needle` (the test process itself excluded). */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return pids;
}

describe('local stack: in-process emulators', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('every emulator endpoint is an http URL on 127.0.0.1 and accepts connections only on that address', async () => {
    for (const endpoint of [stack.endpoints.kinesis, stack.endpoints.dynamodb, stack.endpoints.s3]) {
      expect(endpoint).toBeDefined();
      const url = new URL(endpoint!);
      expect(url.protocol).toBe('http:');
      expect(url.hostname).toBe('127.0.0.1');
      const port = Number(url.port);
      expect(port).toBeGreaterThan(0);
      expect(await accepts('127.0.0.1', port)).toBe(true);
      // Bound to 127.0.0.1 only: another loopback address (and so every other interface) is refused.
      expect(await accepts('127.0.0.2', port)).toBe(false);
    }
  });

  it('Kinesis: a record put with PutRecord comes back byte-exact from GetRecords with its partition key and sequence number', async () => {
    const streamName = uniqueName('roundtrip');
    await createStream(stack.kinesis, streamName, 1);
    const data = randomBytes(4096);
    const put = await stack.kinesis.send(new PutRecordCommand({ StreamName: streamName, PartitionKey: 'pk-1', Data: data }));
    expect(put.ShardId).toBeDefined();
    expect(put.SequenceNumber).toMatch(/^\d+$/);
    const iterator = await stack.kinesis.send(
      new GetShardIteratorCommand({ StreamName: streamName, ShardId: put.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const out = await stack.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator! }));
    expect(out.Records).toHaveLength(1);
    const record = out.Records![0]!;
    expect(Buffer.from(record.Data!).equals(data)).toBe(true);
    expect(record.PartitionKey).toBe('pk-1');
    expect(record.SequenceNumber).toBe(put.SequenceNumber);
  });

  it('DynamoDB: a created table stores an item that GetItem returns, and enforces attribute_not_exists conditions', async () => {
    const table = uniqueName('leases');
    await stack.dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const item = { leaseKey: { S: 'shardId-000000000000' }, leaseCounter: { N: '7' }, leaseOwner: { S: 'worker-a' } };
    await stack.dynamodb.send(new PutItemCommand({ TableName: table, Item: item }));
    const got = await stack.dynamodb.send(
      new GetItemCommand({ TableName: table, Key: { leaseKey: { S: 'shardId-000000000000' } }, ConsistentRead: true }),
    );
    expect(got.Item).toEqual(item);
    await expect(
      stack.dynamodb.send(
        new PutItemCommand({ TableName: table, Item: item, ConditionExpression: 'attribute_not_exists(leaseKey)' }),
      ),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it('S3: objects put from a buffer and from a stream come back byte-exact', async () => {
    const bucket = uniqueName('bucket');
    await createBucket(stack.s3, bucket);
    const fromBuffer = randomBytes(300_000);
    await stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/buffer.bin', Body: fromBuffer }));
    const fromStream = randomBytes(200_000);
    await stack.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'a/stream.bin',
        Body: Readable.from([fromStream.subarray(0, 70_000), fromStream.subarray(70_000)]),
        ContentLength: fromStream.length,
      }),
    );
    for (const [key, expected] of [
      ['a/buffer.bin', fromBuffer],
      ['a/stream.bin', fromStream],
    ] as const) {
      const got = await stack.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = Buffer.from(await got.Body!.transformToByteArray());
      expect(bytes.length, key).toBe(expected.length);
      expect(bytes.equals(expected), key).toBe(true);
    }
  });
});

describe('local stack: the shared OpenSearch node', () => {
  const url = inject('opensearchUrl');

  it('listens on 127.0.0.1 and reports a yellow or green cluster', async () => {
    expect(new URL(url).hostname).toBe('127.0.0.1');
    const res = await fetch(`${url}/_cluster/health?wait_for_status=yellow&timeout=30s`);
    expect(res.status).toBe(200);
    const health = (await res.json()) as { status: string; number_of_nodes: number };
    expect(['yellow', 'green']).toContain(health.status);
    expect(health.number_of_nodes).toBe(1);
  });

  it('accepts a flat_object mapping and searches inside a flat_object field', async () => {
    const index = uniqueName('centralog-test-flat');
    try {
      const created = await fetch(`${url}/${index}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          settings: { number_of_shards: 1, number_of_replicas: 0 },
          mappings: { properties: { requestParameters: { type: 'flat_object' }, eventName: { type: 'keyword' } } },
        }),
      });
      expect(created.status, await created.clone().text()).toBe(200);
      const mapping = (await (await fetch(`${url}/${index}/_mapping`)).json()) as Record<
        string,
        { mappings: { properties: Record<string, { type: string }> } }
      >;
      expect(mapping[index]?.mappings.properties.requestParameters?.type).toBe('flat_object');

      const doc = { eventName: 'PutObject', requestParameters: { bucketName: 'audit-logs', key: { nested: { deep: 'x' } }, n: 3 } };
      const indexed = await fetch(`${url}/${index}/_doc/1?refresh=true`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(doc),
      });
      expect(indexed.status).toBe(201);
      const search = await fetch(`${url}/${index}/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: { term: { 'requestParameters.bucketName': 'audit-logs' } } }),
      });
      const hits = (await search.json()) as { hits: { total: { value: number } } };
      expect(hits.hits.total.value).toBe(1);
      // A flat_object adds no sub-field mappings, whatever the document holds.
      const after = (await (await fetch(`${url}/${index}/_mapping`)).json()) as Record<
        string,
        { mappings: { properties: Record<string, { type: string; properties?: unknown }> } }
      >;
      expect(after[index]?.mappings.properties.requestParameters).toEqual({ type: 'flat_object' });
    } finally {
      await fetch(`${url}/${index}`, { method: 'DELETE' });
    }
  });
});

describe('local stack: OpenSearch prerequisites and start failures', () => {
  const tmpDirs: string[] = [];
  const tmp = (prefix: string): string => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    tmpDirs.push(dir);
    return dir;
  };

  afterAll(() => {
    for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('without java on PATH, the prerequisite check throws MissingPrerequisiteError naming java and how to install it', () => {
    let error: unknown;
    try {
      checkOpenSearchPrerequisites('/nonexistent-dir');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MissingPrerequisiteError);
    const message = (error as Error).message;
    expect(message).toMatch(/\bjava\b/);
    expect(message).toMatch(/install/i);
    expect(message).toContain('openjdk-17');
  });

  it('with java but without mvn on PATH, the prerequisite check throws MissingPrerequisiteError naming mvn and how to install it', () => {
    const realJava = execFileSync('which', ['java'], { encoding: 'utf8' }).trim();
    const bin = tmp('centralog-java-only-');
    symlinkSync(realJava, join(bin, 'java'));
    let error: unknown;
    try {
      checkOpenSearchPrerequisites(bin);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MissingPrerequisiteError);
    const message = (error as Error).message;
    expect(message).toMatch(/\bmvn\b/);
    expect(message).toMatch(/install/i);
    expect(message).toMatch(/maven/i);
  });

  it('a JVM that refuses its heap setting makes startOpenSearch reject with OpenSearchStartError naming the log file, leaving no java process', async () => {
    const baseDir = tmp('centralog-bogus-heap-');
    const started = Date.now();
    let error: unknown;
    try {
      await startOpenSearch({ baseDir, heap: 'bogus', startTimeoutMs: 60_000 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(OpenSearchStartError);
    const logFile = join(baseDir, 'opensearch.log');
    expect((error as Error).message).toContain(logFile);
    // The failure came from the JVM's exit, not from the start timeout.
    expect((error as Error).message).toMatch(/exited/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(readFileSync(logFile, 'utf8')).toMatch(/heap size/i);
    expect(processesMentioning(baseDir)).toEqual([]);
  });
});

describe('local stack: configuration', () => {
  it('an endpoint that is not a URL is a ConfigError whose message names the key', () => {
    let error: unknown;
    try {
      parseStackEnv({ CENTRALOG_KINESIS_ENDPOINT: 'not a url' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('CENTRALOG_KINESIS_ENDPOINT');
    expect((error as Error).message).toMatch(/expected/);
  });

  it("an endpoint that is not http(s) is a ConfigError naming its key", () => {
    expect(() => parseStackEnv({ CENTRALOG_S3_ENDPOINT: 'ftp://127.0.0.1:21' })).toThrow(ConfigError);
    expect(() => parseStackEnv({ CENTRALOG_S3_ENDPOINT: 'ftp://127.0.0.1:21' })).toThrow(/CENTRALOG_S3_ENDPOINT/);
  });

  it("'aws' and http(s) URLs are accepted as endpoints, and the region defaults to us-east-1", () => {
    const env = parseStackEnv({
      CENTRALOG_KINESIS_ENDPOINT: 'aws',
      CENTRALOG_DYNAMODB_ENDPOINT: 'http://127.0.0.1:4567',
      CENTRALOG_S3_ENDPOINT: 'https://s3.example.test',
      CENTRALOG_OPENSEARCH_URL: 'http://127.0.0.1:9201',
    });
    expect(env).toEqual({
      region: 'us-east-1',
      kinesisEndpoint: 'aws',
      dynamodbEndpoint: 'http://127.0.0.1:4567',
      s3Endpoint: 'https://s3.example.test',
      opensearchUrl: 'http://127.0.0.1:9201',
    });
  });
});
