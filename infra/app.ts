import { App, type Environment } from 'aws-cdk-lib';
import {
  CENTRAL_LOGGING_STACK_NAME,
  CentralLoggingStack,
  MEMBER_ACCOUNT_STACK_NAME,
  MemberAccountStack,
} from './stacks.ts';

// The CDK CLI sets these from the active credentials; without them the stacks are
// environment-agnostic and synthesise offline.
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
const env: Environment | undefined = account || region ? { account, region } : undefined;

const app = new App();
new CentralLoggingStack(app, CENTRAL_LOGGING_STACK_NAME, { env });
new MemberAccountStack(app, MEMBER_ACCOUNT_STACK_NAME, { env });
app.synth();
