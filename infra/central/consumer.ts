import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { type DeployConfig, maxShards, memberLogGroupSources } from '../config.ts';
import { acknowledge, acknowledgeWildcards, skipCheckov } from '../nag.ts';
import { REPO_ROOT } from './functions.ts';
import type { PipelineLogs } from './log-groups.ts';
import { metricsAgentEnvironment, METRICS_AGENT_IMAGE } from './metrics-agent.ts';
import type { CentralNetwork } from './network.ts';

export const DEAD_LETTER_PREFIX = 'dead-letters/';

export interface ConsumerFleetProps {
  config: DeployConfig;
  logs: PipelineLogs;
  network: CentralNetwork;
  stream: kinesis.IStream;
  streamKey: kms.IKey;
  deadLetters: s3.IBucket;
  deadLetterKey: kms.IKey;
  /** CENTRALOG_VPC_FLOW_FORMATS, when members use a custom format. */
  vpcFlowFormats?: string;
  /** The registered stream consumer, when the fleet reads with enhanced fan-out. */
  streamConsumerArn?: string;
}

/** The container health check both workers use: their own /healthz on the task's loopback. */
export function statusHealthCheck(port: number): ecs.HealthCheck {
  return {
    command: ['CMD-SHELL', `node -e "fetch('http://127.0.0.1:${port}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"`],
    interval: Duration.seconds(30),
    timeout: Duration.seconds(5),
    startPeriod: Duration.seconds(60),
    retries: 3,
  };
}

/**
 * What both workers (`consume` and `ingest-s3`) are told alike: where dead letters go, how to
 * reach OpenSearch and name its indices, where /metrics listens, and the trusted aggregators.
 */
export function workerEnvironment(config: DeployConfig, deadLetters: s3.IBucket, statusPort: number): Record<string, string> {
  return {
    CENTRALOG_DEAD_LETTER_BUCKET: deadLetters.bucketName,
    CENTRALOG_DEAD_LETTER_PREFIX: DEAD_LETTER_PREFIX,
    CENTRALOG_OPENSEARCH_AUTH: 'sigv4',
    CENTRALOG_INDEX_PREFIX: config.opensearch.indexPrefix,
    // The deployment's bootstrap puts the templates; the task role may not.
    CENTRALOG_INSTALL_TEMPLATES: 'false',
    // The metrics agent scrapes /metrics over the task's own loopback.
    CENTRALOG_STATUS_HOST: '127.0.0.1',
    CENTRALOG_STATUS_PORT: String(statusPort),
    CENTRALOG_LOG_LEVEL: config.consumer.logLevel,
    CENTRALOG_AGGREGATOR_ACCOUNTS: JSON.stringify(config.members.aggregatorAccounts),
  };
}

/** `centralog consume` on Fargate, its lease table, and scaling on the stream's iterator age. */
export class ConsumerFleet extends Construct {
  readonly table: dynamodb.Table;
  readonly taskRole: iam.Role;
  readonly service: ecs.FargateService;
  readonly securityGroup: ec2.SecurityGroup;
  readonly cluster: ecs.Cluster;
  readonly metricsNamespace = 'centralog/consumer';
  private readonly container: ecs.ContainerDefinition;

