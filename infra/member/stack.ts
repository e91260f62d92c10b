import { Aws, CfnOutput, CliCredentialsStackSynthesizer, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type DeployConfig, memberStackLogGroupSources, names } from '../config.ts';
import { GuardDutyToLogs, TrailToLogs, VpcFlowLogs } from './sources.ts';

/**
 * A member account, in one region: the security sources into log groups, each subscribed
 * to the central destination of this region. Environment-agnostic and asset-free, so the
 * same template deploys with `cdk deploy` in one account or through a StackSet everywhere.
 */
export class MemberAccountStack extends Stack {
  readonly config: DeployConfig;
  readonly subscriptionRole?: iam.Role;
  readonly filters: logs.CfnSubscriptionFilter[] = [];

  constructor(scope: Construct, id: string, props: StackProps & { config: DeployConfig }) {
    // No bootstrap resources: StackSet instances cannot use the CDK bootstrap of their account.
    super(scope, id, { synthesizer: new CliCredentialsStackSynthesizer(), description: 'centralog: member account sources and subscriptions', ...props });
    const { config } = props;
    this.config = config;
    const n = names(config);
    const key = new kms.Key(this, 'LogsKey', { description: 'centralog: member log groups', enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsInThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*` } },
      }),
    );
    const sourceProps = { config, key, retention: config.members.logRetentionDays as logs.RetentionDays };

    const groups: Array<{ id: string; logGroupName: string; dependsOn?: Construct }> = [];
    const flow = new VpcFlowLogs(this, 'VpcFlowLogs', sourceProps);
    groups.push({ id: 'VpcFlowLogs', logGroupName: flow.logGroup.logGroupName, dependsOn: flow.logGroup });
    const trail = config.members.cloudTrail;
    if (trail.mode === 'create') {
      const t = new TrailToLogs(this, 'CloudTrail', { ...sourceProps, globalEventsRegion: trail.globalEventsRegion ?? config.primaryRegion });
      groups.push({ id: 'CloudTrail', logGroupName: t.logGroup.logGroupName, dependsOn: t.logGroup });
    } else if (trail.mode === 'existing') {
      groups.push({ id: 'CloudTrail', logGroupName: trail.logGroupName });
    }
    if (config.members.guardDuty.enabled) {
      const g = new GuardDutyToLogs(this, 'GuardDuty', sourceProps);
      groups.push({ id: 'GuardDuty', logGroupName: g.logGroup.logGroupName, dependsOn: g.logGroup });
    }

    const destinationArn = `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${config.centralAccountId}:destination:${n.destination}`;
    if (config.access.mode === 'organization') {
      // With an organisation-wide destination policy the sender must name a role of its own
      // that CloudWatch Logs assumes to deliver. IAM is global: the name carries the region.
      this.subscriptionRole = new iam.Role(this, 'SubscriptionRole', {
        roleName: `${n.memberSubscriptionRole}-${Aws.REGION}`,
        description: 'CloudWatch Logs delivers subscription data to the centralog destination',
        assumedBy: new iam.ServicePrincipal('logs.amazonaws.com', {
          conditions: { StringLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:*` } },
        }),
      });
      this.subscriptionRole.addToPolicy(new iam.PolicyStatement({ sid: 'DeliverToDestination', actions: ['logs:PutLogEvents'], resources: [destinationArn] }));
    }
    for (const g of groups) {
      const filter = new logs.CfnSubscriptionFilter(this, `${g.id}Subscription`, {
        logGroupName: g.logGroupName,
        destinationArn,
        filterPattern: '',
        filterName: `${config.namePrefix}-to-central`,
        roleArn: this.subscriptionRole?.roleArn,
      });
      if (g.dependsOn) filter.node.addDependency(g.dependsOn);
      if (this.subscriptionRole) filter.node.addDependency(this.subscriptionRole);
      this.filters.push(filter);
    }
    // What the central consumer must be told these groups carry (it is, from the same config).
    new CfnOutput(this, 'LogGroupSources', {
      value: JSON.stringify(memberStackLogGroupSources(config)),
      description: 'CENTRALOG_LOG_GROUP_SOURCES entries for the log groups this stack subscribes',
    });
    new CfnOutput(this, 'DestinationArn', { value: destinationArn, description: 'the central destination these log groups are subscribed to' });
  }
}
