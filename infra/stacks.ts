import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/** Stack id (and CloudFormation stack name) of the central logging account's stack. */
export const CENTRAL_LOGGING_STACK_NAME = 'CentralogCentralLogging';
/** Stack id (and CloudFormation stack name) of a member account's stack. */
export const MEMBER_ACCOUNT_STACK_NAME = 'CentralogMemberAccount';

export interface CentralLoggingStackProps extends StackProps {
  /** Accounts allowed to deliver logs to the central account; not used until the log destination exists. */
  readonly memberAccountIds?: readonly string[];
}

/** Central logging account: will hold the Kinesis stream, S3 archive, Firehose, consumer (ECS) and OpenSearch. */
export class CentralLoggingStack extends Stack {
  readonly memberAccountIds: readonly string[];

  constructor(scope: Construct, id: string, props: CentralLoggingStackProps = {}) {
    super(scope, id, props);
    this.memberAccountIds = props.memberAccountIds ?? [];
    new CfnOutput(this, 'StackRole', {
      value: 'central-logging',
      description: 'Role of this stack in centralog',
    });
  }
}

export interface MemberAccountStackProps extends StackProps {
  /** The central logging account that member log groups will be subscribed to; not used until subscriptions exist. */
  readonly centralAccountId?: string;
}

/** Member account: will hold the CloudWatch Logs subscription filters and the role that ships logs to the central account. */
export class MemberAccountStack extends Stack {
  readonly centralAccountId: string | undefined;

  constructor(scope: Construct, id: string, props: MemberAccountStackProps = {}) {
    super(scope, id, props);
    this.centralAccountId = props.centralAccountId;
    new CfnOutput(this, 'StackRole', {
      value: 'member-account',
      description: 'Role of this stack in centralog',
    });
  }
}