  constructor(scope: Construct, id: string, props: ConsumerFleetProps) {
    super(scope, id);
    const { config } = props;
    const tableKey = new kms.Key(this, 'TableKey', { description: 'centralog: lease table', enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
    this.table = new dynamodb.Table(this, 'Leases', {
      tableName: `${config.namePrefix}-leases`,
      // The key schema the consumer's LeaseTable creates when the table is missing.
      partitionKey: { name: 'leaseKey', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: tableKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com', {
        conditions: { ArnLike: { 'aws:SourceArn': `arn:${Stack.of(this).partition}:ecs:${Stack.of(this).region}:${config.centralAccountId}:*` } },
      }),
      description: 'centralog consumer: reads the stream, keeps leases, indexes into OpenSearch, writes dead letters',
    });
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: props.network.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: config.consumer.cpu,
      memoryLimitMiB: config.consumer.memoryMiB,
      taskRole: this.taskRole,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const logGroup = props.logs.group(this, 'Logs');
    const metricsGroup = props.logs.group(this, 'MetricsLogs');

    this.container = taskDefinition.addContainer('consume', {
      image: ecs.ContainerImage.fromAsset(REPO_ROOT, { file: 'Dockerfile', platform: Platform.LINUX_ARM64 }),
      essential: true,
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'consume' }),
      environment: {
        CENTRALOG_REGION: Stack.of(this).region,
        CENTRALOG_STREAM_NAME: props.stream.streamName,
        CENTRALOG_LEASE_TABLE: this.table.tableName,
        ...workerEnvironment(config, props.deadLetters, 9464),
        ...(props.vpcFlowFormats ? { CENTRALOG_VPC_FLOW_FORMATS: props.vpcFlowFormats } : {}),
        ...(props.streamConsumerArn ? { CENTRALOG_RETRIEVAL: 'fanout', CENTRALOG_STREAM_CONSUMER_ARN: props.streamConsumerArn } : {}),
        CENTRALOG_LOG_GROUP_SOURCES: JSON.stringify(memberLogGroupSources(config)),
      },
      healthCheck: statusHealthCheck(9464),
      readonlyRootFilesystem: true,
    });
    // The consumer's Prometheus metrics reach CloudWatch as embedded metric format logs.
    taskDefinition.addContainer('metrics', {
      image: ecs.ContainerImage.fromRegistry(METRICS_AGENT_IMAGE),
      essential: false,
      memoryReservationMiB: 64,
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'metrics-agent' }),
      environment: metricsAgentEnvironment({ logGroupName: metricsGroup.logGroupName, namespace: this.metricsNamespace, port: 9464 }),
      readonlyRootFilesystem: false,
    });
    acknowledge(taskDefinition.obtainExecutionRole(), ['AwsSolutions-IAM5[Resource::*]', 'ecr:GetAuthorizationToken (to pull the image) has no resource-level permissions']);
    acknowledge(taskDefinition, ['AwsSolutions-ECS2', 'the variables are names, URLs and switches (no secrets); the consumer is configured through CENTRALOG_* variables by design']);
    skipCheckov(taskDefinition, ['CKV_AWS_336', 'the CloudWatch agent sidecar writes its state under /opt/aws; the consumer container itself is read-only']);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.network.vpc,
      description: 'centralog consumer: no inbound; HTTPS out to AWS APIs and OpenSearch',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs (Kinesis, DynamoDB, S3, KMS, ECR, CloudWatch), OpenSearch');

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition,
      desiredCount: config.consumer.minTasks,
      vpcSubnets: props.network.privateSubnets,
      securityGroups: [this.securityGroup],
      assignPublicIp: false,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
    });
    const scaling = this.service.autoScaleTaskCount({ minCapacity: config.consumer.minTasks, maxCapacity: Math.max(config.consumer.minTasks, maxShards(config)) });
    const threshold = config.consumer.scaleOutIteratorAgeSeconds * 1000;
    scaling.scaleOnMetric('IteratorAge', {
      metric: props.stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: 'Maximum', period: Duration.minutes(1) }),
      scalingSteps: [
        { upper: threshold / 4, change: -1 },
        { lower: threshold, change: +1 },
        { lower: threshold * 5, change: +2 },
      ],
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      cooldown: Duration.minutes(5),
      evaluationPeriods: 3,
    });

    this.grant(props, metricsGroup.logGroupArn);
  }

  /** Exactly what `centralog consume` calls, and what the metrics agent writes. */
  private grant(props: ConsumerFleetProps, metricsGroupArn: string): void {
    const statements = [
      new iam.PolicyStatement({ sid: 'ReadStream', actions: ['kinesis:ListShards', 'kinesis:GetShardIterator', 'kinesis:GetRecords'], resources: [props.stream.streamArn] }),
      new iam.PolicyStatement({ sid: 'DecryptStream', actions: ['kms:Decrypt'], resources: [props.streamKey.keyArn] }),
      // The infra registers the consumer, so the task only subscribes with it (and checks it is ACTIVE).
      ...(props.streamConsumerArn
        ? [new iam.PolicyStatement({ sid: 'FanOut', actions: ['kinesis:SubscribeToShard', 'kinesis:DescribeStreamConsumer'], resources: [props.streamConsumerArn] })]
        : []),
      new iam.PolicyStatement({
        sid: 'Leases',
        // CreateTable/DescribeTable: the consumer makes sure the table exists at start (it does: CreateTable answers ResourceInUse).
        actions: ['dynamodb:CreateTable', 'dynamodb:DescribeTable', 'dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [this.table.tableArn],
      }),
      new iam.PolicyStatement({ sid: 'LeaseTableKey', actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'], resources: [this.table.encryptionKey!.keyArn] }),
      new iam.PolicyStatement({ sid: 'WriteDeadLetters', actions: ['s3:PutObject'], resources: [props.deadLetters.arnForObjects(`${DEAD_LETTER_PREFIX}*`)] }),
      new iam.PolicyStatement({ sid: 'EncryptDeadLetters', actions: ['kms:GenerateDataKey'], resources: [props.deadLetterKey.keyArn] }),
      new iam.PolicyStatement({ sid: 'MetricsAsEmf', actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], resources: [metricsGroupArn] }),
    ];
    const policy = new iam.Policy(this, 'TaskPolicy', { roles: [this.taskRole], statements });
    // Tasks start with every permission they use, not a crash loop until IAM catches up.
    this.service.node.addDependency(policy);
    acknowledgeWildcards(policy, 'dead letters are objects under dead-letters/ whose keys are made per record', props.deadLetters.arnForObjects(`${DEAD_LETTER_PREFIX}*`));
  }

  /** Detections on, each new alert published once to this topic; or off. */
  detections(topic: sns.ITopic | undefined, key: kms.IKey | undefined): void {
    this.container.addEnvironment('CENTRALOG_DETECTIONS', String(Boolean(topic)));
    if (!topic || !key) return;
    this.container.addEnvironment('CENTRALOG_ALERTS_TOPIC_ARN', topic.topicArn);
    const policy = new iam.Policy(this, 'AlertsPolicy', {
      roles: [this.taskRole],
      statements: [
        new iam.PolicyStatement({ sid: 'PublishAlerts', actions: ['sns:Publish'], resources: [topic.topicArn] }),
        new iam.PolicyStatement({ sid: 'EncryptAlerts', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [key.keyArn] }),
      ],
    });
    this.service.node.addDependency(policy);
  }

  /** Lets the consumer call the domain; fine-grained access control maps the role to a writer role. */
  allowSearch(domainArn: string, domainSecurityGroup?: ec2.ISecurityGroup): void {
    const policy = new iam.Policy(this, 'SearchPolicy', {
      roles: [this.taskRole],
      statements: [new iam.PolicyStatement({ sid: 'IndexDocuments', actions: ['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost', 'es:ESHttpPut'], resources: [`${domainArn}/*`] })],
    });
    acknowledgeWildcards(policy, 'paths under the one domain: _bulk and daily index names', `${domainArn}/*`);
    this.service.node.addDependency(policy);
    if (domainSecurityGroup) domainSecurityGroup.addIngressRule(this.securityGroup, ec2.Port.tcp(443), 'consumer');
  }

  /** The consumer's OpenSearch URL, once the domain exists. */
  setOpenSearchUrl(url: string): void {
    this.container.addEnvironment('CENTRALOG_OPENSEARCH_URL', url);
  }
}
