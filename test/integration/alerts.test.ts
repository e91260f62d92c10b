import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerOptionsSchema, createConsumer } from '../../consumers/index.ts';
import { createAlerting, createSnsClient, type AlertBody } from '../../consumers/alerts/index.ts';
import { baseComponentTemplate, indexTemplates, installIndexTemplates } from '../../infra/opensearch/index.ts';
import { ALERTS_TOPIC, createTopic, startMoto, type RunningMoto } from '../../local/moto.ts';
import { encodeCwlRecord } from '../../processors/index.ts';
import { createBucket, createStream, startGate, startTestStack, uniqueName, waitFor, type Gate } from '../helpers.ts';

const STRATUS = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'cloudtrail', 'stratus-red-team');
/** Real CloudTrail events captured while running the attack (see the fixtures' README). */
const trailStop = readFileSync(join(STRATUS, 'aws.defense-evasion.cloudtrail-stop.json'), 'utf8');
const openPort22 = readFileSync(join(STRATUS, 'aws.exfiltration.ec2-security-group-open-port-22-ingress.json'), 'utf8');
const first = (text: string) => JSON.stringify((JSON.parse(text) as unknown[])[0]);

// The rules these events must raise, by id (shipped: SigmaHQ's and centralog's own).
const CLOUDTRAIL_STOPPED = 'b2685ca5-edb9-4fd6-9912-c5d1720f169a'; // centralog, high
const CLOUDTRAIL_CHANGE = '4db60cc0-36fb-42b7-9b58-a5b53019fb74'; // SigmaHQ (vitaliy0x1), medium
const INGRESS_FROM_INTERNET = '8daf8714-75b2-4a9e-8f58-1a904a534ba7'; // centralog, high
const SG_MODIFICATION = '6fb77778-040f-4015-9440-572aa9b6b580'; // SigmaHQ (jamesc-grafana), medium
const ACCOUNT_MISMATCH = '13bd4e06-df4e-4290-b0d3-f01fdf5afa19'; // centralog, high

type Stack = Awaited<ReturnType<typeof startTestStack>>;
interface Published {
  alertId: string;
  ruleId: string;
  level: string;
  attributes: Record<string, string>;
  message: Record<string, unknown>;
}

