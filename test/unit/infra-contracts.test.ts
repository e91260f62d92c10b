import { afterAll, describe, expect, it } from 'vitest';
import { PARTITION_KEYS } from '../../infra/central/firehose.ts';
import { ConsumerOptionsSchema, resolveOptions } from '../../consumers/index.ts';
import { createFirehoseTransformHandler, encodeCwlRecord } from '../../processors/index.ts';
import { cleanupOutdirs, resource, synth } from '../infra/fixture.ts';

afterAll(cleanupOutdirs);

// What the templates hand to the code must be what the code reads.
const raw = (container: { Environment: Array<{ Name: string; Value: unknown }> }) => Object.fromEntries(container.Environment.map((e) => [e.Name, JSON.stringify(e.Value)]));
describe('infra and code agree', () => {
  const { central } = synth();

  it("the consumer's own option schema accepts the task's CENTRALOG_* environment as it is", () => {
    const td = resource(central, 'AWS::ECS::TaskDefinition', 'ConsumerTask').Properties;
    const consume = td.ContainerDefinitions.find((c: any) => c.Name === 'consume');
    // References resolve at deploy time: stand in plausible values.
    const stand: Record<string, string> = {
      CENTRALOG_OPENSEARCH_URL: 'https://vpc-centralog-logs-abc.eu-west-1.es.amazonaws.com',
      CENTRALOG_DEAD_LETTER_BUCKET: 'centralog-dead-letters',
      CENTRALOG_ALERTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111111111111:centralog-alerts',
      CENTRALOG_STREAM_CONSUMER_ARN: 'arn:aws:kinesis:eu-west-1:111111111111:stream/centralog-logs/consumer/centralog-consumer:1700000000',
    };
    const env = Object.fromEntries(consume.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, typeof e.Value === 'string' ? e.Value : (stand[e.Name] ?? 'centralog-resolved')]));
    const options = resolveOptions(ConsumerOptionsSchema, { env });
    expect(options).toMatchObject({ opensearchAuth: 'sigv4', installTemplates: false, region: 'eu-west-1', statusPort: 9464, deadLetterPrefix: 'dead-letters/', detections: true });
    expect(raw(consume).CENTRALOG_ALERTS_TOPIC_ARN).toMatch(/"Ref":"DetectionsAlerts[0-9A-F]+"/);
    expect(raw(consume).CENTRALOG_STREAM_NAME).toMatch(/"Ref":"Stream[0-9A-F]+"/);
    expect(raw(consume).CENTRALOG_LEASE_TABLE).toMatch(/"Ref":"ConsumerLeases[0-9A-F]+"/);
    expect(raw(consume).CENTRALOG_DEAD_LETTER_BUCKET).toMatch(/"Ref":"BucketsDeadLetters[0-9A-F]+"/);
    expect(Object.keys(options.vpcFlowFormats ?? {})).toEqual(['/centralog/vpc-flow-logs']);
    const known = new Set(Object.keys(ConsumerOptionsSchema.shape).map((k) => `CENTRALOG_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`));
    expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
  });

  it('the transform returns exactly the partition keys the Firehose prefix uses', async () => {
    const data = encodeCwlRecord({
      messageType: 'DATA_MESSAGE',
      owner: '222222222222',
      logGroup: '/centralog/cloudtrail',
      logStream: '222222222222_CloudTrail_eu-west-1',
      subscriptionFilters: ['centralog-to-central'],
      logEvents: [{ id: '1', timestamp: Date.UTC(2026, 0, 2, 3), message: JSON.stringify({ eventVersion: '1.08', eventSource: 's3.amazonaws.com', eventName: 'GetObject', eventTime: '2026-01-02T03:00:00Z' }) }],
    });
    const handler = createFirehoseTransformHandler();
    const out = await handler({
      invocationId: 'i',
      deliveryStreamArn: 'arn:aws:firehose:eu-west-1:111111111111:deliverystream/centralog-archive',
      region: 'eu-west-1',
      records: [{ recordId: 'r1', approximateArrivalTimestamp: Date.now(), data: data.toString('base64') }],
    });
    expect(out.records[0]!.result).toBe('Ok');
    expect(Object.keys(out.records[0]!.metadata!.partitionKeys).sort()).toEqual([...PARTITION_KEYS].sort());
  });
});
