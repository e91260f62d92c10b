import { Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, type IConstruct } from 'constructs';
import { type DeployConfig, destinationArn, names } from '../config.ts';

/** CloudWatch Logs refuses a destination access policy longer than this. */
export const MAX_DESTINATION_POLICY_BYTES = 5120;

/** The partition a region belongs to. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.includes('-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * Who may subscribe log groups to the destination in `region`: every account of the
 * organisation (`Principal: "*"` bounded by aws:PrincipalOrgID), or the listed accounts.
 * PutAccountPolicy lets members use account-level subscription filters too.
 */
export function destinationAccessPolicy(config: DeployConfig, region: string): string {
  const resource = destinationArn(config, region, partitionOf(region));
  const actions = ['logs:PutSubscriptionFilter', 'logs:PutAccountPolicy'];
  const statement =
    config.access.mode === 'organization'
      ? { Sid: 'OrganizationSubscriptions', Effect: 'Allow', Principal: '*', Action: actions, Resource: resource, Condition: { StringEquals: { 'aws:PrincipalOrgID': config.access.organizationId } } }
      : { Sid: 'AccountSubscriptions', Effect: 'Allow', Principal: { AWS: config.access.accountIds }, Action: actions, Resource: resource };
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: [statement] });
  const bytes = Buffer.byteLength(policy, 'utf8');
  if (bytes > MAX_DESTINATION_POLICY_BYTES) {
    throw new Error(
      `the access policy of the CloudWatch Logs destination in ${region} is ${bytes} bytes; CloudWatch Logs accepts at most ${MAX_DESTINATION_POLICY_BYTES}. ` +
        `access.accountIds lists ${config.access.mode === 'accounts' ? config.access.accountIds.length : 0} accounts: use access.mode 'organization' instead.`,
    );
  }
  return policy;
}

/**
 * The role CloudWatch Logs assumes to put subscription data into the stream, for the
 * destinations of every configured region (IAM is global). Its trust is bounded to the
 * senders (confused deputy): the organisation, or the listed accounts and this one.
 */
export class DestinationRole extends Construct {
  readonly role: iam.Role;
  /** Separate from the role: a destination must depend on the permissions, not just the role. */
  readonly policy: iam.Policy;

  constructor(scope: Construct, id: string, props: { config: DeployConfig; stream: kinesis.IStream; key: kms.IKey }) {
    super(scope, id);
    const { config } = props;
    const partition = partitionOf(config.primaryRegion);
    const senders = config.access.mode === 'accounts' ? [...new Set([...config.access.accountIds, config.centralAccountId])] : [];
    const conditions =
      config.access.mode === 'organization'
        ? { StringEquals: { 'aws:SourceOrgID': config.access.organizationId } }
        : {
            StringEquals: { 'aws:SourceAccount': senders },
            StringLike: { 'aws:SourceArn': config.regions.flatMap((r) => senders.map((a) => `arn:${partition}:logs:${r}:${a}:*`)) },
          };
    this.role = new iam.Role(this, 'Role', {
      roleName: names(config).destinationRole,
      description: 'CloudWatch Logs destinations put subscription data into the centralog stream',
      assumedBy: new iam.ServicePrincipal('logs.amazonaws.com', { conditions }),
    });
    this.policy = new iam.Policy(this, 'Policy', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({ sid: 'PutIntoStream', actions: ['kinesis:PutRecord'], resources: [props.stream.streamArn] }),
        new iam.PolicyStatement({ sid: 'EncryptForStream', actions: ['kms:GenerateDataKey'], resources: [props.key.keyArn] }),
      ],
    });
  }
}

/** One CloudWatch Logs destination in front of the stream. */
export function addDestination(scope: Construct, id: string, props: { config: DeployConfig; region: string; roleArn: string; targetArn: string; dependsOn?: IConstruct }): logs.CfnDestination {
  const destination = new logs.CfnDestination(scope, id, {
    destinationName: names(props.config).destination,
    roleArn: props.roleArn,
    targetArn: props.targetArn,
    destinationPolicy: destinationAccessPolicy(props.config, props.region),
  });
  // CloudWatch Logs puts a test record through the role when the destination is created.
  if (props.dependsOn) destination.node.addDependency(props.dependsOn);
  return destination;
}

/** Destinations in a region other than the stream's: the role and stream come from the central stack, by name. */
export class DestinationStack extends Stack {
  readonly destination: logs.CfnDestination;

  constructor(scope: Construct, id: string, props: StackProps & { config: DeployConfig; region: string }) {
    super(scope, id, { ...props, env: { account: props.config.centralAccountId, region: props.region } });
    const { config } = props;
    const n = names(config);
    const partition = partitionOf(config.primaryRegion);
    this.destination = addDestination(this, 'Destination', {
      config,
      region: props.region,
      roleArn: `arn:${partition}:iam::${config.centralAccountId}:role/${n.destinationRole}`,
      targetArn: `arn:${partition}:kinesis:${config.primaryRegion}:${config.centralAccountId}:stream/${n.stream}`,
    });
  }
}
