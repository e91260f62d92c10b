// The OpenSearch templates (./opensearch/index.ts) are deliberately not re-exported:
// they are imported on their own so that their users need not load aws-cdk-lib.
export {
  CENTRAL_LOGGING_STACK_NAME,
  CentralLoggingStack,
  MEMBER_ACCOUNT_STACK_NAME,
  MemberAccountStack,
  type CentralLoggingStackProps,
  type MemberAccountStackProps,
} from './stacks.ts';
