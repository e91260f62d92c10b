import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addCentralogStacks, type CentralogStacks, type DeployConfigInput, parseDeployConfig } from '../../infra/index.ts';

export const CENTRAL = '111111111111';
export const ORG = 'o-exampleorg1';

/** A complete, valid configuration: organisation mode, two regions, StackSets on. */
export function configInput(overrides: Partial<DeployConfigInput> = {}): DeployConfigInput {
  return {
    centralAccountId: CENTRAL,
    primaryRegion: 'eu-west-1',
    regions: ['eu-west-1', 'us-east-1'],
    access: { mode: 'organization', organizationId: ORG },
    members: { vpcIds: ['vpc-0123456789abcdef0'], vpcFlowLogFormat: '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id}' },
    stackSets: { organizationalUnitIds: ['ou-abcd-11111111'], regions: ['eu-west-1', 'us-east-1'] },
    ...overrides,
  };
}

const outdirs: string[] = [];
export function cleanupOutdirs(): void {
  for (const d of outdirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface Synthesised {
  stacks: CentralogStacks;
  central: Template;
  member: Template;
  destinations: Template[];
  onboarding?: Template;
}

/**
 * Synthesises every stack of a configuration, with cdk-nag (an unacknowledged finding
 * throws). Lambda bundling is skipped unless asked for: the assertions read the templates.
 */
export function synth(input: DeployConfigInput = configInput(), options: { bundle?: boolean } = {}): Synthesised {
  const outdir = mkdtempSync(join(tmpdir(), 'centralog-infra-test-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] } });
  const stacks = addCentralogStacks(app, parseDeployConfig(input));
  app.synth();
  return {
    stacks,
    central: Template.fromStack(stacks.central),
    member: Template.fromStack(stacks.member),
    destinations: stacks.destinations.map((s) => Template.fromStack(s)),
    onboarding: stacks.onboarding ? Template.fromStack(stacks.onboarding) : undefined,
  };
}

type Resources = Record<string, { Type: string; Properties?: Record<string, any>; DependsOn?: string[]; Metadata?: Record<string, any> }>;

/** The one resource of a type whose logical id starts with a prefix (ids carry a hash suffix). */
export function resource(template: Template, type: string, idPrefix: string): { id: string; Properties: Record<string, any>; DependsOn: string[]; Metadata: Record<string, any> } {
  const all = template.findResources(type) as Resources;
  const found = Object.entries(all).filter(([id]) => id.startsWith(idPrefix));
  if (found.length !== 1) throw new Error(`expected one ${type} starting with ${idPrefix}, found ${found.map(([id]) => id).join(', ') || 'none'}`);
  const [id, r] = found[0]!;
  return { id, Properties: r.Properties ?? {}, DependsOn: r.DependsOn ?? [], Metadata: r.Metadata ?? {} };
}

/** Statements of the IAM policy (AWS::IAM::Policy) whose logical id starts with a prefix, by Sid. */
export function statements(template: Template, idPrefix: string): Record<string, any> {
  const p = resource(template, 'AWS::IAM::Policy', idPrefix);
  return Object.fromEntries((p.Properties.PolicyDocument.Statement as Array<{ Sid?: string }>).map((s, i) => [s.Sid ?? `#${i}`, s]));
}

/** Every action an IAM policy allows, flattened. */
export function allowedActions(template: Template, idPrefix: string): string[] {
  return Object.values(statements(template, idPrefix)).flatMap((s: any) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
}

/** A { Ref } or { Fn::GetAtt } pointing at a resource whose id starts with a prefix. */
export function refersTo(value: unknown, idPrefix: string): boolean {
  return JSON.stringify(value).includes(`"${idPrefix}`);
}
