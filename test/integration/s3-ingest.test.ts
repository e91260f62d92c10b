import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Ingester, resolveOptions, S3IngestOptionsSchema, type S3IngestParts } from '../../consumers/index.ts';
import { installIndexTemplates } from '../../infra/opensearch/index.ts';
import { S3AccessLogSimulator, startElasticMq, type RunningElasticMq } from '../../local/index.ts';
import { hashId } from '../../processors/index.ts';
import { createBucket, startTestStack, uniqueName, waitFor } from '../helpers.ts';

const fixture = (path: string) => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));
const ALB = fixture('alb/awsdocs_alb-user-guide_access-log-entry-examples.log');
const CLOUDTRAIL = fixture('s3/loki_lambda-promtail_cloudtrail-log-file.json.gz');
const VPCFLOW = fixture('s3/loki_lambda-promtail_vpcflowlog.log.gz');
const GUARDDUTY = fixture('panther-analysis_guardduty_rule_test_logs.ndjson').toString('utf8').trim().split('\n').slice(0, 3);

const ALB_KEY = 'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/07/02/123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.50dc6c495c0c9188_20180702T2225Z_10.0.0.1_2soosksgsasnd.log.gz';
const VPC_KEY = 'AWSLogs/123456789012/vpcflowlogs/us-east-1/2022/11/30/123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20221130T2110Z_abcd1234.log.gz';
const GD_KEY = 'AWSLogs/123456789012/GuardDuty/us-east-1/2025/02/25/5a1f0c2e-1111-2222-3333-444455556666.jsonl.gz';
// No AWS layout: the content (a pretty-printed {"Records":[...]}) says what it is.
const TRAIL_KEY = 'exports/trail/cloudtrail-log-file.json.gz';

/** S3's own notification for one new object (keys form-encoded, as S3 sends them). */
function s3Notification(bucket: string, key: string, size: number, eventTime = new Date().toISOString()): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime,
        eventName: 'ObjectCreated:Put',
        s3: { s3SchemaVersion: '1.0', bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+'), size } },
      },
    ],
  });
}