describe('detections in the consumer, with alerts published through a real local SNS (moto)', () => {
  let stack: Stack;
  let moto: RunningMoto;
  let gate: Gate;
  let sqs: SQSClient;
  let queueUrl: string;
  let topicArn: string;
  const workDir = mkdtempSync(join(tmpdir(), 'centralog-alerts-it-'));
  const prefix = uniqueName('alerts-it').toLowerCase();

  beforeAll(async () => {
    stack = await startTestStack();
    await installIndexTemplates(stack.opensearch, prefix);
    moto = await startMoto({ baseDir: workDir });
    gate = await startGate(moto.endpoint);
    topicArn = await createTopic(moto.endpoint, 'us-east-1', ALERTS_TOPIC);
    // What subscribers get: a queue subscribed to the topic, read straight from moto's SQS.
    sqs = new SQSClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('alerts') }))).QueueUrl!;
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    const sns = createSnsClient('us-east-1', moto.endpoint);
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: attrs.Attributes!.QueueArn! }));
  }, 120_000);

  afterAll(async () => {
    await stack.opensearch.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
    for (const t of indexTemplates(prefix)) await stack.opensearch.indices.deleteIndexTemplate({ name: t.name });
    await stack.opensearch.cluster.deleteComponentTemplate({ name: baseComponentTemplate(prefix).name });
    await gate?.stop();
    await moto?.stop();
    await stack.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  /** Everything the topic delivered to the queue since the last call. */
  async function published(): Promise<Published[]> {
    const out: Published[] = [];
    for (;;) {
      const res = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      const messages = res.Messages ?? [];
      if (messages.length === 0) return out;
      for (const m of messages) {
        const envelope = JSON.parse(m.Body!) as { Message: string; MessageAttributes: Record<string, { Value: string }> };
        const message = JSON.parse(envelope.Message) as { alert: { id: string }; rule: { id: string; level: string } };
        const attributes = Object.fromEntries(Object.entries(envelope.MessageAttributes ?? {}).map(([k, v]) => [k, v.Value]));
        out.push({ alertId: message.alert.id, ruleId: message.rule.id, level: message.rule.level, attributes, message });
      }
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    }
  }

  async function alertsInIndex(): Promise<Array<{ _id: string; _index: string; _source: AlertBody }>> {
    await stack.opensearch.indices.refresh({ index: `${prefix}-alerts-*`, allow_no_indices: true, ignore_unavailable: true });
    const res = await stack.opensearch.search({ index: `${prefix}-alerts-*`, allow_no_indices: true, ignore_unavailable: true, body: { size: 1000, query: { match_all: {} } } });
    return (res.body as unknown as { hits: { hits: Array<{ _id: string; _index: string; _source: AlertBody }> } }).hits.hits;
  }

  /** One CloudWatch Logs record per event, as a subscription delivers them. */
  async function send(streamName: string, events: Array<{ owner: string; logGroup: string; logStream: string; id: string; message: string }>) {
    await stack.kinesis.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: events.map((e) => ({
          PartitionKey: e.id,
          Data: encodeCwlRecord({
            messageType: 'DATA_MESSAGE',
            owner: e.owner,
            logGroup: e.logGroup,
            logStream: e.logStream,
            subscriptionFilters: ['centralog'],
            logEvents: [{ id: e.id, timestamp: Date.parse('2024-08-01T12:24:00Z'), message: e.message }],
          }),
        })),
      }),
    );
  }

  /** A consumer built exactly as `centralog consume` builds it, reading a stream from its start. */
  async function consume(streamName: string, events: number, snsEndpoint: string) {
    const deadLetterBucket = uniqueName('dead-letters');
    await createBucket(stack.s3, deadLetterBucket);
    const options = ConsumerOptionsSchema.parse({
      streamName,
      leaseTable: uniqueName('leases'),
      deadLetterBucket,
      opensearchUrl: stack.opensearchUrl,
      region: 'us-east-1',
      kinesisEndpoint: stack.endpoints.kinesis,
      dynamodbEndpoint: stack.endpoints.dynamodb,
      s3Endpoint: stack.endpoints.s3,
      indexPrefix: prefix,
      idleBackoffMs: 100,
      // Pinned 2024 events keep their own days (and so months) instead of the ingest day's.
      maxEventAgeDays: 36_500,
      logGroupSources: { 'aws-cloudtrail-logs-*': 'cloudtrail' },
      alertsTopicArn: topicArn,
      snsEndpoint,
    });
    const parts = createConsumer(options);
    await parts.worker.start();
    await waitFor(`${events} events indexed`, () => parts.worker.counters.eventsIn >= events);
    // Publications run after their batch: wait for them, as the demo does, before stopping.
    await parts.alerting!.idle();
    await parts.worker.stop();
    return parts;
  }

  const trail = { owner: '143434273843', logGroup: 'aws-cloudtrail-logs-143434273843', logStream: '143434273843_CloudTrail_us-east-1' };
  const sg = { owner: '032092706103', logGroup: 'aws-cloudtrail-logs-032092706103', logStream: '032092706103_CloudTrail_us-east-1' };
  const batchOne = [
    { ...trail, id: '1', message: first(trailStop) },
    { ...sg, id: '2', message: first(openPort22) },
    // The same event from a group whose owner is not the account it names: also the mismatch rule.
    { ...sg, owner: '999999999999', id: '3', message: first(openPort22) },
    // Forged copies from a group mapped to nothing: indexed as generic documents, never detected.
    { owner: '143434273843', logGroup: '/app/forged', logStream: 'x', id: '4', message: first(trailStop) },
    { owner: '032092706103', logGroup: '/app/forged', logStream: 'x', id: '5', message: first(openPort22) },
  ];

  it('turns each rule match of a mapped group into one alert document and one SNS message, and forged copies into none', async () => {
    const streamName = uniqueName('stream');
    await createStream(stack.kinesis, streamName, 1);
    await send(streamName, batchOne);
    const { alerting, metrics } = await consume(streamName, batchOne.length, moto.endpoint);

    const docs = await alertsInIndex();
    const rulesBySource = (id: string) => docs.filter((d) => d._source.centralog.alert.source.id === id).map((d) => d._source.rule.id).sort();
    const sources = [...new Set(docs.map((d) => d._source.centralog.alert.source.id))];
    expect(sources).toHaveLength(3);
    expect(docs.map((d) => d._source.rule.id).sort()).toEqual(
      [CLOUDTRAIL_STOPPED, CLOUDTRAIL_CHANGE, INGRESS_FROM_INTERNET, SG_MODIFICATION, INGRESS_FROM_INTERNET, SG_MODIFICATION, ACCOUNT_MISMATCH].sort(),
    );
    expect(sources.map(rulesBySource).sort()).toEqual(
      [[CLOUDTRAIL_STOPPED, CLOUDTRAIL_CHANGE].sort(), [INGRESS_FROM_INTERNET, SG_MODIFICATION].sort(), [INGRESS_FROM_INTERNET, SG_MODIFICATION, ACCOUNT_MISMATCH].sort()].sort(),
    );

    // The contract's fields, on the StopLogging alert of SigmaHQ's rule.
    const stop = docs.find((d) => d._source.rule.id === CLOUDTRAIL_CHANGE)!;
    expect(stop._index).toBe(`${prefix}-alerts-2024.07`);
    expect(stop._source['@timestamp']).toMatch(/^2024-07-31T13:06:24/);
    expect(stop._source.event).toMatchObject({ kind: 'signal', severity: 47, action: 'StopLogging' });
    expect(stop._source.rule).toMatchObject({ id: CLOUDTRAIL_CHANGE, name: 'AWS CloudTrail Important Change', author: 'vitaliy0x1', ruleset: 'sigma' });
    expect(stop._source.tags).toEqual(['attack.defense-impairment', 'attack.t1685.002']);
    expect(stop._source.cloud?.account?.id).toBe('143434273843');
    expect(stop._source.source?.ip).toBe('86.245.153.234');
    expect(stop._source.aws.cloudwatch.log_group).toBe('aws-cloudtrail-logs-143434273843');
    expect(stop._source.centralog.alert).toMatchObject({ level: 'medium', published: true });
    // It names its source document, which is there.
    const { id: sourceId, index: sourceIndex } = stop._source.centralog.alert.source;
    expect(sourceIndex).toMatch(new RegExp(`^${prefix}-aws\\.cloudtrail-2024\\.07\\.31$`));
    const source = await stack.opensearch.get({ index: sourceIndex, id: sourceId });
    expect((source.body._source as { event: { action: string } }).event.action).toBe('StopLogging');
    expect(docs.find((d) => d._source.rule.id === CLOUDTRAIL_STOPPED)!._source.event.severity).toBe(73);

    const messages = await published();
    expect(messages.map((m) => m.alertId).sort()).toEqual(docs.map((d) => d._id).sort());
    const stopMessage = messages.find((m) => m.alertId === stop._id)!;
    expect(stopMessage.attributes).toEqual({ level: 'medium', rule: CLOUDTRAIL_CHANGE, account: '143434273843' });
    expect(stopMessage.message).toMatchObject({
      rule: { id: CLOUDTRAIL_CHANGE, title: 'AWS CloudTrail Important Change', level: 'medium', author: 'vitaliy0x1' },
      account: '143434273843',
      eventName: 'StopLogging',
      source: { index: sourceIndex, id: sourceId },
    });

    expect(alerting!.counters.raised).toEqual({ informational: 0, low: 0, medium: 3, high: 4, critical: 0 });
    expect(alerting!.counters.published).toBe(7);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`centralog_consumer_alerts_raised_total{rule="${INGRESS_FROM_INTERNET}",level="high"} 2`);
    expect(text).toContain('centralog_consumer_alerts_published_total 7');
  }, 120_000);

  it('raises no second alert and sends no second message when the same records are read again', async () => {
    const streamName = uniqueName('stream');
    await createStream(stack.kinesis, streamName, 1);
    await send(streamName, batchOne);
    const before = (await alertsInIndex()).length;
    const { alerting } = await consume(streamName, batchOne.length, moto.endpoint);
    expect(alerting!.counters.raised).toEqual({ informational: 0, low: 0, medium: 0, high: 0, critical: 0 });
    expect(await published()).toEqual([]);
    expect((await alertsInIndex()).length).toBe(before);
  }, 120_000);

  it('leaves alerts unpublished while SNS is down, and a later sweep by two workers publishes each exactly once', async () => {
    const streamName = uniqueName('stream');
    await createStream(stack.kinesis, streamName, 1);
    const events = [
      { ...trail, logStream: 'outage', id: '11', message: first(trailStop) },
      { ...sg, logStream: 'outage', id: '12', message: first(openPort22) },
    ];
    await send(streamName, events);
    await gate.shut();
    const { alerting } = await consume(streamName, events.length, gate.endpoint);
    expect(alerting!.counters.raised.high + alerting!.counters.raised.medium).toBe(4);
    expect(alerting!.counters.published).toBe(0);
    // Every attempt of every alert failed (4 attempts each), and nothing reached subscribers.
    expect(alerting!.counters.publishFailures).toBe(16);
    expect(await published()).toEqual([]);
    const waiting = (await alertsInIndex()).filter((d) => !d._source.centralog.alert.published);
    expect(waiting.map((d) => d._source.centralog.alert.source.id).length).toBe(4);

    await gate.open();
    // Two workers of a later run, sweeping at the same moment (claims of any age are stale here).
    const sweeper = (workerId: string) =>
      createAlerting(
        {
          detections: true,
          alertsTopicArn: topicArn,
          snsEndpoint: gate.endpoint,
          region: 'us-east-1',
          indexPrefix: prefix,
          alertSweepIntervalMs: 60_000,
          alertClaimTimeoutMs: 0,
        },
        { opensearch: stack.opensearch, registry: new Registry(), workerId },
      )!;
    const [a, b] = [sweeper('later-1'), sweeper('later-2')];
    const results = await Promise.all([a.sweep(), b.sweep()]);
    expect(results[0].published + results[1].published).toBe(4);
    const messages = await published();
    expect(messages.map((m) => m.alertId).sort()).toEqual(waiting.map((d) => d._id).sort());
    await waitFor('every alert recorded as published', async () => (await alertsInIndex()).every((d) => d._source.centralog.alert.published));
    // Nothing is left for a third sweep.
    expect(await a.sweep()).toEqual({ published: 0, failed: 0 });
    expect(await published()).toEqual([]);
  }, 120_000);
});
