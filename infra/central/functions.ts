import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct, IConstruct } from 'constructs';
import { skipCheckov } from '../nag.ts';
import type { PipelineLogs } from './log-groups.ts';

/** The repository root: NodejsFunction entries and the lock file are relative to it. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The newest Node.js runtime Lambda offers (cdk-nag AwsSolutions-L1 asks for it); the bundle targets it. */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

// ESM bundles that contain CommonJS dependencies need a real `require` for node built-ins.
const REQUIRE_BANNER = "import { createRequire as __centralogCreateRequire } from 'node:module'; const require = __centralogCreateRequire(import.meta.url);";

export interface NodeFunctionProps {
  /** Entry file, relative to the repository root. */
  entry: string;
  description: string;
  logs: PipelineLogs;
  memorySize: number;
  timeout: Duration;
  environment: Record<string, string>;
  /** Shell commands run after esbuild, e.g. to copy data files beside the bundle. */
  afterBundling?: (inputDir: string, outputDir: string) => string[];
  vpc?: { vpc: ec2.IVpc; subnets: ec2.SubnetSelection; securityGroups: ec2.ISecurityGroup[] };
  /** A role made beforehand (e.g. one another resource must name before the function exists). */
  role?: iam.Role;
}

/**
 * A Lambda function from our TypeScript, bundled by the local esbuild (never Docker) into
 * one ESM file, with its own role (only its log group, no managed policy) and log group.
 */
export function nodeFunction(scope: Construct, id: string, props: NodeFunctionProps): NodejsFunction {
  const logGroup = props.logs.group(scope, `${id}Logs`);
  const role = props.role ?? new iam.Role(scope, `${id}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: props.description });
  role.addToPolicy(new iam.PolicyStatement({ sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
  if (props.vpc) {
    // The ENI actions Lambda needs in a VPC; they do not support resource-level permissions.
    role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
  }
  const fn = new NodejsFunction(scope, id, {
    entry: join(REPO_ROOT, props.entry),
    handler: 'handler',
    projectRoot: REPO_ROOT,
    depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
    runtime: LAMBDA_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    description: props.description,
    memorySize: props.memorySize,
    timeout: props.timeout,
    role,
    logGroup,
    environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
    ...(props.vpc ? { vpc: props.vpc.vpc, vpcSubnets: props.vpc.subnets, securityGroups: props.vpc.securityGroups } : {}),
    bundling: {
      forceDockerBundling: false,
      format: OutputFormat.ESM,
      target: 'node22',
      mainFields: ['module', 'main'],
      banner: REQUIRE_BANNER,
      minify: true,
      sourceMap: true,
      // Everything in the bundle: the runtime's own SDK version would differ from the tested one.
      externalModules: [],
      commandHooks: props.afterBundling
        ? { beforeBundling: () => [], beforeInstall: () => [], afterBundling: props.afterBundling }
        : undefined,
    },
  });
  return fn;
}

/** Checkov's Lambda checks that do not fit a function invoked synchronously by an AWS service. */
export function skipLambdaChecks(fn: IConstruct, what: string, options: { inVpc: boolean }): void {
  const checks: Array<[string, string]> = [
    ['CKV_AWS_116', `${what} is invoked synchronously; a dead-letter queue only serves asynchronous invocations`],
    ['CKV_AWS_115', `${what} runs in the account's unreserved concurrency; reserving some would take it from every other function`],
    ['CKV_AWS_173', `${what} has no secrets in its environment (switches and names only)`],
  ];
  if (!options.inVpc) checks.push(['CKV_AWS_117', `${what} calls only AWS APIs, none inside a VPC`]);
  skipCheckov(fn, ...checks);
}
