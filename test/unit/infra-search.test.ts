import { afterAll, describe, expect, it } from 'vitest';
import { allowedActions, CENTRAL, cleanupOutdirs, configInput, resource, statements, synth } from '../infra/fixture.ts';

afterAll(cleanupOutdirs);

describe('central stack: OpenSearch', () => {
  const { central } = synth();
  const domain = resource(central, 'AWS::OpenSearchService::Domain', 'SearchDomain');
  const p = domain.Properties;

  it('runs OpenSearch 2.19, encrypted at rest and between nodes, HTTPS only with TLS 1.2+', () => {
    expect(p.EngineVersion).toBe('OpenSearch_2.19');
    expect(p.EncryptionAtRestOptions.Enabled).toBe(true);
    expect(JSON.stringify(p.EncryptionAtRestOptions.KmsKeyId)).toContain('SearchKey');
    expect(p.NodeToNodeEncryptionOptions).toEqual({ Enabled: true });
    expect(p.DomainEndpointOptions).toMatchObject({ EnforceHTTPS: true, TLSSecurityPolicy: 'Policy-Min-TLS-1-2-2019-07' });
  });

  it('uses fine-grained access control with the bootstrap role as its IAM master', () => {
    expect(p.AdvancedSecurityOptions).toMatchObject({ Enabled: true, InternalUserDatabaseEnabled: false });
    expect(JSON.stringify(p.AdvancedSecurityOptions.MasterUserOptions.MasterUserARN)).toContain('OpenSearchBootstrapRole');
  });

  it('is zone-aware on gp3, in the private subnets behind its own security group, and kept on stack delete', () => {
    expect(p.ClusterConfig).toMatchObject({ ZoneAwarenessEnabled: true, ZoneAwarenessConfig: { AvailabilityZoneCount: 2 }, InstanceCount: 2, InstanceType: 'r7g.large.search' });
    expect(p.ClusterConfig.DedicatedMasterEnabled).toBe(false);
    expect(p.EBSOptions).toMatchObject({ EBSEnabled: true, VolumeType: 'gp3', VolumeSize: 100 });
    expect(p.VPCOptions.SubnetIds).toHaveLength(2);
    expect(JSON.stringify(p.VPCOptions.SecurityGroupIds)).toContain('SearchSecurityGroup');
    central.hasResource('AWS::OpenSearchService::Domain', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it("lets in only this account's signed identities (no anonymous principal)", () => {
    expect(p.AccessPolicies.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
        Action: 'es:ESHttp*',
        Resource: expect.objectContaining({ 'Fn::Join': expect.any(Array) }),
      },
    ]);
    expect(JSON.stringify(p.AccessPolicies.Statement[0].Resource)).toContain(':domain/centralog-logs/*');
  });

  it('publishes slow, application and audit logs under ONE logs resource policy, created before the domain', () => {
    expect(Object.keys(p.LogPublishingOptions).sort()).toEqual(['AUDIT_LOGS', 'ES_APPLICATION_LOGS', 'INDEX_SLOW_LOGS', 'SEARCH_SLOW_LOGS']);
    central.resourceCountIs('AWS::Logs::ResourcePolicy', 1);
    const policy = resource(central, 'AWS::Logs::ResourcePolicy', 'SearchLogsPolicy');
    expect(domain.DependsOn).toContain(policy.id);
    const doc = JSON.stringify(policy.Properties.PolicyDocument);
    expect(doc).toContain('es.amazonaws.com');
    for (const g of ['SearchSlowSearchLogs', 'SearchSlowIndexLogs', 'SearchApplicationLogs', 'SearchAuditLogs']) expect(doc).toContain(g);
    expect(doc).toContain('aws:SourceAccount');
  });

  it('creates the service-linked role for VPC access only if missing (errors ignored), never deletes it, before the domain', () => {
    const slr = resource(central, 'Custom::AWS', 'SearchServiceLinkedRole');
    expect(domain.DependsOn).toContain(slr.id);
    const create = JSON.stringify(slr.Properties.Create);
    expect(create).toContain('createServiceLinkedRole');
    expect(create).toContain('opensearchservice.amazonaws.com');
    expect(create).toContain('ignoreErrorCodesMatching');
    expect(slr.Properties.Delete).toBeUndefined();
    const s = Object.values(statements(central, 'SearchServiceLinkedRoleCustomResourcePolicy'));
    expect(s).toEqual([expect.objectContaining({ Action: 'iam:CreateServiceLinkedRole', Condition: { StringLike: { 'iam:AWSServiceName': 'opensearchservice.amazonaws.com' } } })]);
  });

  it('bootstraps the domain on deploy through a custom resource that runs the bootstrap Lambda', () => {
    const cr = resource(central, 'Custom::CentralogOpenSearchBootstrap', 'OpenSearchBootstrap');
    expect(cr.Properties).toMatchObject({ IndexPrefix: 'centralog', RetentionDays: '30', ContentHash: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(JSON.stringify(cr.Properties.Endpoint)).toContain('DomainEndpoint');
    expect(JSON.stringify(cr.Properties.WriterRoleArns)).toContain('ConsumerTaskRole');
    expect(JSON.stringify(cr.Properties.ServiceToken)).toContain('OpenSearchBootstrapProviderframeworkonEvent');
    const fn = resource(central, 'AWS::Lambda::Function', 'OpenSearchBootstrapFunction');
    expect(JSON.stringify(fn.Properties.Role)).toContain('OpenSearchBootstrapRole');
    expect(fn.Properties.VpcConfig).toBeDefined();
    expect(allowedActions(central, 'OpenSearchBootstrapRoleDefaultPolicy')).toEqual(['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPatch', 'es:ESHttpPost', 'es:ESHttpPut', 'logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  it('in an existing VPC with three zones, places a two-zone domain in exactly one given subnet per zone', () => {
    const subnets = ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2', 'subnet-0ccccccccccccccc3'];
    const network = { vpcId: 'vpc-0123456789abcdef0', privateSubnetIds: subnets, availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] };
    const { central: existing } = synth(configInput({ network }));
    existing.resourceCountIs('AWS::EC2::VPC', 0);
    expect(resource(existing, 'AWS::OpenSearchService::Domain', 'SearchDomain').Properties.VPCOptions.SubnetIds).toEqual(subnets.slice(0, 2));
    expect(resource(existing, 'AWS::ECS::Service', 'ConsumerService').Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets).toEqual(subnets);
  });

  it('public placement drops the VPC and the service-linked role', () => {
    const { central: pub } = synth(configInput({ opensearch: { placement: 'public', dedicatedMasters: { instanceType: 'm7g.large.search', count: 3 } } }));
    const d = resource(pub, 'AWS::OpenSearchService::Domain', 'SearchDomain');
    expect(d.Properties.VPCOptions).toBeUndefined();
    expect(d.Properties.ClusterConfig).toMatchObject({ DedicatedMasterEnabled: true, DedicatedMasterCount: 3, DedicatedMasterType: 'm7g.large.search' });
    pub.resourceCountIs('Custom::AWS', 0);
  });
});

describe('central stack: consumer fleet', () => {
  const { central } = synth();

  it('keeps leases in an on-demand table with point-in-time recovery and a customer-managed key', () => {
    const t = resource(central, 'AWS::DynamoDB::Table', 'ConsumerLeases').Properties;
    expect(t).toMatchObject({
      TableName: 'centralog-leases',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
    });
  });

  it('gives the task role exactly: stream read + key, the lease table + key, dead-letter puts, metrics logs, ESHttp on the domain', () => {
    const s = statements(central, 'ConsumerTaskPolicy');
    expect([...s.ReadStream.Action].sort()).toEqual(['kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards']);
    expect(s.DecryptStream.Action).toBe('kms:Decrypt');
    expect(JSON.stringify(s.Leases.Resource)).toContain('ConsumerLeases');
    expect(s.WriteDeadLetters.Action).toBe('s3:PutObject');
    expect(JSON.stringify(s.WriteDeadLetters.Resource)).toContain('BucketsDeadLetters');
    expect(JSON.stringify(s.WriteDeadLetters.Resource)).toContain('/dead-letters/*');
    expect(allowedActions(central, 'ConsumerSearchPolicy')).toEqual(['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost', 'es:ESHttpPut']);
    expect(JSON.stringify(statements(central, 'ConsumerSearchPolicy').IndexDocuments.Resource)).toContain('SearchDomain');
    const all = [...allowedActions(central, 'ConsumerTaskPolicy'), ...allowedActions(central, 'ConsumerSearchPolicy')];
    expect(all.filter((a) => /^(s3:Get|s3:Delete|kinesis:Put|dynamodb:DeleteTable|es:ESHttpDelete)/.test(a))).toEqual([]);
  });

  it('runs the repo image on Fargate with the consumer configured by CENTRALOG_* variables', () => {
    const td = resource(central, 'AWS::ECS::TaskDefinition', 'ConsumerTask').Properties;
    const consume = td.ContainerDefinitions.find((c: any) => c.Name === 'consume');
    const env = Object.fromEntries(consume.Environment.map((e: any) => [e.Name, e.Value]));
    expect(env).toMatchObject({ CENTRALOG_OPENSEARCH_AUTH: 'sigv4', CENTRALOG_INSTALL_TEMPLATES: 'false', CENTRALOG_INDEX_PREFIX: 'centralog', CENTRALOG_DEAD_LETTER_PREFIX: 'dead-letters/' });
    expect(JSON.stringify(env.CENTRALOG_OPENSEARCH_URL)).toContain('DomainEndpoint');
    expect(JSON.parse(env.CENTRALOG_VPC_FLOW_FORMATS)).toHaveProperty(['/centralog/vpc-flow-logs']);
    expect(JSON.stringify(consume.Image)).toContain('cdk-hnb659fds-container-assets');
    expect(td.RequiresCompatibilities).toEqual(['FARGATE']);
  });

  it('sends the consumer metrics to CloudWatch as EMF through the agent sidecar', () => {
    const td = resource(central, 'AWS::ECS::TaskDefinition', 'ConsumerTask').Properties;
    const agent = td.ContainerDefinitions.find((c: any) => c.Name === 'metrics');
    const env = Object.fromEntries(agent.Environment.map((e: any) => [e.Name, e.Value]));
    expect(env.PROMETHEUS_CONFIG_CONTENT).toContain("targets: ['127.0.0.1:9464']");
    // The agent config names the metrics log group, so it is joined around a reference.
    const [, parts] = env.CW_CONFIG_CONTENT['Fn::Join'];
    const cw = JSON.parse(parts.map((x: unknown) => (typeof x === 'string' ? x : 'GROUP')).join(''));
    expect(JSON.stringify(parts.find((x: unknown) => typeof x !== 'string'))).toContain('ConsumerMetricsLogs');
    expect(cw.logs.metrics_collected.prometheus).toMatchObject({ log_group_name: 'GROUP', prometheus_config_path: 'env:PROMETHEUS_CONFIG_CONTENT' });
    expect(cw.logs.metrics_collected.prometheus.emf_processor.metric_namespace).toBe('centralog/consumer');
    expect(cw.logs.metrics_collected.prometheus.emf_processor.metric_declaration[0].metric_selectors).toContain('^centralog_consumer_shard_arrival_lag_seconds$');
  });

  it('starts only after the bootstrap and its permissions; scales 2..shards on the stream iterator age', () => {
    const svc = resource(central, 'AWS::ECS::Service', 'ConsumerService');
    expect(svc.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^OpenSearchBootstrap/), expect.stringMatching(/^ConsumerTaskPolicy/), expect.stringMatching(/^ConsumerSearchPolicy/)]));
    expect(svc.Properties).toMatchObject({ DesiredCount: 2, LaunchType: 'FARGATE' });
    central.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 2 });
    central.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'GetRecords.IteratorAgeMilliseconds', Namespace: 'AWS/Kinesis', Threshold: 60_000 });
  });
});

