import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CENTRAL_LOGGING_STACK_NAME,
  CentralLoggingStack,
  MEMBER_ACCOUNT_STACK_NAME,
  MemberAccountStack,
} from '../../infra/index.ts';

const outdir = mkdtempSync(join(tmpdir(), 'centralog-cdk-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function buildApp() {
  const app = new App({ outdir });
  // The stacks hold no resources yet, and an in-process App (unlike `cdk synth`) adds no
  // CDKMetadata resource, so CloudFormation Validate warns that Resources is empty.
  Validations.of(app).acknowledge({
    id: 'CloudFormation-Validate::F0001',
    reason: 'placeholder stacks without resources, synthesised in-process',
  });
  const central = new CentralLoggingStack(app, CENTRAL_LOGGING_STACK_NAME);
  const member = new MemberAccountStack(app, MEMBER_ACCOUNT_STACK_NAME);
  const assembly = app.synth();
  return { central, member, assembly };
}

describe('infra CDK app', () => {
  const { central, member, assembly } = buildApp();

  it('synthesises the central logging stack to a CloudFormation template naming its role', () => {
    const template = Template.fromStack(central);
    template.hasOutput('StackRole', { Value: 'central-logging' });
  });

  it('synthesises the member account stack to a CloudFormation template naming its role', () => {
    const template = Template.fromStack(member);
    template.hasOutput('StackRole', { Value: 'member-account' });
  });

  it('lists both stacks in the cloud assembly written to the outdir', () => {
    expect(assembly.directory).toBe(outdir);
    const names = assembly.stacks.map((s) => s.stackName).sort();
    expect(names).toEqual([CENTRAL_LOGGING_STACK_NAME, MEMBER_ACCOUNT_STACK_NAME].sort());
    for (const name of names) {
      expect(assembly.getStackByName(name).template).toHaveProperty('Outputs.StackRole');
    }
  });
});
