import { afterAll, describe, expect, it } from 'vitest';
import { ARCHIVE_PREFIX, ERROR_OUTPUT_PREFIX } from '../../infra/central/firehose.ts';
import { allowedActions, CENTRAL, cleanupOutdirs, configInput, ORG, resource, statements, synth } from '../infra/fixture.ts';

afterAll(cleanupOutdirs);

describe('central stack: stream and destinations', () => {
  const { central, destinations, stacks } = synth();

  it('encrypts the stream with its own rotating key and keeps records 7 days by default', () => {
    const stream = resource(central, 'AWS::Kinesis::Stream', 'Stream');
    expect(stream.Properties).toMatchObject({ Name: 'centralog-logs', ShardCount: 2, RetentionPeriodHours: 168, StreamEncryption: { EncryptionType: 'KMS' } });
    expect(JSON.stringify(stream.Properties.StreamEncryption.KeyId)).toContain('StreamKey');
    expect(resource(central, 'AWS::KMS::Key', 'StreamKey').Properties.EnableKeyRotation).toBe(true);
  });

  it('lets CloudWatch Logs assume the destination role only for senders of the organisation', () => {
    const role = resource(central, 'AWS::IAM::Role', 'DestinationRole');
    expect(role.Properties.RoleName).toBe('centralog-cwl-to-kinesis');
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'logs.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceOrgID': ORG } } },
    ]);
  });

  it('gives the destination role PutRecord on the stream and GenerateDataKey on its key, nothing else', () => {
    const s = statements(central, 'DestinationRolePolicy');
    expect(Object.keys(s).sort()).toEqual(['EncryptForStream', 'PutIntoStream']);
    expect(s.PutIntoStream).toMatchObject({ Effect: 'Allow', Action: 'kinesis:PutRecord', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Stream/), 'Arn'] } });
    expect(s.EncryptForStream).toMatchObject({ Effect: 'Allow', Action: 'kms:GenerateDataKey', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^StreamKey/), 'Arn'] } });
  });

  it("creates the primary region's destination only after the role's policy (CloudWatch Logs tests it at creation)", () => {
    const policy = resource(central, 'AWS::IAM::Policy', 'DestinationRolePolicy');
    const destination = resource(central, 'AWS::Logs::Destination', 'Destination');
    expect(destination.DependsOn).toContain(policy.id);
    expect(destination.Properties).toMatchObject({ DestinationName: 'centralog-destination', TargetArn: { 'Fn::GetAtt': [expect.stringMatching(/^Stream/), 'Arn'] } });
  });

  it('opens the destination to the organisation only: Principal "*" bounded by aws:PrincipalOrgID', () => {
    const policy = JSON.parse(resource(central, 'AWS::Logs::Destination', 'Destination').Properties.DestinationPolicy);
    expect(policy.Statement).toEqual([
      {
        Sid: 'OrganizationSubscriptions',
        Effect: 'Allow',
        Principal: '*',
        Action: ['logs:PutSubscriptionFilter', 'logs:PutAccountPolicy'],
        Resource: `arn:aws:logs:eu-west-1:${CENTRAL}:destination:centralog-destination`,
        Condition: { StringEquals: { 'aws:PrincipalOrgID': ORG } },
      },
    ]);
  });

  it('puts one destination in each other region, into the same stream, after the central stack', () => {
    expect(stacks.destinations.map((s) => s.region)).toEqual(['us-east-1']);
    expect(stacks.destinations[0]!.dependencies).toContain(stacks.central);
    const d = resource(destinations[0]!, 'AWS::Logs::Destination', 'Destination');
    expect(d.Properties.TargetArn).toBe(`arn:aws:kinesis:eu-west-1:${CENTRAL}:stream/centralog-logs`);
    expect(d.Properties.RoleArn).toBe(`arn:aws:iam::${CENTRAL}:role/centralog-cwl-to-kinesis`);
    expect(JSON.parse(d.Properties.DestinationPolicy).Statement[0].Resource).toBe(`arn:aws:logs:us-east-1:${CENTRAL}:destination:centralog-destination`);
  });

  it('never subscribes its own log groups to the destination', () => {
    central.resourceCountIs('AWS::Logs::SubscriptionFilter', 0);
  });
});

