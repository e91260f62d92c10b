import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { destinationAccessPolicy, MAX_DESTINATION_POLICY_BYTES } from '../../infra/central/destination.ts';
import {
  CENTRAL_LOGGING_STACK_NAME,
  DeployConfigError,
  DeployConfigSchema,
  loadDeployConfig,
  MEMBER_ACCOUNT_STACK_NAME,
  ORG_ONBOARDING_STACK_NAME,
  parseDeployConfig,
} from '../../infra/index.ts';
import { REPO_ROOT } from '../../infra/central/functions.ts';
import { cleanupOutdirs, configInput, synth } from '../infra/fixture.ts';

afterAll(cleanupOutdirs);

const SHIPPED_CONFIG = join(REPO_ROOT, 'infra', 'centralog.config.json');

function configError(input: unknown): string {
  try {
    parseDeployConfig(input, 'test.json');
  } catch (err) {
    expect(err).toBeInstanceOf(DeployConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('deployment config', () => {
  it('the shipped file is valid and fills every default', () => {
    const c = loadDeployConfig(SHIPPED_CONFIG);
    expect(c).toMatchObject({ namePrefix: 'centralog', stream: { retentionHours: 168 }, firehose: { bufferMiB: 128, processorBufferMiB: 0.25 } });
    expect(c.network.availabilityZones).toEqual(['eu-west-1a', 'eu-west-1b']);
  });

  it('fills defaults from the required keys alone', () => {
    const c = parseDeployConfig({ centralAccountId: '111111111111', primaryRegion: 'us-east-2', access: { mode: 'accounts', accountIds: ['222222222222'] } });
    expect(c.regions).toEqual(['us-east-2']);
    expect(c.stream).toEqual({ mode: 'provisioned', shardCount: 2, retrieval: 'polling', maxShards: 8, retentionHours: 168 });
    expect(c.opensearch).toMatchObject({ placement: 'vpc', availabilityZoneCount: 2, retentionDays: 30 });
    expect(c.members.cloudTrail).toEqual({ mode: 'create' });
  });

  it.each([
    [{ stream: { shardCount: 0 } }, 'stream.shardCount'],
    [{ firehose: { bufferMiB: 32 } }, 'firehose.bufferMiB'],
    [{ firehose: { processorBufferMiB: 3 } }, 'firehose.processorBufferMiB'],
    [{ access: { mode: 'organization', organizationId: 'my-org' } }, 'access.organizationId'],
    [{ centralAccountId: '12345' }, 'centralAccountId'],
    [{ archive: { glacierAfterDays: 400, expireAfterDays: 300 } }, 'archive.expireAfterDays'],
    [{ opensearch: { instanceCount: 3 } }, 'opensearch.instanceCount'],
    [{ logRetentionDays: 42 }, 'logRetentionDays'],
    [{ stackSets: { organizationalUnitIds: ['ou-abcd-11111111'], regions: ['ap-south-1'] } }, 'stackSets.regions.0'],
    [{ members: { vpcFlowLogFormat: '${version} ${no-such-field}' } }, 'members.vpcFlowLogFormat'],
  ])('refuses %j naming the key %s', (override, key) => {
    const message = configError({ ...configInput(), ...override });
    expect(message).toContain('invalid deployment config (test.json)');
    expect(message).toMatch(new RegExp(`^  ${key.replace(/\./g, '\\.')}: `, 'm'));
  });

  it('refuses StackSets without organisation mode (new accounts would not be allowed to subscribe)', () => {
    expect(configError(configInput({ access: { mode: 'accounts', accountIds: ['222222222222'] } }))).toMatch(/^ {2}stackSets: .*organization/m);
  });

  it('README "Deploying to AWS" documents every setting', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Deploying to AWS'), readme.indexOf('\n## ', readme.indexOf('## Deploying to AWS') + 5));
    const keys: string[] = [];
    const walk = (schema: { properties?: Record<string, any> }, prefix: string) => {
      for (const [k, v] of Object.entries(schema.properties ?? {})) {
        // Groups are documented through their fields.
        if (v.type === 'object' && v.properties) walk(v, `${prefix}${k}.`);
        else keys.push(prefix + k);
      }
    };
    walk(z.toJSONSchema(DeployConfigSchema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, any> }, '');
    expect(keys.length).toBeGreaterThan(45);
    // A key is either a row of its own or a field of its parent's JSON example.
    const missing = keys.filter((k) => !section.includes(`\`${k}\``) && !section.includes(`"${k.split('.').pop()}"`));
    expect(missing).toEqual([]);
  });

  it('measures the destination policy in bytes against the 5,120 limit', () => {
    const c = parseDeployConfig(configInput({ access: { mode: 'accounts', accountIds: Array.from({ length: 150 }, (_, i) => String(200000000000 + i)) }, stackSets: undefined }));
    expect(Buffer.byteLength(destinationAccessPolicy(c, 'eu-west-1'))).toBeLessThanOrEqual(MAX_DESTINATION_POLICY_BYTES);
    const big = parseDeployConfig(configInput({ access: { mode: 'accounts', accountIds: Array.from({ length: 360 }, (_, i) => String(200000000000 + i)) }, stackSets: undefined }));
    expect(() => destinationAccessPolicy(big, 'eu-west-1')).toThrow(/use access.mode 'organization'/);
  });
});

describe('infra CDK app', () => {
  const { stacks } = synth();

  it('builds the central, per-region destination, member and onboarding stacks', () => {
    const names = [stacks.central, ...stacks.destinations, stacks.member, stacks.onboarding!].map((s) => s.stackName);
    expect(names).toEqual([CENTRAL_LOGGING_STACK_NAME, 'CentralogDestination-us-east-1', MEMBER_ACCOUNT_STACK_NAME, ORG_ONBOARDING_STACK_NAME]);
    // Deployed with other credentials than the central stack: `cdk deploy` must not pull the central stack in.
    expect(stacks.onboarding!.dependencies).toEqual([]);
    expect(stacks.member.dependencies).toEqual([]);
  });

  it('passes cdk-nag AwsSolutions (synth throws on any unacknowledged finding), and every acknowledgement says why', () => {
    const reasons: Array<[string, string, string]> = [];
    for (const stack of [stacks.central, ...stacks.destinations, stacks.member, stacks.onboarding!]) {
      for (const c of stack.node.findAll()) {
        for (const entry of c.node.metadata) {
          if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
          for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) reasons.push([c.node.path, id, reason]);
        }
      }
    }
    expect(reasons.length).toBeGreaterThan(5);
    for (const [, , reason] of reasons) expect(reason.length).toBeGreaterThan(25);
  });

  it('every checkov skip in the templates carries a reason', () => {
    let skips = 0;
    for (const stack of [stacks.central, stacks.member]) {
      for (const c of stack.node.findAll()) {
        if (!CfnResource.isCfnResource(c)) continue;
        const checkov = c.getMetadata('checkov') as { skip?: Array<{ id: string; comment: string }> } | undefined;
        for (const s of checkov?.skip ?? []) {
          skips++;
          expect(s.id).toMatch(/^CKV2?_AWS_\d+$/);
          expect(s.comment.length).toBeGreaterThan(25);
        }
      }
    }
    expect(skips).toBeGreaterThan(5);
  });

  it('cdk-nag is live: an unencrypted, unlogged bucket fails the synth', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    new s3.Bucket(new Stack(app, 'Bad'), 'Bucket');
    expect(() => app.synth()).toThrow(/The S3 Bucket has server access logs disabled/);
  });
});
