import { afterAll, describe, expect, it } from 'vitest';
import { ConsumerOptionsSchema, resolveOptions } from '../../consumers/index.ts';
import { cleanupOutdirs, configInput, refersTo, resource, statements, synth } from '../infra/fixture.ts';

afterAll(cleanupOutdirs);

function consumeEnv(template: ReturnType<typeof synth>['central']): Record<string, unknown> {
  const td = resource(template, 'AWS::ECS::TaskDefinition', 'ConsumerTask').Properties;
  const consume = td.ContainerDefinitions.find((c: { Name: string }) => c.Name === 'consume');
  return Object.fromEntries(consume.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
}

describe('central stack: enhanced fan-out switch (stream.retrieval)', () => {
  const fanout = synth(configInput({ stream: { retrieval: 'fanout' } } as never)).central;
  const polling = synth().central;

  it('fanout registers an AWS::Kinesis::StreamConsumer on the central stream', () => {
    const c = resource(fanout, 'AWS::Kinesis::StreamConsumer', 'StreamConsumer').Properties;
    expect(c.ConsumerName).toBe('centralog-consumer');
    expect(refersTo(c.StreamARN, 'Stream')).toBe(true);
  });

  it('the task may subscribe with that consumer and describe it, nothing broader', () => {
    const s = statements(fanout, 'ConsumerTaskPolicy');
    expect([...s.FanOut.Action].sort()).toEqual(['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard']);
    expect(JSON.stringify(s.FanOut.Resource)).toMatch(/"Fn::GetAtt":\["StreamConsumer[0-9A-F]+","ConsumerARN"\]/);
  });

  it('the consumer is told to read with fan-out through that ARN, in variables its option schema accepts', () => {
    const env = consumeEnv(fanout);
    expect(env.CENTRALOG_RETRIEVAL).toBe('fanout');
    expect(JSON.stringify(env.CENTRALOG_STREAM_CONSUMER_ARN)).toMatch(/"Fn::GetAtt":\["StreamConsumer[0-9A-F]+","ConsumerARN"\]/);
    // The ARN resolves at deploy time: a real one's shape stands in.
    const options = resolveOptions(ConsumerOptionsSchema, {
      env: {
        CENTRALOG_STREAM_NAME: 'centralog-logs',
        CENTRALOG_DEAD_LETTER_BUCKET: 'centralog-dead-letters',
        CENTRALOG_OPENSEARCH_URL: 'https://vpc-centralog-logs-abc.eu-west-1.es.amazonaws.com',
        CENTRALOG_RETRIEVAL: String(env.CENTRALOG_RETRIEVAL),
        CENTRALOG_STREAM_CONSUMER_ARN: 'arn:aws:kinesis:eu-west-1:111111111111:stream/centralog-logs/consumer/centralog-consumer:1796176880',
      },
    });
    expect(options).toMatchObject({ retrieval: 'fanout', streamConsumerArn: expect.stringContaining('/consumer/centralog-consumer:') });
  });

  it('polling (the default) registers no consumer and grants no fan-out', () => {
    expect(Object.keys(polling.findResources('AWS::Kinesis::StreamConsumer'))).toEqual([]);
    expect(statements(polling, 'ConsumerTaskPolicy').FanOut).toBeUndefined();
    expect(consumeEnv(polling).CENTRALOG_RETRIEVAL).toBeUndefined();
  });
});
