// The OpenSearch templates (./opensearch/index.ts) and bootstrap (./opensearch/bootstrap.ts)
// are deliberately not re-exported: they are imported on their own so that their users
// need not load aws-cdk-lib.
export {
  addCentralogStacks,
  CENTRAL_LOGGING_STACK_NAME,
  CentralLoggingStack,
  destinationStackName,
  DestinationStack,
  MEMBER_ACCOUNT_STACK_NAME,
  MemberAccountStack,
  ORG_ONBOARDING_STACK_NAME,
  OrgOnboardingStack,
  S3SourceStack,
  s3SourceStackName,
  type CentralogStacks,
} from './stacks.ts';
export { DeployConfigError, DeployConfigSchema, loadDeployConfig, parseDeployConfig, type DeployConfig, type DeployConfigInput } from './config.ts';