describe('ingest-s3 on ElasticMQ, s3rver and OpenSearch', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  let mq: RunningElasticMq;
  let mqDir: string;
  let sqs: SQSClient;
  let queueUrl: string;
  let dlqUrl: string;
  let parts: S3IngestParts;
  const bucket = uniqueName('alb-logs');
  const deadLetterBucket = uniqueName('dead-letters');
  const prefix = uniqueName('s3ingest');

  const put = async (key: string, body: Buffer) => {
    await stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    return body.length;
  };
  const send = (body: string) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  const counters = () => parts.accounting.counters;
  const handled = () => counters().messagesDeleted + counters().testEvents + counters().unknownMessages;
  const count = async (family: string) => {
    await stack.opensearch.indices.refresh({ index: `${prefix}-*` });
    const res = await stack.opensearch.count({ index: `${prefix}-aws.${family}-*`, ignore_unavailable: true } as never);
    return (res.body as { count: number }).count;
  };
  const search = async (family: string, query: Record<string, unknown> = { match_all: {} }) => {
    await stack.opensearch.indices.refresh({ index: `${prefix}-*` });
    const res = await stack.opensearch.search({ index: `${prefix}-aws.${family}-*`, body: { query, size: 100 } } as never);
    return (res.body as { hits: { hits: Array<{ _id: string; _source: Record<string, any> }> } }).hits.hits;
  };

  beforeAll(async () => {
    stack = await startTestStack();
    mqDir = mkdtempSync(join(tmpdir(), 'centralog-test-elasticmq-'));
    mq = await startElasticMq({ baseDir: mqDir });
    sqs = new SQSClient({ region: 'us-east-1', endpoint: mq.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, requestHandler: new NodeHttpHandler() });
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('events-dlq') }));
    dlqUrl = dlq.QueueUrl!;
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    const q = await sqs.send(
      new CreateQueueCommand({
        QueueName: uniqueName('events'),
        Attributes: { VisibilityTimeout: '10', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }) },
      }),
    );
    queueUrl = q.QueueUrl!;
    await createBucket(stack.s3, bucket);
    await createBucket(stack.s3, deadLetterBucket);
    await installIndexTemplates(stack.opensearch, prefix);
    const options = resolveOptions(S3IngestOptionsSchema, {
      flags: {
        queueUrls: queueUrl,
        deadLetterBucket,
        opensearchUrl: stack.opensearchUrl,
        s3Endpoint: stack.endpoints.s3,
        sqsEndpoint: mq.endpoint,
        indexPrefix: prefix,
        waitTimeSeconds: '1',
        visibilityTimeoutSeconds: '4',
        retryDelayMs: '200',
      },
    });
    parts = createS3Ingester(options);
    parts.ingester.start();
  }, 180_000);

  afterAll(async () => {
    await parts?.ingester.stop();
    await mq?.stop();
    await stack?.stop();
    if (mqDir) rmSync(mqDir, { recursive: true, force: true });
  });

  it('indexes each format with its ECS fields: ALB (direct), CloudTrail (SNS-wrapped), VPC flow (EventBridge), GuardDuty (JSON lines)', async () => {
    const albSize = await put(ALB_KEY, gzipSync(ALB));
    const trailSize = await put(TRAIL_KEY, CLOUDTRAIL);
    await put(VPC_KEY, VPCFLOW);
    await put(GD_KEY, gzipSync(GUARDDUTY.join('\n') + '\n'));
    await put('notes/readme.txt', Buffer.from('not a log of any kind\n'));
    await send(s3Notification(bucket, ALB_KEY, albSize));
    await send(JSON.stringify({ Type: 'Notification', MessageId: 'm-1', TopicArn: 'arn:aws:sns:us-east-1:111122223333:s3-events', Message: s3Notification(bucket, TRAIL_KEY, trailSize) }));
    await send(
      JSON.stringify({
        version: '0',
        id: '17793124-05d4-b198-2fde-7ededc63b103',
        'detail-type': 'Object Created',
        source: 'aws.s3',
        account: '123456789012',
        time: new Date().toISOString(),
        region: 'us-east-1',
        resources: [`arn:aws:s3:::${bucket}`],
        detail: { version: '0', bucket: { name: bucket }, object: { key: VPC_KEY, size: VPCFLOW.length }, reason: 'PutObject' },
      }),
    );
    await send(s3Notification(bucket, GD_KEY, 1));
    await send(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: bucket, RequestId: 'R', HostId: 'H' }));
    await send(s3Notification(bucket, 'notes/readme.txt', 22));
    await send('{"hello":"not a notification"}');
    await waitFor('7 messages handled', () => handled() >= 7, 60_000);

    expect(counters()).toMatchObject({ messagesDeleted: 5, testEvents: 1, unknownMessages: 1, objectsSkipped: 1, messagesRetried: 0 });
    expect(counters().indexedBySource).toMatchObject({ elb: 7, cloudtrail: 2, vpcflow: 3, guardduty: 3 });

    const alb = await search('elb', { term: { 'aws.elb.type': 'https' } });
    expect(alb).toHaveLength(1);
    const https = alb[0]!._source;
    expect(https.http).toEqual({ version: '1.1', request: { method: 'GET', bytes: 0, id: 'Root=1-58337281-1d84f3d73c47ec4e58577259' }, response: { status_code: 200, bytes: 57 } });
    expect(https.tls).toMatchObject({ cipher: 'ECDHE-RSA-AES128-GCM-SHA256', version: '1.2' });
    expect(https.url).toMatchObject({ domain: 'www.example.com', port: 443, path: '/' });
    expect(https.source).toMatchObject({ ip: '192.168.131.39', port: 2817 });
    expect(https.destination).toMatchObject({ ip: '10.0.0.1', port: 80 });
    expect(https.user_agent.original).toBe('curl/7.46.0');
    expect(https.event).toMatchObject({ dataset: 'aws.elb', duration: 11_822_641_000 });
    expect(https.aws.elb).toMatchObject({ transformed_host: 'm.example.com', request_transform_status: 'TransformSuccess', conn_trace_id: 'TID_1234abcd5678ef90' });
    expect(https.aws.s3).toEqual({ bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key: ALB_KEY } });
    expect(https.cloud.account.id).toBe('123456789012');
    // Entries of 2018 are outside the 90-day window: the ingest day's index, tagged.
    expect(https.tags).toContain('event_time_out_of_range');
    // The id is bucket, key and line (the HTTPS entry is line 2).
    expect(alb[0]!._id).toBe(hashId(['s3', bucket, ALB_KEY, '2']));
    // Mapped fields are searchable (the aws.elb template): a range on the status code and an IP term.
    expect(await search('elb', { range: { 'http.response.status_code': { gte: 500 } } })).toHaveLength(1);
    expect(await search('elb', { term: { 'source.ip': '10.0.1.252' } })).toHaveLength(1);

    const trail = await search('cloudtrail');
    expect(trail.map((h) => h._id).sort()).toEqual(
      [hashId(['cloudtrail', '94960c89-0827-44eb-9c4f-f979111461b8']), hashId(['cloudtrail', 'aaca13e1-43d2-4f1d-8a18-93d9d57661a5'])].sort(),
    );
    expect(trail.find((h) => h._source.event.action === 'AssumeRole')!._source).toMatchObject({ event: { dataset: 'aws.cloudtrail', provider: 'sts.amazonaws.com' } });

    const flows = await search('vpcflow', { term: { 'source.ip': '10.26.1.153' } });
    expect(flows).toHaveLength(1);
    expect(flows[0]!._source).toMatchObject({ destination: { ip: '3.239.232.29', port: 443 }, network: { transport: 'tcp' }, event: { dataset: 'aws.vpcflow' } });
    expect(await count('vpcflow')).toBe(3);

    const findings = await search('guardduty');
    expect(findings).toHaveLength(3);
    const first = JSON.parse(GUARDDUTY[0]!) as { id: string; updatedAt: string };
    expect(findings.map((h) => h._id)).toContain(hashId(['guardduty', first.id, first.updatedAt]));
  }, 90_000);

  it('a redelivered message and a re-uploaded object create no duplicate', async () => {
    const before = { created: counters().created, duplicates: counters().duplicates, deleted: counters().messagesDeleted };
    const size = await put(ALB_KEY, gzipSync(ALB)); // the same object again: S3 sends a new notification
    await send(s3Notification(bucket, ALB_KEY, size));
    await send(s3Notification(bucket, ALB_KEY, size, '2018-07-02T22:25:00.000Z')); // an older copy of the notification, redelivered
    await waitFor('both messages handled', () => counters().messagesDeleted >= before.deleted + 2, 60_000);
    expect(counters().created).toBe(before.created);
    expect(counters().duplicates).toBe(before.duplicates + 14);
    expect(await count('elb')).toBe(7);
  }, 90_000);

  it('a poison object goes to dead letters and its message is deleted, not retried', async () => {
    const before = counters().messagesDeleted;
    const poisonKey = ALB_KEY.replace('2soosksgsasnd', 'poison');
    // A gzip header followed by bytes that are no deflate stream.
    const poison = Buffer.concat([gzipSync(ALB).subarray(0, 10), Buffer.from('this is not deflate data at all, just text')]);
    await send(s3Notification(bucket, poisonKey, await put(poisonKey, poison)));
    await waitFor('the poison message handled', () => counters().messagesDeleted > before, 60_000);
    expect(counters().objectsDeadLettered).toBe(1);
    expect(counters().messagesRetried).toBe(0);
    const listed = await stack.s3.send(new ListObjectsV2Command({ Bucket: deadLetterBucket }));
    expect(listed.KeyCount).toBe(1);
    const letter = JSON.parse(gunzipSync(Buffer.from(await (await stack.s3.send(new GetObjectCommand({ Bucket: deadLetterBucket, Key: listed.Contents![0]!.Key! }))).Body!.transformToByteArray())).toString('utf8'));
    expect(letter).toMatchObject({ stage: 'object', object: { bucket, key: poisonKey } });
    expect(letter.reason).toMatch(/^object gzip: /);
    // Nothing from it reached the index.
    expect(await count('elb')).toBe(7);
  }, 90_000);

  it('keeps a message hidden while a large object is worked on: no second delivery, no duplicate', async () => {
    // A queue whose messages reappear after 2 s unless their visibility is extended.
    const slowQueue = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('large'), Attributes: { VisibilityTimeout: '2' } }))).QueueUrl!;
    const large = createS3Ingester(
      resolveOptions(S3IngestOptionsSchema, {
        flags: { queueUrls: slowQueue, deadLetterBucket, opensearchUrl: stack.opensearchUrl, s3Endpoint: stack.endpoints.s3, sqsEndpoint: mq.endpoint, indexPrefix: prefix, waitTimeSeconds: '1', visibilityTimeoutSeconds: '2', batchBytes: '1048576' },
      }),
    );
    const key = ALB_KEY.replace('2soosksgsasnd', 'large');
    const entries = new S3AccessLogSimulator({ region: 'us-east-2' }).entries('123456789012', 60_000);
    const size = await put(key, gzipSync(entries.join('\n') + '\n'));
    large.ingester.start();
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: slowQueue, MessageBody: s3Notification(bucket, key, size) }));
      await waitFor('the large object indexed', () => large.accounting.counters.messagesDeleted >= 1, 240_000);
      const c = large.accounting.counters;
      // Reading 60,000 entries takes longer than the 2 s timeout: without the extensions the message would have come back.
      expect(c.visibilityExtensions).toBeGreaterThan(0);
      expect(c.messagesIn).toBe(1);
      expect(c).toMatchObject({ created: 60_000, duplicates: 0, deadLettered: 0 });
    } finally {
      await large.ingester.stop();
    }
  }, 300_000);

  it("a message that keeps failing (its bucket is gone) goes to the queue's DLQ after its max receives", async () => {
    await send(s3Notification(uniqueName('no-such-bucket'), ALB_KEY, 1));
    await waitFor('two failed receives', () => counters().messagesRetried >= 2, 60_000);
    let moved: string | undefined;
    await waitFor(
      'the message in the DLQ',
      async () => {
        const res = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }));
        moved = res.Messages?.[0]?.Body;
        return moved !== undefined;
      },
      60_000,
    );
    expect(moved).toContain('no-such-bucket');
    // Gone from the source queue: no third attempt.
    await new Promise((r) => setTimeout(r, 3000));
    expect(counters().messagesRetried).toBe(2);
  }, 120_000);
});
