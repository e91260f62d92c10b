import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { type DeployConfig, names } from '../config.ts';
import { acknowledge, acknowledgeWildcards } from '../nag.ts';
import { DEAD_LETTER_PREFIX, statusHealthCheck, workerEnvironment } from './consumer.ts';
import { REPO_ROOT } from './functions.ts';
import type { PipelineLogs } from './log-groups.ts';
import type { CentralNetwork } from './network.ts';

export interface S3IngestWorkersProps {
  config: DeployConfig;
  logs: PipelineLogs;
  network: CentralNetwork;
  /** The consumer's cluster: the ingest workers are a second kind of service in it. */
  cluster: ecs.ICluster;
  deadLetters: s3.IBucket;
  deadLetterKey: kms.IKey;
}

/**
 * `centralog ingest-s3` on Fargate: one service per S3 source (each reads its bucket through
 * that bucket owner's role), sharing one task role the bucket owners' stacks name.
 */
export class S3IngestWorkers extends Construct {
  readonly taskRole: iam.Role;
  readonly services: ecs.FargateService[] = [];
  readonly securityGroup: ec2.SecurityGroup;
  private readonly containers: ecs.ContainerDefinition[] = [];

  constructor(scope: Construct, id: string, props: S3IngestWorkersProps) {
    super(scope, id);
    const { config } = props;
    const n = names(config);
    const stack = Stack.of(this);
    this.taskRole = new iam.Role(this, 'TaskRole', {
      roleName: n.s3IngestRole,
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com', {
        conditions: { ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:ecs:${stack.region}:${config.centralAccountId}:*` } },
      }),
      description: 'centralog ingest-s3: receives S3 notifications, reads objects through bucket owners\' roles, indexes into OpenSearch, writes dead letters',
    });
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.network.vpc,
      description: 'centralog ingest-s3: no inbound; HTTPS out to AWS APIs and OpenSearch',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs (SQS, STS, S3, KMS, ECR, CloudWatch), OpenSearch');
    const logGroup = props.logs.group(this, 'Logs');
    const statements: iam.PolicyStatement[] = [];
    for (const source of config.s3Sources) {
      const region = source.region ?? config.primaryRegion;
      const queueArn = `arn:${stack.partition}:sqs:${region}:${source.accountId}:${n.s3Queue(source.name)}`;
      const queueUrl = `https://sqs.${region}.${stack.urlSuffix}/${source.accountId}/${n.s3Queue(source.name)}`;
      const readRoleArn = `arn:${stack.partition}:iam::${source.accountId}:role/${n.s3ReadRole(source.name)}`;
      const task = new ecs.FargateTaskDefinition(this, `${source.name}Task`, {
        cpu: 512,
        memoryLimitMiB: 1024,
        taskRole: this.taskRole,
        runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      });
      this.containers.push(
        task.addContainer('ingest-s3', {
          image: ecs.ContainerImage.fromAsset(REPO_ROOT, { file: 'Dockerfile', platform: Platform.LINUX_ARM64 }),
          entryPoint: ['node', '--max-old-space-size=384', '--openssl-legacy-provider', 'dist/cli/centralog.mjs', 'ingest-s3'],
          essential: true,
          logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: source.name }),
          environment: {
            CENTRALOG_REGION: region,
            CENTRALOG_QUEUE_URLS: queueUrl,
            CENTRALOG_ROLE_ARN: readRoleArn,
            CENTRALOG_EXTERNAL_ID: source.externalId,
            ...workerEnvironment(config, props.deadLetters, 9465),
          },
          healthCheck: statusHealthCheck(9465),
          readonlyRootFilesystem: true,
        }),
      );
      acknowledge(task.obtainExecutionRole(), ['AwsSolutions-IAM5[Resource::*]', 'ecr:GetAuthorizationToken (to pull the image) has no resource-level permissions']);
      acknowledge(task, ['AwsSolutions-ECS2', 'the variables are names, URLs and switches (no secrets); the worker is configured through CENTRALOG_* variables by design']);
      this.services.push(
        new ecs.FargateService(this, `${source.name}Service`, {
          cluster: props.cluster,
          taskDefinition: task,
          desiredCount: 1,
          vpcSubnets: props.network.privateSubnets,
          securityGroups: [this.securityGroup],
          assignPublicIp: false,
          circuitBreaker: { rollback: true },
          minHealthyPercent: 100,
          maxHealthyPercent: 200,
        }),
      );
      statements.push(
        new iam.PolicyStatement({ sid: `Receive${statements.length}`, actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'], resources: [queueArn] }),
        new iam.PolicyStatement({
          sid: `DecryptMessages${statements.length}`,
          actions: ['kms:Decrypt'],
          resources: [`arn:${stack.partition}:kms:${region}:${source.accountId}:key/*`],
          // Only the key behind that source's queue alias.
          conditions: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': n.s3QueueKeyAlias(source.name) } },
        }),
        new iam.PolicyStatement({ sid: `AssumeReadRole${statements.length}`, actions: ['sts:AssumeRole'], resources: [readRoleArn] }),
      );
    }
    statements.push(
      new iam.PolicyStatement({ sid: 'WriteDeadLetters', actions: ['s3:PutObject'], resources: [props.deadLetters.arnForObjects(`${DEAD_LETTER_PREFIX}*`)] }),
      new iam.PolicyStatement({ sid: 'EncryptDeadLetters', actions: ['kms:GenerateDataKey'], resources: [props.deadLetterKey.keyArn] }),
    );
    const policy = new iam.Policy(this, 'TaskPolicy', { roles: [this.taskRole], statements });
    for (const s of this.services) s.node.addDependency(policy);
    acknowledgeWildcards(
      policy,
      "dead letters are objects under dead-letters/ whose keys are made per object; a queue key is named by its alias, its id only known in the bucket owner's account",
      props.deadLetters.arnForObjects(`${DEAD_LETTER_PREFIX}*`),
      ...config.s3Sources.map((s) => `arn:${stack.partition}:kms:${s.region ?? config.primaryRegion}:${s.accountId}:key/*`),
    );
  }

  /** Lets the workers call the domain (the bootstrap maps the role to a writer role). */
  allowSearch(domainArn: string, domainSecurityGroup?: ec2.ISecurityGroup): void {
    const policy = new iam.Policy(this, 'SearchPolicy', {
      roles: [this.taskRole],
      statements: [new iam.PolicyStatement({ sid: 'IndexDocuments', actions: ['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost', 'es:ESHttpPut'], resources: [`${domainArn}/*`] })],
    });
    acknowledgeWildcards(policy, 'paths under the one domain: _bulk and daily index names', `${domainArn}/*`);
    for (const s of this.services) s.node.addDependency(policy);
    if (domainSecurityGroup) domainSecurityGroup.addIngressRule(this.securityGroup, ec2.Port.tcp(443), 'ingest-s3');
  }

  setOpenSearchUrl(url: string): void {
    for (const c of this.containers) c.addEnvironment('CENTRALOG_OPENSEARCH_URL', url);
  }
}