describe('central stack: destination with an account list', () => {
  const accounts = ['222222222222', '333333333333'];
  const { central } = synth(configInput({ access: { mode: 'accounts', accountIds: accounts }, stackSets: undefined }));

  it('names the accounts as principals, without a condition', () => {
    const policy = JSON.parse(resource(central, 'AWS::Logs::Destination', 'Destination').Properties.DestinationPolicy);
    expect(policy.Statement).toEqual([
      { Sid: 'AccountSubscriptions', Effect: 'Allow', Principal: { AWS: accounts }, Action: ['logs:PutSubscriptionFilter', 'logs:PutAccountPolicy'], Resource: expect.stringContaining(':destination:') },
    ]);
  });

  it('bounds the role trust to the senders and this account, by aws:SourceAccount and aws:SourceArn per region', () => {
    const [statement] = resource(central, 'AWS::IAM::Role', 'DestinationRole').Properties.AssumeRolePolicyDocument.Statement;
    const senders = [...accounts, CENTRAL];
    expect(statement.Condition.StringEquals).toEqual({ 'aws:SourceAccount': senders });
    expect(statement.Condition.StringLike['aws:SourceArn'].sort()).toEqual(['eu-west-1', 'us-east-1'].flatMap((r) => senders.map((a) => `arn:aws:logs:${r}:${a}:*`)).sort());
  });
});

