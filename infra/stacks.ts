import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { DeployConfig } from './config.ts';
import { applyFeatureFlags } from './flags.ts';
import { DestinationStack } from './central/destination.ts';
import { CentralLoggingStack } from './central/stack.ts';
import { MemberAccountStack } from './member/stack.ts';
import { OrgOnboardingStack } from './member/stackset.ts';
import { S3SourceStack } from './member/s3-source.ts';

/** Stack id (and CloudFormation stack name) of the central logging account's stack. */
export const CENTRAL_LOGGING_STACK_NAME = 'CentralogCentralLogging';
/** Stack id (and CloudFormation stack name) of a member account's stack. */
export const MEMBER_ACCOUNT_STACK_NAME = 'CentralogMemberAccount';
/** Stack id of the StackSet that deploys the member stack across the organisation. */
export const ORG_ONBOARDING_STACK_NAME = 'CentralogOrgOnboarding';
/** Stack id of the destination in a region other than the stream's. */
export function destinationStackName(region: string): string {
  return `CentralogDestination-${region}`;
}

/** Stack id of the S3 source (queue, notification, read role) in a bucket owner's account. */
export function s3SourceStackName(source: string): string {
  return `CentralogS3Source-${source}`;
}

export { CentralLoggingStack, DestinationStack, MemberAccountStack, OrgOnboardingStack, S3SourceStack };

export interface CentralogStacks {
  central: CentralLoggingStack;
  /** Destinations of the regions other than the primary one. */
  destinations: DestinationStack[];
  member: MemberAccountStack;
  onboarding?: OrgOnboardingStack;
  /** One per configured S3 source, deployed in the bucket owner's account. */
  s3Sources: S3SourceStack[];
}

/**
 * Every centralog stack for one deployment config, checked by cdk-nag's AwsSolutions pack
 * on synth (an unacknowledged finding fails the synth).
 */
export function addCentralogStacks(app: App, config: DeployConfig, options: { nag?: boolean } = {}): CentralogStacks {
  applyFeatureFlags(app);
  if (options.nag !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  const central = new CentralLoggingStack(app, CENTRAL_LOGGING_STACK_NAME, { config });
  const destinations = config.regions
    .filter((r) => r !== config.primaryRegion)
    .map((region) => {
      const stack = new DestinationStack(app, destinationStackName(region), { config, region });
      // The role's permissions (central stack) exist before CloudWatch Logs tests the destination.
      stack.addStackDependency(central);
      return stack;
    });
  const member = new MemberAccountStack(app, MEMBER_ACCOUNT_STACK_NAME, { config });
  // No stack dependency on the central stack: it is deployed with other credentials (the
  // management account or a delegated administrator), and the CLI would deploy a dependency too.
  const onboarding = config.stackSets ? new OrgOnboardingStack(app, ORG_ONBOARDING_STACK_NAME, { config }) : undefined;
  const s3Sources = config.s3Sources.map((source) => new S3SourceStack(app, s3SourceStackName(source.name), { config, source }));
  return { central, destinations, member, onboarding, s3Sources };
}
