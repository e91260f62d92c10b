import { Aws, CfnOutput, CliCredentialsStackSynthesizer, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { type DeployConfig, names } from '../config.ts';
import { acknowledge, managedPolicyFinding, skipCheckov } from '../nag.ts';

export type S3SourceConfig = DeployConfig['s3Sources'][number];

/** Receives before a message moves to the DLQ: a failing object is retried this often, never forever. */
export const S3_QUEUE_MAX_RECEIVES = 5;
/** ingest-s3 extends a message's visibility while it works; this is the first hold. */
export const S3_QUEUE_VISIBILITY_SECONDS = 300;

/**
 * In the account that owns a log bucket only S3 writes to: the queue S3 notifies of new
 * objects under the prefix (with a DLQ, both encrypted with their own key), the queue policy
 * letting S3 send and the central ingest-s3 role receive, and the role that role assumes
 * (with the external id) to read objects under the prefix and nothing else.
 */
export class S3SourceStack extends Stack {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly readRole: iam.Role;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: StackProps & { config: DeployConfig; source: S3SourceConfig }) {
    super(scope, id, {
      synthesizer: new CliCredentialsStackSynthesizer(),
      description: `centralog: S3 notifications and cross-account read role for bucket ${props.source.bucketName}`,
      env: { account: props.source.accountId, region: props.source.region ?? props.config.primaryRegion },
      ...props,
    });
    const { config, source } = props;
    const n = names(config);
    const ingestRoleArn = `arn:${Aws.PARTITION}:iam::${config.centralAccountId}:role/${n.s3IngestRole}`;
    const bucket = s3.Bucket.fromBucketName(this, 'Bucket', source.bucketName);

    this.key = new kms.Key(this, 'QueueKey', {
      description: `centralog: notifications of ${source.bucketName}`,
      alias: n.s3QueueKeyAlias(source.name),
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // The central worker reads encrypted messages; nothing else of this account is shared.
    this.key.addToResourcePolicy(new iam.PolicyStatement({ sid: 'IngestWorkerDecrypts', principals: [new iam.ArnPrincipal(ingestRoleArn)], actions: ['kms:Decrypt'], resources: ['*'] }));
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: `${n.s3Queue(source.name)}-dlq`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: n.s3Queue(source.name),
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      visibilityTimeout: Duration.seconds(S3_QUEUE_VISIBILITY_SECONDS),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: S3_QUEUE_MAX_RECEIVES },
      enforceSSL: true,
    });
    this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'IngestWorkerReceives',
        principals: [new iam.ArnPrincipal(ingestRoleArn)],
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
        resources: [this.queue.queueArn],
      }),
    );
    // S3 sends (the destination adds the queue and key policy for s3.amazonaws.com, bound to this bucket).
    bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.queue), { prefix: source.prefix });
    const handler = this.node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
    if (handler) {
      skipCheckov(
        handler.node.findChild('Resource'),
        ['CKV_AWS_115', "CDK's bucket-notification handler runs once per deployment; a concurrency reservation would only take from the account's pool"],
        ['CKV_AWS_116', "CDK's bucket-notification handler is invoked synchronously by CloudFormation, which reports its failure: there is nothing to dead-letter"],
        ['CKV_AWS_117', "CDK's bucket-notification handler only calls the S3 API to configure the bucket; a VPC would add NAT for nothing"],
      );
    }

    this.readRole = new iam.Role(this, 'ReadRole', {
      roleName: n.s3ReadRole(source.name),
      description: `centralog ingest-s3 reads ${source.bucketName}/${source.prefix}*`,
      assumedBy: new iam.PrincipalWithConditions(new iam.AccountPrincipal(config.centralAccountId), {
        StringEquals: { 'sts:ExternalId': source.externalId },
        ArnEquals: { 'aws:PrincipalArn': ingestRoleArn },
      }),
      maxSessionDuration: Duration.hours(1),
    });
    const objects = bucket.arnForObjects(`${source.prefix}*`);
    this.readRole.addToPolicy(new iam.PolicyStatement({ sid: 'ReadLogObjects', actions: ['s3:GetObject'], resources: [objects] }));
    if (source.bucketKeyArn) {
      this.readRole.addToPolicy(
        new iam.PolicyStatement({
          sid: 'DecryptLogObjects',
          actions: ['kms:Decrypt'],
          resources: [source.bucketKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
        }),
      );
    }
    acknowledge(this.readRole, [`AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${source.bucketName}/${source.prefix}*]`, 'log objects are written under the prefix with keys made per file; reading is limited to it']);
    // The notification handler CDK deploys to configure an existing bucket.
    acknowledge(this, [managedPolicyFinding('service-role/AWSLambdaBasicExecutionRole'), "CDK's bucket-notification handler (configures the existing bucket once) writes its own logs"], [
      'AwsSolutions-IAM5[Resource::*]',
      "CDK's bucket-notification handler calls s3:PutBucketNotification, which it needs on the existing bucket; CDK scopes it to *",
    ]);
    new CfnOutput(this, 'QueueUrl', { value: this.queue.queueUrl, description: 'CENTRALOG_QUEUE_URLS for ingest-s3' });
    new CfnOutput(this, 'ReadRoleArn', { value: this.readRole.roleArn, description: 'CENTRALOG_ROLE_ARN for ingest-s3' });
  }
}
