import { Template } from 'aws-cdk-lib/assertions';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveOptions, S3IngestOptionsSchema } from '../../consumers/index.ts';
import { S3_QUEUE_MAX_RECEIVES } from '../../infra/member/s3-source.ts';
import { CENTRAL, cleanupOutdirs, configInput, resource, statements, synth } from '../infra/fixture.ts';

afterAll(cleanupOutdirs);

const OWNER = '222222222222';
const source = { name: 'alb-prod', accountId: OWNER, bucketName: 'prod-alb-logs', prefix: 'AWSLogs/', externalId: 'centralog-222222222222', bucketKeyArn: 'arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab' };

describe('S3 sources: the bucket owner\'s stack and the ingest-s3 service (cdk-nag passes on synth)', () => {
  const synthesised = synth(configInput({ s3Sources: [source] }));
  const owner = Template.fromStack(synthesised.stacks.s3Sources[0]!);
  const central = synthesised.central;
  const ingestRole = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${CENTRAL}:role/centralog-ingest-s3`]] };

  it("deploys in the bucket owner's account and region", () => {
    expect(synthesised.stacks.s3Sources[0]!.environment).toBe(`aws://${OWNER}/eu-west-1`);
  });

  it('has a KMS-encrypted queue whose messages go to an encrypted DLQ after a bounded number of receives', () => {
    const queue = resource(owner, 'AWS::SQS::Queue', 'Queue');
    expect(queue.Properties.QueueName).toBe('centralog-alb-prod-events');
    expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBe(S3_QUEUE_MAX_RECEIVES);
    expect(JSON.stringify(queue.Properties.RedrivePolicy.deadLetterTargetArn)).toContain('DeadLetterQueue');
    expect(JSON.stringify(queue.Properties.KmsMasterKeyId)).toContain('QueueKey');
    expect(JSON.stringify(resource(owner, 'AWS::SQS::Queue', 'DeadLetterQueue').Properties.KmsMasterKeyId)).toContain('QueueKey');
    expect(resource(owner, 'AWS::KMS::Key', 'QueueKey').Properties.EnableKeyRotation).toBe(true);
  });

  it('notifies the queue of objects created under the prefix', () => {
    const notifications = owner.findResources('Custom::S3BucketNotifications') as Record<string, any>;
    const config = Object.values(notifications)[0].Properties.NotificationConfiguration;
    expect(config.QueueConfigurations).toHaveLength(1);
    expect(config.QueueConfigurations[0]).toMatchObject({ Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'AWSLogs/' }] } } });
  });

  it('lets S3 (for this bucket only) send and only the central ingest role receive', () => {
    const policy = resource(owner, 'AWS::SQS::QueuePolicy', 'QueuePolicy').Properties.PolicyDocument.Statement as any[];
    const fromS3 = policy.find((s) => JSON.stringify(s.Principal).includes('s3.amazonaws.com'));
    expect(JSON.stringify(fromS3.Condition)).toContain('prod-alb-logs');
    const worker = policy.find((s) => s.Sid === 'IngestWorkerReceives');
    expect(worker.Principal).toEqual({ AWS: ingestRole });
    expect(worker.Action.sort()).toEqual(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage']);
  });

  it('has a read role only the central ingest role can assume, with the external id, reading only under the prefix', () => {
    const role = resource(owner, 'AWS::IAM::Role', 'ReadRole');
    expect(role.Properties.RoleName).toBe('centralog-alb-prod-read');
    const trust = role.Properties.AssumeRolePolicyDocument.Statement[0];
    expect(trust.Condition).toEqual({ StringEquals: { 'sts:ExternalId': 'centralog-222222222222' }, ArnEquals: { 'aws:PrincipalArn': ingestRole } });
    expect(JSON.stringify(trust.Principal)).toContain(`:iam::${CENTRAL}:root`);
    const s = statements(owner, 'ReadRoleDefaultPolicy');
    expect(s.ReadLogObjects).toMatchObject({ Action: 's3:GetObject', Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::prod-alb-logs/AWSLogs/*']] } });
    expect(s.DecryptLogObjects).toMatchObject({ Action: 'kms:Decrypt', Resource: source.bucketKeyArn, Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } } });
  });

  it('runs ingest-s3 as a second ECS service in the consumer cluster, pointed at the queue and the read role', () => {
    const services = central.findResources('AWS::ECS::Service') as Record<string, any>;
    expect(Object.keys(services)).toHaveLength(2);
    const task = resource(central, 'AWS::ECS::TaskDefinition', 'S3Ingestalbprod');
    const container = task.Properties.ContainerDefinitions[0];
    expect(container.EntryPoint.at(-1)).toBe('ingest-s3');
    const env = Object.fromEntries((container.Environment as Array<{ Name: string; Value: unknown }>).map((e) => [e.Name, e.Value]));
    expect(env.CENTRALOG_QUEUE_URLS).toEqual({ 'Fn::Join': ['', ['https://sqs.eu-west-1.', { Ref: 'AWS::URLSuffix' }, `/${OWNER}/centralog-alb-prod-events`]] });
    expect(env.CENTRALOG_ROLE_ARN).toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${OWNER}:role/centralog-alb-prod-read`]] });
    expect(env.CENTRALOG_EXTERNAL_ID).toBe('centralog-222222222222');
    expect(env.CENTRALOG_OPENSEARCH_URL).toBeDefined();
    const role = resource(central, 'AWS::IAM::Role', 'S3IngestTaskRole');
    expect(role.Properties.RoleName).toBe('centralog-ingest-s3');
    const s = statements(central, 'S3IngestTaskPolicy');
    expect(s.AssumeReadRole0.Resource).toEqual(env.CENTRALOG_ROLE_ARN);
    expect(s.DecryptMessages0.Condition).toEqual({ 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/centralog-alb-prod-events' } });
  });

  it('passes cfn-lint and checkov (the linters the other templates pass)', () => {
    const venv = process.env.CENTRALOG_LINT_VENV ?? join(homedir(), '.cache', 'centralog', 'lint-venv');
    const [cfnLint, checkov] = [join(venv, 'bin', 'cfn-lint'), join(venv, 'bin', 'checkov')];
    if (!existsSync(cfnLint) || !existsSync(checkov)) throw new Error(`cfn-lint/checkov missing in ${venv}: run bash scripts/python-venvs.sh lint (npm test does)`);
    const dir = mkdtempSync(join(tmpdir(), 'centralog-s3-source-lint-'));
    try {
      const files = [
        [join(dir, 'CentralogS3Source-alb-prod.template.json'), owner],
        [join(dir, 'CentralogCentralLogging.template.json'), central],
      ] as const;
      for (const [file, t] of files) writeFileSync(file, JSON.stringify(t.toJSON()));
      const lint = spawnSync(cfnLint, ['--format', 'parseable', ...files.map(([f]) => f)], { encoding: 'utf8', timeout: 240_000 });
      expect(lint.stdout.split('\n').filter((l) => /:E\d{4}:/.test(l))).toEqual([]);
      const run = spawnSync(checkov, ['--skip-download', '--compact', '-o', 'json', ...files.flatMap(([f]) => ['-f', f])], {
        encoding: 'utf8',
        timeout: 240_000,
        env: { ...process.env, BC_SKIP_MAPPING: 'TRUE' },
      });
      const reports = [JSON.parse(run.stdout)].flat() as Array<{ results?: { failed_checks?: any[] } }>;
      expect(reports.flatMap((r) => r.results?.failed_checks ?? []).map((f) => `${f.check_id} ${f.resource}`)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it("ingest-s3's own option schema accepts the task's CENTRALOG_* environment (no unknown variable)", () => {
    const container = resource(central, 'AWS::ECS::TaskDefinition', 'S3Ingestalbprod').Properties.ContainerDefinitions[0];
    // References resolve at deploy time: stand in plausible values.
    const stand: Record<string, string> = {
      CENTRALOG_OPENSEARCH_URL: 'https://vpc-centralog-logs-abc.eu-west-1.es.amazonaws.com',
      CENTRALOG_DEAD_LETTER_BUCKET: 'centralog-dead-letters',
      CENTRALOG_QUEUE_URLS: `https://sqs.eu-west-1.amazonaws.com/${OWNER}/centralog-alb-prod-events`,
      CENTRALOG_ROLE_ARN: `arn:aws:iam::${OWNER}:role/centralog-alb-prod-read`,
    };
    const env = Object.fromEntries(container.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, typeof e.Value === 'string' ? e.Value : stand[e.Name]]));
    const options = resolveOptions(S3IngestOptionsSchema, { env });
    expect(options).toMatchObject({ opensearchAuth: 'sigv4', installTemplates: false, statusPort: 9465, externalId: 'centralog-222222222222', deadLetterPrefix: 'dead-letters/' });
    const known = new Set(Object.keys(S3IngestOptionsSchema.shape).map((k) => `CENTRALOG_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`));
    expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
  });

  it('adds nothing when no S3 source is configured', () => {
    const plain = synth();
    expect(plain.stacks.s3Sources).toEqual([]);
    expect(Object.keys(plain.central.findResources('AWS::ECS::Service'))).toHaveLength(1);
  });
});
