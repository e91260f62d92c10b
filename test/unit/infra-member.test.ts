import { afterAll, describe, expect, it } from 'vitest';
import { MAX_TEMPLATE_BODY_BYTES } from '../../infra/member/stackset.ts';
import { CENTRAL, cleanupOutdirs, configInput, resource, statements, synth } from '../infra/fixture.ts';

afterAll(cleanupOutdirs);

const DESTINATION = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, `:${CENTRAL}:destination:centralog-destination`]] };

describe('member stack (organisation mode)', () => {
  const { member, onboarding, stacks } = synth();
  const template = member.toJSON() as { Parameters: Record<string, any>; Conditions: Record<string, any>; Resources: Record<string, any> };

  it('is environment-agnostic and needs no CDK bootstrap, so one template serves every account and region', () => {
    expect(stacks.member.environment).toBe('aws://unknown-account/unknown-region');
    expect(template.Parameters.BootstrapVersion).toBeUndefined();
    expect(JSON.stringify(template)).not.toContain('cdk-hnb659fds');
  });

  it('subscribes each of its three log groups to the destination of its own region', () => {
    const filters = member.findResources('AWS::Logs::SubscriptionFilter');
    expect(Object.keys(filters).sort()).toEqual(['CloudTrailSubscription', 'GuardDutySubscription', 'VpcFlowLogsSubscription']);
    for (const f of Object.values(filters) as any[]) {
      expect(f.Properties.DestinationArn).toEqual(DESTINATION);
      expect(f.Properties.FilterPattern).toBe('');
      expect(JSON.stringify(f.Properties.RoleArn)).toContain('SubscriptionRole');
    }
  });

  it("gives the filters a member-account role CloudWatch Logs can assume, allowed only PutLogEvents on the destination", () => {
    const role = resource(member, 'AWS::IAM::Role', 'SubscriptionRole');
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0]).toMatchObject({
      Principal: { Service: 'logs.amazonaws.com' },
      Condition: { StringLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':*']] } } },
    });
    // IAM is global: one role per region the stack runs in.
    expect(JSON.stringify(role.Properties.RoleName)).toContain('AWS::Region');
    const s = statements(member, 'SubscriptionRoleDefaultPolicy');
    expect(Object.values(s)).toEqual([{ Sid: 'DeliverToDestination', Effect: 'Allow', Action: 'logs:PutLogEvents', Resource: DESTINATION }]);
    // The role's permissions exist before CloudWatch Logs tests the filter.
    for (const id of ['CloudTrailSubscription', 'GuardDutySubscription', 'VpcFlowLogsSubscription']) {
      expect(template.Resources[id].DependsOn).toEqual(expect.arrayContaining([resource(member, 'AWS::IAM::Policy', 'SubscriptionRoleDefaultPolicy').id]));
    }
  });

  it('encrypts every log group with its key (which CloudWatch Logs of this account may use) and sets the retention', () => {
    const groups = member.findResources('AWS::Logs::LogGroup') as Record<string, any>;
    expect(Object.values(groups).map((g) => g.Properties.LogGroupName).sort()).toEqual(['/aws/events/centralog-guardduty', '/centralog/cloudtrail', '/centralog/vpc-flow-logs']);
    for (const g of Object.values(groups)) {
      expect(JSON.stringify(g.Properties.KmsKeyId)).toContain('LogsKey');
      expect(g.Properties.RetentionInDays).toBe(90);
    }
    const keyPolicy = resource(member, 'AWS::KMS::Key', 'LogsKey').Properties.KeyPolicy.Statement;
    const logs = keyPolicy.find((s: any) => s.Sid === 'CloudWatchLogsInThisAccount');
    expect(JSON.stringify(logs.Principal)).toContain('logs.');
    expect(logs.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn']).toBeDefined();
  });

  it('creates flow logs for up to five VPCs from the VpcIds parameter, in the custom format', () => {
    expect(template.Parameters.VpcIds).toMatchObject({ Type: 'String', Default: 'vpc-0123456789abcdef0' });
    const flowLogs = Object.entries(member.findResources('AWS::EC2::FlowLog') as Record<string, any>);
    expect(flowLogs).toHaveLength(5);
    for (const [, f] of flowLogs) {
      expect(template.Conditions[f.Condition]).toBeDefined();
      expect(f.Properties).toMatchObject({ ResourceType: 'VPC', TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs', MaxAggregationInterval: 60 });
      expect(f.Properties.LogFormat).toContain('${vpc-id}');
      expect(JSON.stringify(f.Properties.DeliverLogsPermissionArn)).toContain('VpcFlowLogsDeliveryRole');
    }
    const trust = resource(member, 'AWS::IAM::Role', 'VpcFlowLogsDeliveryRole').Properties.AssumeRolePolicyDocument.Statement[0];
    expect(trust.Principal).toEqual({ Service: 'vpc-flow-logs.amazonaws.com' });
    expect(trust.Condition.StringEquals['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
  });

  it('sends a regional, validated, KMS-encrypted trail to its log group, global events in one region only', () => {
    const trail = resource(member, 'AWS::CloudTrail::Trail', 'CloudTrail').Properties;
    expect(trail).toMatchObject({ IsLogging: true, IsMultiRegionTrail: false, EnableLogFileValidation: true });
    expect(JSON.stringify(trail.KMSKeyId)).toContain('LogsKey');
    expect(JSON.stringify(trail.CloudWatchLogsLogGroupArn)).toContain('CloudTrailLogGroup');
    expect(trail.IncludeGlobalServiceEvents['Fn::If'][1]).toBe(true);
    const condition = template.Conditions[trail.IncludeGlobalServiceEvents['Fn::If'][0]];
    expect(condition).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] });
  });

  it('turns GuardDuty on and routes "GuardDuty Finding" events into the log group under one logs resource policy', () => {
    member.resourceCountIs('AWS::GuardDuty::Detector', 1);
    const rule = resource(member, 'AWS::Events::Rule', 'GuardDutyFindings');
    expect(rule.Properties.EventPattern).toEqual({ source: ['aws.guardduty'], 'detail-type': ['GuardDuty Finding'] });
    member.resourceCountIs('AWS::Logs::ResourcePolicy', 1);
    const policy = resource(member, 'AWS::Logs::ResourcePolicy', 'GuardDutyEventsPolicy');
    expect(rule.DependsOn).toContain(policy.id);
    const doc = JSON.parse(JSON.stringify(policy.Properties.PolicyDocument));
    expect(JSON.stringify(doc)).toContain('events.amazonaws.com');
    expect(JSON.stringify(doc)).toContain('logs:PutLogEvents');
  });

  it('deploys org-wide as a service-managed StackSet with automatic deployment to the OUs and regions', () => {
    const set = resource(onboarding!, 'AWS::CloudFormation::StackSet', 'MemberStackSet').Properties;
    expect(set).toMatchObject({
      PermissionModel: 'SERVICE_MANAGED',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      CallAs: 'DELEGATED_ADMIN',
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: ['ou-abcd-11111111'] }, Regions: ['eu-west-1', 'us-east-1'] }],
    });
    const body = JSON.parse(set.TemplateBody);
    expect(Object.keys(body.Resources).sort()).toEqual(Object.keys(template.Resources).sort());
    expect(Buffer.byteLength(set.TemplateBody)).toBeLessThanOrEqual(MAX_TEMPLATE_BODY_BYTES);
  });
});

describe('member stack variants', () => {
  it('with an account list the filters carry no role (the destination policy names the accounts)', () => {
    const { member, onboarding } = synth(configInput({ access: { mode: 'accounts', accountIds: ['222222222222'] }, stackSets: undefined }));
    member.resourceCountIs('AWS::IAM::Role', 2);
    for (const f of Object.values(member.findResources('AWS::Logs::SubscriptionFilter')) as any[]) expect(f.Properties.RoleArn).toBeUndefined();
    expect(onboarding).toBeUndefined();
  });

  it("subscribes an existing organisation trail's log group instead of creating a trail, and skips an existing detector", () => {
    const members = { cloudTrail: { mode: 'existing' as const, logGroupName: 'aws-controltower/CloudTrailLogs' }, guardDuty: { enabled: true, createDetector: false } };
    const { member } = synth(configInput({ members }));
    member.resourceCountIs('AWS::CloudTrail::Trail', 0);
    member.resourceCountIs('AWS::GuardDuty::Detector', 0);
    member.hasResourceProperties('AWS::Logs::SubscriptionFilter', { LogGroupName: 'aws-controltower/CloudTrailLogs' });
  });
});
