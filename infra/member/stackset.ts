import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnStackSet, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { DeployConfig } from '../config.ts';
import { FEATURE_FLAGS } from '../flags.ts';
import { MemberAccountStack } from './stack.ts';

/** CloudFormation takes at most this much template inline (TemplateBody). */
export const MAX_TEMPLATE_BODY_BYTES = 51_200;

/** The member stack's template, synthesised on its own (it has no assets, so it stands alone). */
export function memberTemplate(config: DeployConfig): Record<string, unknown> {
  const outdir = mkdtempSync(join(tmpdir(), 'centralog-member-'));
  try {
    const app = new App({ outdir, context: { ...FEATURE_FLAGS, 'aws:cdk:bundling-stacks': [] } });
    const stack = new MemberAccountStack(app, 'CentralogMemberTemplate', { config });
    return app.synth().getStackByName(stack.stackName).template as Record<string, unknown>;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Service-managed StackSet of the member stack over organisational units and regions, with
 * automatic deployment: an account that joins one of the OUs gets the stack with no
 * manual step. Deploy from the management account or a delegated StackSets administrator.
 */
export class OrgOnboardingStack extends Stack {
  readonly stackSet: CfnStackSet;

  constructor(scope: Construct, id: string, props: StackProps & { config: DeployConfig }) {
    const { config } = props;
    if (!config.stackSets) throw new Error('OrgOnboardingStack needs stackSets in the deployment config');
    super(scope, id, { ...props, env: { region: config.primaryRegion }, description: 'centralog: member stack for every account of the given OUs' });
    const body = JSON.stringify(memberTemplate(config));
    const bytes = Buffer.byteLength(body, 'utf8');
    if (bytes > MAX_TEMPLATE_BODY_BYTES) {
      throw new Error(`the member template is ${bytes} bytes; a StackSet takes at most ${MAX_TEMPLATE_BODY_BYTES} inline`);
    }
    this.stackSet = new CfnStackSet(this, 'MemberStackSet', {
      stackSetName: `${config.namePrefix}-member`,
      description: 'centralog member account: VPC Flow Logs, CloudTrail, GuardDuty into log groups subscribed to the central destination',
      permissionModel: 'SERVICE_MANAGED',
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      callAs: config.stackSets.callAs,
      capabilities: ['CAPABILITY_NAMED_IAM'],
      managedExecution: { Active: true },
      operationPreferences: { failureTolerancePercentage: 10, maxConcurrentPercentage: 25, regionConcurrencyType: 'PARALLEL' },
      stackInstancesGroup: [{ deploymentTargets: { organizationalUnitIds: config.stackSets.organizationalUnitIds }, regions: config.stackSets.regions }],
      templateBody: body,
    });
  }
}
