import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerOptionsSchema, createConsumer } from '../../consumers/index.ts';
import { createBucket, createStream, startGate, startTestStack, uniqueName, waitFor, type Gate } from '../helpers.ts';

type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;
let gate: Gate;

beforeAll(async () => {
  stack = await startTestStack();
  gate = await startGate(stack.endpoints.dynamodb!);
});
afterAll(async () => {
  await gate?.stop();
  await stack?.stop();
});

describe('worker health follows the lease table, not only shard sync', () => {
  it('turns unhealthy within twice failoverTime of losing DynamoDB, though shard sync (hourly here) has not failed yet, and healthy again once it is back', async () => {
    const streamName = uniqueName('health');
    const bucket = uniqueName('dead');
    await createStream(stack.kinesis, streamName, 2);
    await createBucket(stack.s3, bucket);
    const options = ConsumerOptionsSchema.parse({
      streamName,
      leaseTable: uniqueName('leases'),
      deadLetterBucket: bucket,
      opensearchUrl: stack.opensearchUrl,
      kinesisEndpoint: stack.endpoints.kinesis,
      dynamodbEndpoint: gate.endpoint,
      s3Endpoint: stack.endpoints.s3,
      failoverTimeMs: 2000,
      shardSyncIntervalMs: 3_600_000,
    });
    const { worker } = createConsumer(options);
    await worker.start();
    try {
      await waitFor('both leases held', () => worker.health().leasesHeld === 2, 15_000);
      expect(worker.health()).toMatchObject({ healthy: true, status: 'ok' });

      await gate.shut();
      const shutAt = Date.now();
      await waitFor('unhealthy without the lease table', () => !worker.health().healthy, 15_000);
      const after = Date.now() - shutAt;
      const h = worker.health();
      expect(h.status).toBe('unhealthy');
      expect(h.leaseTableAgeMs).toBeGreaterThanOrEqual(2 * 2000);
      // Shard sync alone would have kept it healthy for three hours.
      expect(h.lastShardSyncAgeMs).toBeLessThan(3 * 3_600_000);
      expect(after).toBeLessThan(10_000);

      await gate.open();
      await waitFor('healthy again', () => worker.health().healthy, 15_000);
    } finally {
      await gate.open();
      await worker.stop();
    }
  });
});