describe('central stack: Firehose archive', () => {
  const { central } = synth();
  const stream = resource(central, 'AWS::KinesisFirehose::DeliveryStream', 'Archive');
  const s3 = stream.Properties.ExtendedS3DestinationConfiguration;

  it('reads the stream and writes GZIP objects partitioned by the Lambda keys, with an error prefix', () => {
    expect(stream.Properties.DeliveryStreamType).toBe('KinesisStreamAsSource');
    expect(ARCHIVE_PREFIX).toBe(
      'source=!{partitionKeyFromLambda:source}/account=!{partitionKeyFromLambda:account}/year=!{partitionKeyFromLambda:year}/month=!{partitionKeyFromLambda:month}/day=!{partitionKeyFromLambda:day}/hour=!{partitionKeyFromLambda:hour}/',
    );
    expect(s3).toMatchObject({ Prefix: ARCHIVE_PREFIX, ErrorOutputPrefix: ERROR_OUTPUT_PREFIX, CompressionFormat: 'GZIP', DynamicPartitioningConfiguration: { Enabled: true } });
    expect(ERROR_OUTPUT_PREFIX).toMatch(/^!\{firehose:error-output-type\}\//);
  });

  it('buffers at least 64 MB / 60 s towards S3 (dynamic partitioning refuses less)', () => {
    expect(s3.BufferingHints.SizeInMBs).toBeGreaterThanOrEqual(64);
    expect(s3.BufferingHints.IntervalInSeconds).toBeGreaterThanOrEqual(60);
    expect(s3.BufferingHints).toEqual({ SizeInMBs: 128, IntervalInSeconds: 300 });
  });

  it('hands the transform at most 1 MB per invocation, so its response stays under 6 MB', () => {
    const [processor] = s3.ProcessingConfiguration.Processors;
    const params = Object.fromEntries(processor.Parameters.map((p: { ParameterName: string; ParameterValue: unknown }) => [p.ParameterName, p.ParameterValue]));
    expect(processor.Type).toBe('Lambda');
    expect(Number(params.BufferSizeInMBs)).toBe(0.25);
    expect(Number(params.BufferSizeInMBs)).toBeGreaterThanOrEqual(0.2);
    expect(JSON.stringify(params.LambdaArn)).toContain('ArchiveTransform');
  });

  it("gives Firehose's role exactly the stream read, key, Lambda and archive-bucket actions, after which the stream is created", () => {
    const s = statements(central, 'ArchivePolicy');
    expect([...s.ReadStream.Action].sort()).toEqual(['kinesis:DescribeStream', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards']);
    expect(JSON.stringify(s.ReadStream.Resource)).toContain('Stream');
    expect(s.DecryptStream).toMatchObject({ Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^StreamKey/), 'Arn'] } });
    expect(s.RunTransform.Action).toEqual(['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration']);
    expect(JSON.stringify(s.WriteArchive.Resource)).toContain('BucketsArchive');
    expect(JSON.stringify(s.WriteArchive.Resource)).not.toContain('DeadLetters');
    expect(s.EncryptArchive.Condition.StringLike['kms:EncryptionContext:aws:s3:arn']).toBeDefined();
    expect(stream.DependsOn).toContain(resource(central, 'AWS::IAM::Policy', 'ArchivePolicy').id);
    const trust = resource(central, 'AWS::IAM::Role', 'ArchiveRole').Properties.AssumeRolePolicyDocument.Statement[0];
    expect(trust).toMatchObject({ Principal: { Service: 'firehose.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': CENTRAL } } });
  });

  it('lets the transform put overflow back into the stream (PutRecords) and nothing else beyond its logs', () => {
    expect(allowedActions(central, 'ArchiveTransformRoleDefaultPolicy')).toEqual(['kinesis:PutRecords', 'kms:GenerateDataKey', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    const s = statements(central, 'ArchiveTransformRoleDefaultPolicy');
    expect(JSON.stringify(s.ReingestOverflow.Resource)).toContain('Stream');
  });

  it('runs the transform on Node.js with the custom VPC flow format the members use', () => {
    const fn = resource(central, 'AWS::Lambda::Function', 'ArchiveTransform');
    expect(fn.Properties.Runtime).toBe('nodejs24.x');
    const formats = JSON.parse(fn.Properties.Environment.Variables.CENTRALOG_VPC_FLOW_FORMATS);
    expect(Object.keys(formats)).toEqual(['/centralog/vpc-flow-logs']);
    expect(formats['/centralog/vpc-flow-logs']).toMatch(/^version account-id interface-id .* vpc-id$/);
  });
});

describe('central stack: buckets', () => {
  const { central } = synth();

  for (const [id, glacier, expire] of [
    ['BucketsArchive', 90, 2555],
    ['BucketsDeadLetters', 30, 365],
  ] as const) {
    it(`${id}: KMS, versioned, public access blocked, access-logged, Glacier after ${glacier} d, expiry after ${expire} d`, () => {
      const b = resource(central, 'AWS::S3::Bucket', id).Properties;
      expect(b.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
      expect(b.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(b.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      expect(JSON.stringify(b.LoggingConfiguration.DestinationBucketName)).toContain('BucketsAccessLogs');
      const [rule] = b.LifecycleConfiguration.Rules;
      expect(rule).toMatchObject({ Status: 'Enabled', ExpirationInDays: expire, Transitions: [{ StorageClass: 'GLACIER', TransitionInDays: glacier }] });
    });

    it(`${id}: denies every request not over TLS`, () => {
      const policy = resource(central, 'AWS::S3::BucketPolicy', `${id}Policy`).Properties.PolicyDocument.Statement;
      expect(policy).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    });
  }
});

describe('central stack: variants', () => {
  it('an on-demand stream has no shard count, and the consumer scales up to maxShards', () => {
    const { central } = synth(configInput({ stream: { mode: 'on-demand', maxShards: 6 } }));
    expect(resource(central, 'AWS::Kinesis::Stream', 'Stream').Properties).toMatchObject({ StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
    expect(resource(central, 'AWS::Kinesis::Stream', 'Stream').Properties.ShardCount).toBeUndefined();
    central.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 6 });
  });

  it('refuses an account list whose destination policy would pass 5,120 bytes, naming the limit', () => {
    const accountIds = Array.from({ length: 400 }, (_, i) => String(100000000000 + i));
    expect(() => synth(configInput({ access: { mode: 'accounts', accountIds }, stackSets: undefined }))).toThrow(/access policy .* is \d+ bytes; CloudWatch Logs accepts at most 5120/);
  });

  it('keeps the primary region without a destination when no member region is there', () => {
    const { central, stacks } = synth(configInput({ regions: ['us-east-1'], stackSets: { organizationalUnitIds: ['ou-abcd-11111111'], regions: ['us-east-1'] } }));
    central.resourceCountIs('AWS::Logs::Destination', 0);
    expect(stacks.destinations.map((s) => s.region)).toEqual(['us-east-1']);
  });
});
