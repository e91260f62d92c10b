import { afterAll, describe, expect, it } from 'vitest';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { ConsumerOptionsSchema, resolveOptions } from '../../consumers/index.ts';
import { TransformOptionsSchema } from '../../processors/index.ts';
import { cleanupOutdirs, configInput, synth } from '../infra/fixture.ts';

afterAll(cleanupOutdirs);

/**
 * The member stack's log groups are the ones whose CloudTrail and GuardDuty the consumer
 * may trust: the deployment maps them for it, with the operator's own additions, and the
 * member stack says what it subscribed.
 */
describe('log group sources in the deployment', () => {
  const input = configInput({
    members: {
      ...configInput().members,
      logGroupSources: { '/org/trail': 'cloudtrail', '/ops/forwarder*': 'trusted' },
      aggregatorAccounts: ['444455556666'],
    },
  });
  const { central, member } = synth(input);
  const container = () => {
    const defs = Object.values(central.findResources('AWS::ECS::TaskDefinition')) as any[];
    const env = defs.flatMap((d) => d.Properties.ContainerDefinitions).find((c: any) => c.Environment?.some((e: any) => e.Name === 'CENTRALOG_STREAM_NAME'));
    return Object.fromEntries(env.Environment.map((e: any) => [e.Name, e.Value]));
  };

  it("tells the consumer what the member stack's groups and the operator's carry, in a form it accepts", () => {
    const env = container();
    expect(JSON.parse(env.CENTRALOG_LOG_GROUP_SOURCES)).toEqual({
      '/centralog/vpc-flow-logs': 'vpcflow',
      '/centralog/cloudtrail': 'cloudtrail',
      '/aws/events/centralog-guardduty': 'guardduty',
      '/org/trail': 'cloudtrail',
      '/ops/forwarder*': 'trusted',
    });
    expect(JSON.parse(env.CENTRALOG_AGGREGATOR_ACCOUNTS)).toEqual(['444455556666']);
    const options = resolveOptions(ConsumerOptionsSchema, {
      // CloudFormation references resolve at deploy time: literal values stand in for them.
      env: { ...Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === 'string')), CENTRALOG_STREAM_NAME: 'logs', CENTRALOG_LEASE_TABLE: 'leases', CENTRALOG_OPENSEARCH_URL: 'https://search.example.test', CENTRALOG_DEAD_LETTER_BUCKET: 'dead-letters' } as Record<string, string>,
    });
    expect(options.logGroupSources['/centralog/cloudtrail']).toBe('cloudtrail');
    expect(options.aggregatorAccounts).toEqual(['444455556666']);
  });

  it('gives the transform Lambda the same map, in a form it accepts, and leaves out a map too long for its 4 KB environment with a warning', () => {
    const fn = Object.entries(central.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('ArchiveTransform'))![1] as any;
    const env = fn.Properties.Environment.Variables;
    expect(JSON.parse(env.CENTRALOG_LOG_GROUP_SOURCES)).toEqual(JSON.parse(container().CENTRALOG_LOG_GROUP_SOURCES));
    expect(resolveOptions(TransformOptionsSchema, { env }).logGroupSources?.['/ops/forwarder*']).toBe('trusted');

    const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`/team-${i}/application/cloudtrail-copy`, 'cloudtrail' as const]));
    const big = synth(configInput({ members: { ...configInput().members, logGroupSources: many } }));
    const bigFn = Object.entries(big.central.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('ArchiveTransform'))![1] as any;
    expect(bigFn.Properties.Environment.Variables.CENTRALOG_LOG_GROUP_SOURCES).toBeUndefined();
    expect(Annotations.fromStack(big.stacks.central).findWarning('*', Match.stringLikeRegexp('does not fit the transform Lambda'))).toHaveLength(1);
  });

  it("outputs the member stack's own mapping, the groups it subscribes", () => {
    const outputs = member.toJSON().Outputs as Record<string, { Value: string }>;
    expect(JSON.parse(outputs.LogGroupSources!.Value)).toEqual({
      '/centralog/vpc-flow-logs': 'vpcflow',
      '/centralog/cloudtrail': 'cloudtrail',
      '/aws/events/centralog-guardduty': 'guardduty',
    });
  });

  it("maps an existing organisation trail's log group instead of a created one", () => {
    const { central: c } = synth(configInput({ members: { ...configInput().members, cloudTrail: { mode: 'existing', logGroupName: 'aws-controltower/CloudTrailLogs' } } }));
    const defs = Object.values(c.findResources('AWS::ECS::TaskDefinition')) as any[];
    const env = defs.flatMap((d) => d.Properties.ContainerDefinitions).flatMap((x: any) => x.Environment ?? []);
    const sources = JSON.parse(env.find((e: any) => e.Name === 'CENTRALOG_LOG_GROUP_SOURCES').Value);
    expect(sources['aws-controltower/CloudTrailLogs']).toBe('cloudtrail');
    expect(sources['/centralog/cloudtrail']).toBeUndefined();
  });
});

describe('detection alerts in the deployment', () => {
  it('gives the consumer an encrypted alerts topic it may publish to, and nothing when detections are off', () => {
    const { central } = synth(configInput({ detections: { emails: ['secops@example.com'] } }));
    const topics = central.findResources('AWS::SNS::Topic');
    const alerts = Object.entries(topics).find(([, t]: [string, any]) => t.Properties.TopicName === 'centralog-alerts');
    expect(alerts).toBeDefined();
    expect((alerts![1] as any).Properties.KmsMasterKeyId).toBeDefined();
    const subs = Object.values(central.findResources('AWS::SNS::Subscription')) as any[];
    expect(subs.some((s) => s.Properties.Endpoint === 'secops@example.com' && JSON.stringify(s.Properties.TopicArn).includes(alerts![0]))).toBe(true);
    const env = (Object.values(central.findResources('AWS::ECS::TaskDefinition')) as any[]).flatMap((d) => d.Properties.ContainerDefinitions).flatMap((c: any) => c.Environment ?? []);
    expect(JSON.stringify(env.find((e: any) => e.Name === 'CENTRALOG_ALERTS_TOPIC_ARN').Value)).toContain(alerts![0]);
    expect(env.find((e: any) => e.Name === 'CENTRALOG_DETECTIONS').Value).toBe('true');
    const policies = Object.entries(central.findResources('AWS::IAM::Policy')) as Array<[string, any]>;
    const publish = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement).find((s: any) => s.Sid === 'PublishAlerts');
    expect(publish.Action).toBe('sns:Publish');
    expect(JSON.stringify(publish.Resource)).toContain(alerts![0]);

    const off = synth(configInput({ detections: { enabled: false } })).central;
    expect(Object.values(off.findResources('AWS::SNS::Topic')).map((t: any) => t.Properties.TopicName)).not.toContain('centralog-alerts');
    const offEnv = (Object.values(off.findResources('AWS::ECS::TaskDefinition')) as any[]).flatMap((d) => d.Properties.ContainerDefinitions).flatMap((c: any) => c.Environment ?? []);
    expect(offEnv.find((e: any) => e.Name === 'CENTRALOG_DETECTIONS').Value).toBe('false');
  });
});