describe('central stack: alarms and dashboard', () => {
  const { central } = synth(configInput({ alarms: { emails: ['ops@example.com'] } }));
  const alarms = Object.values(central.findResources('AWS::CloudWatch::Alarm') as Record<string, any>).map((a) => a.Properties);
  const byName = (name: string) => alarms.find((a) => a.AlarmName === `centralog-${name}`);

  it.each([
    ['StreamIteratorAge', 'AWS/Kinesis', 'GetRecords.IteratorAgeMilliseconds'],
    ['StreamWriteThrottles', 'AWS/Kinesis', 'WriteProvisionedThroughputExceeded'],
    ['FirehoseFreshness', 'AWS/Firehose', 'DeliveryToS3.DataFreshness'],
    ['FirehoseProcessingFailures', 'AWS/Firehose', 'ExecuteProcessing.Success'],
    ['TransformErrors', 'AWS/Lambda', 'Errors'],
    ['TransformThrottles', 'AWS/Lambda', 'Throttles'],
    ['ConsumerLag', 'centralog/consumer', 'centralog_consumer_shard_arrival_lag_seconds'],
    ['ConsumerDeadLetters', 'centralog/consumer', 'centralog_consumer_dead_lettered_total'],
    ['OpenSearchRed', 'AWS/ES', 'ClusterStatus.red'],
    ['OpenSearchYellow', 'AWS/ES', 'ClusterStatus.yellow'],
    ['OpenSearchFreeStorage', 'AWS/ES', 'FreeStorageSpace'],
    ['OpenSearchWritesBlocked', 'AWS/ES', 'ClusterIndexWritesBlocked'],
    ['OpenSearchJvmPressure', 'AWS/ES', 'JVMMemoryPressure'],
    ['OpenSearchWriteRejections', 'AWS/ES', 'ThreadpoolWriteRejected'],
  ])('%s watches %s %s and notifies the topic', (name, namespace, metric) => {
    const a = byName(name);
    expect(a).toMatchObject({ Namespace: namespace, MetricName: metric });
    expect(JSON.stringify(a.AlarmActions)).toContain('MonitoringAlarms');
  });

  it('encrypts the topic, which CloudWatch may publish to, and subscribes the addresses', () => {
    const topic = resource(central, 'AWS::SNS::Topic', 'MonitoringAlarms').Properties;
    expect(JSON.stringify(topic.KmsMasterKeyId)).toContain('MonitoringTopicKey');
    central.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const keyPolicy = resource(central, 'AWS::KMS::Key', 'MonitoringTopicKey').Properties.KeyPolicy.Statement;
    expect(keyPolicy).toContainEqual(expect.objectContaining({ Sid: 'CloudWatchAlarmsPublish', Principal: { Service: 'cloudwatch.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': CENTRAL } } }));
  });

  it('draws the same metrics on one dashboard', () => {
    const body = JSON.stringify(resource(central, 'AWS::CloudWatch::Dashboard', 'MonitoringDashboard').Properties.DashboardBody);
    for (const m of ['GetRecords.IteratorAgeMilliseconds', 'DeliveryToS3.DataFreshness', 'centralog_consumer_shard_arrival_lag_seconds', 'ClusterStatus.red', 'JVMMemoryPressure', 'ThreadpoolWriteRejected']) {
      expect(body).toContain(m);
    }
  });
});
