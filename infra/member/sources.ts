import { Aws, CfnCondition, CfnParameter, Duration, Fn, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as guardduty from 'aws-cdk-lib/aws-guardduty';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { type DeployConfig, names } from '../config.ts';
import { acknowledge, skipCheckov } from '../nag.ts';

/** At most this many VPCs per account and region get flow logs from the VpcIds parameter. */
export const MAX_VPCS = 5;

export interface SourceProps {
  config: DeployConfig;
  key: kms.IKey;
  retention: logs.RetentionDays;
}

function logGroup(scope: Construct, id: string, props: SourceProps, logGroupName: string): logs.LogGroup {
  return new logs.LogGroup(scope, id, { logGroupName, encryptionKey: props.key, retention: props.retention, removalPolicy: RemovalPolicy.DESTROY });
}

/**
 * VPC Flow Logs for the VPCs named in the VpcIds parameter (comma-separated, up to
 * MAX_VPCS): one template serves every account, each with its own VPCs.
 */
export class VpcFlowLogs extends Construct {
  readonly logGroup: logs.LogGroup;
  readonly vpcIds: CfnParameter;

  constructor(scope: Construct, id: string, props: SourceProps) {
    super(scope, id);
    const { config } = props;
    this.vpcIds = new CfnParameter(scope, 'VpcIds', {
      type: 'String',
      default: config.members.vpcIds.join(','),
      allowedPattern: '^(vpc-[0-9a-f]{8,17}(,vpc-[0-9a-f]{8,17}){0,4})?$',
      description: `VPCs whose flow logs are shipped, comma-separated (at most ${MAX_VPCS}; empty: none)`,
    });
    this.logGroup = logGroup(this, 'LogGroup', props, names(config).vpcFlowLogGroup);
    const role = new iam.Role(this, 'DeliveryRole', {
      assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:ec2:${Aws.REGION}:${Aws.ACCOUNT_ID}:vpc-flow-log/*` },
        },
      }),
      description: 'VPC Flow Logs delivery into the centralog log group',
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], resources: [this.logGroup.logGroupArn] }));
    // Padding keeps Fn::Select in range whatever the number of ids given.
    const padded = Fn.split(',', Fn.join('', [this.vpcIds.valueAsString, ','.repeat(MAX_VPCS)]));
    for (let i = 0; i < MAX_VPCS; i++) {
      const vpcId = Fn.select(i, padded);
      const given = new CfnCondition(this, `HasVpc${i}`, { expression: Fn.conditionNot(Fn.conditionEquals(vpcId, '')) });
      const flowLog = new ec2.CfnFlowLog(this, `FlowLog${i}`, {
        resourceId: vpcId,
        resourceType: 'VPC',
        trafficType: 'ALL',
        logDestinationType: 'cloud-watch-logs',
        logGroupName: this.logGroup.logGroupName,
        deliverLogsPermissionArn: role.roleArn,
        maxAggregationInterval: 60,
        logFormat: config.members.vpcFlowLogFormat,
      });
      flowLog.cfnOptions.condition = given;
    }
  }
}

/** A regional trail into a log group (global service events in one region only, so never twice). */
export class TrailToLogs extends Construct {
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: SourceProps & { globalEventsRegion: string }) {
    super(scope, id);
    const { config } = props;
    this.logGroup = logGroup(this, 'LogGroup', props, names(config).cloudTrailLogGroup);
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(accessLogs, ['AwsSolutions-S1', 'the access-log bucket itself: logging it into itself would loop']);
    skipCheckov(accessLogs, ['CKV_AWS_18', 'the access-log bucket itself: logging it into itself would loop'], ['CKV_AWS_145', 'S3 server access logging delivers only to SSE-S3 buckets']);
    // CloudTrail encrypts each log file with the key itself (KMSKeyId); the bucket adds SSE-S3.
    const bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'trail/',
      lifecycleRules: [{ expiration: Duration.days(config.members.logRetentionDays + 30), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    skipCheckov(bucket, ['CKV_AWS_145', 'CloudTrail encrypts every log file with the customer-managed key (KMSKeyId); the bucket default is SSE-S3']);
    const trailName = `${config.namePrefix}-trail`;
    const trailArn = `arn:${Aws.PARTITION}:cloudtrail:${Aws.REGION}:${Aws.ACCOUNT_ID}:trail/${trailName}`;
    props.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailEncryptsLogFiles',
        principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceArn': trailArn } },
      }),
    );
    const trail = new cloudtrail.Trail(this, 'Trail', {
      trailName,
      bucket,
      encryptionKey: props.key,
      sendToCloudWatchLogs: true,
      cloudWatchLogGroup: this.logGroup,
      enableFileValidation: true,
      isMultiRegionTrail: false,
      includeGlobalServiceEvents: true,
    });
    const inGlobalRegion = new CfnCondition(this, 'GlobalEventsHere', { expression: Fn.conditionEquals(Aws.REGION, props.globalEventsRegion) });
    const cfnTrail = trail.node.defaultChild as cloudtrail.CfnTrail;
    cfnTrail.addPropertyOverride('IncludeGlobalServiceEvents', Fn.conditionIf(inGlobalRegion.logicalId, true, false));
    skipCheckov(
      cfnTrail,
      ['CKV_AWS_67', 'one regional trail per stack instance (the member stack runs in each configured region), so every region is covered and each reaches its own destination'],
      ['CKV_AWS_252', 'no SNS notification per delivered file: the log group subscription carries the events'],
    );
  }
}

/** A GuardDuty detector (optional) and its findings into a log group through EventBridge. */
export class GuardDutyToLogs extends Construct {
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: SourceProps) {
    super(scope, id);
    const { config } = props;
    if (config.members.guardDuty.createDetector) {
      new guardduty.CfnDetector(this, 'Detector', { enable: true, findingPublishingFrequency: 'FIFTEEN_MINUTES' });
    }
    // EventBridge delivers only to log groups named /aws/events/...
    this.logGroup = logGroup(this, 'LogGroup', props, names(config).guardDutyLogGroup);
    const rule = new events.CfnRule(this, 'Findings', {
      name: `${config.namePrefix}-guardduty-findings`,
      description: 'GuardDuty findings into the centralog log group',
      eventPattern: { source: ['aws.guardduty'], 'detail-type': ['GuardDuty Finding'] },
      state: 'ENABLED',
      targets: [{ id: 'LogGroup', arn: `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:${this.logGroup.logGroupName}` }],
    });
    // One resource policy for EventBridge (an account has only 10 per region); the L2 target would add its own.
    const policy = new logs.CfnResourcePolicy(this, 'EventsPolicy', {
      policyName: `${config.namePrefix}-events-to-logs`,
      policyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'EventBridgeWritesFindings',
            Effect: 'Allow',
            Principal: { Service: ['events.amazonaws.com', 'delivery.logs.amazonaws.com'] },
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: this.logGroup.logGroupArn,
          },
        ],
      }),
    });
    rule.addResourceDependency(policy);
  }
}
