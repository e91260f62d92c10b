import {
  CloudWatchLogsClient,
  DeleteSubscriptionFilterCommand,
  DescribeDestinationsCommand,
  DescribeLogGroupsCommand,
  DescribeSubscriptionFiltersCommand,
  LimitExceededException,
  PutDestinationPolicyCommand,
  PutSubscriptionFilterCommand,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onboard, type OnboardOptions } from '../../cli/ops/onboard.ts';
import { ConsumerOptionsSchema, resolveOptions } from '../../consumers/index.ts';
import { runCli } from '../e2e/cli-fixture.ts';

// The CloudWatch Logs control plane has no local form: its calls are mocked, with the
// errors AWS really returns (names, messages, HTTP status).
const meta = { httpStatusCode: 400, requestId: 'req-1', attempts: 1, totalRetryDelay: 0 };
const limitExceeded = () => new LimitExceededException({ message: 'Resource limit exceeded.', $metadata: meta });
const notFound = (message: string) => new ResourceNotFoundException({ message, $metadata: meta });
const throttled = () => new ThrottlingException({ message: 'Rate exceeded', $metadata: meta });
const unreachable = (region: string) =>
  Object.assign(new Error(`getaddrinfo ENOTFOUND logs.${region}.amazonaws.com`), { code: 'ENOTFOUND', syscall: 'getaddrinfo', $metadata: { attempts: 1, totalRetryDelay: 0 } });

const CENTRAL = '999988887777';
const dest = (region: string) => `arn:aws:logs:${region}:${CENTRAL}:destination:centralog`;
const ROLE = 'arn:aws:iam::111122223333:role/CWLtoCentralog';

const logs = mockClient(CloudWatchLogsClient);
const regionOf = async (getClient: () => { config: { region: () => Promise<string> } }) => getClient().config.region();

/** eu-west-1 holds one log group per case; ap-south-2 cannot be reached. */
function memberAccount(options: { throttles?: number } = {}) {
  let throttles = options.throttles ?? 2;
  const groups = ['/aws/vpc/new', '/aws/vpc/identical', '/aws/vpc/full', '/aws/vpc/race', '/aws/vpc/gone', '/aws/vpc/throttled', '/aws/vpc/centralog-consumer'];
  logs.on(DescribeLogGroupsCommand).callsFake(async (input, getClient) => {
    const region = await regionOf(getClient as never);
    if (region === 'ap-south-2') throw unreachable(region);
    // Two pages, as the API pages them.
    const matching = groups.filter((g) => g.startsWith(input.logGroupNamePrefix ?? ''));
    return input.nextToken ? { logGroups: matching.slice(3).map((logGroupName) => ({ logGroupName })) } : { logGroups: matching.slice(0, 3).map((logGroupName) => ({ logGroupName })), nextToken: 'page-2' };
  });
  logs.on(DescribeSubscriptionFiltersCommand).callsFake(async (input, getClient) => {
    const region = await regionOf(getClient as never);
    switch (input.logGroupName) {
      case '/aws/vpc/identical':
        return { subscriptionFilters: [{ filterName: 'centralog', filterPattern: '', destinationArn: dest(region), roleArn: ROLE, logGroupName: input.logGroupName }] };
      case '/aws/vpc/full':
        return { subscriptionFilters: [{ filterName: 'splunk', destinationArn: 'arn:aws:lambda:eu-west-1:111122223333:function:splunk' }, { filterName: 'datadog', destinationArn: 'arn:aws:firehose:eu-west-1:111122223333:deliverystream/dd' }] };
      case '/aws/vpc/race':
        return { subscriptionFilters: [{ filterName: 'other', destinationArn: 'arn:aws:lambda:eu-west-1:111122223333:function:x' }] };
      case '/aws/vpc/gone':
        throw notFound('The specified log group does not exist.');
      default:
        return { subscriptionFilters: [] };
    }
  });
  logs.on(PutSubscriptionFilterCommand).callsFake(async (input) => {
    if (input.logGroupName === '/aws/vpc/race') throw limitExceeded();
    if (input.logGroupName === '/aws/vpc/throttled' && throttles-- > 0) throw throttled();
    return {};
  });
}

const base = (regions: string[]): OnboardOptions => ({
  regions,
  prefixes: ['/aws/vpc/'],
  patterns: [],
  exclude: [],
  destinationArn: dest,
  filterName: 'centralog',
  filterPattern: '',
  roleArn: ROLE,
  dryRun: false,
  retry: { attempts: 4, baseMs: 1, maxMs: 5 },
});

describe('centralog onboard (CloudWatch Logs control plane mocked)', () => {
  beforeEach(() => logs.reset());
  afterEach(() => logs.reset());

  it('subscribes new groups, leaves identical filters, never touches a group at 2 filters, retries throttling, and reports an unreachable region', async () => {
    memberAccount();
    const run = await runCli(['onboard', '--regions', 'eu-west-1,ap-south-2', '--prefix', '/aws/vpc/', '--central-account', CENTRAL, '--role-arn', ROLE, '--json']);
    expect(run.code).toBe(1);
    const byGroup = Object.fromEntries(run.json().results.map((r: any) => [`${r.region} ${r.logGroup}`, r]));
    expect(byGroup['eu-west-1 /aws/vpc/new'].outcome).toBe('subscribed');
    expect(byGroup['eu-west-1 /aws/vpc/identical'].outcome).toBe('already subscribed');
    expect(byGroup['eu-west-1 /aws/vpc/full']).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/2 subscription filters .*splunk, datadog; none is removed/) });
    expect(byGroup['eu-west-1 /aws/vpc/race']).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/limit of 2 .*Resource limit exceeded/) });
    expect(byGroup['eu-west-1 /aws/vpc/gone']).toMatchObject({ outcome: 'failed', reason: expect.stringMatching(/^The specified log group does not exist/) });
    expect(byGroup['eu-west-1 /aws/vpc/throttled'].outcome).toBe('subscribed');
    expect(byGroup['eu-west-1 /aws/vpc/centralog-consumer']).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/centralog's own/) });
    expect(byGroup['ap-south-2 ']).toMatchObject({ outcome: 'failed', reason: expect.stringMatching(/^unreachable: getaddrinfo ENOTFOUND/) });
    expect(run.stderr).toMatch(/eu-west-1: ThrottlingException, retrying/);

    const puts = logs.commandCalls(PutSubscriptionFilterCommand).map((c) => c.args[0].input);
    expect(puts.filter((p) => p.logGroupName === '/aws/vpc/throttled')).toHaveLength(3);
    expect(puts.map((p) => p.logGroupName)).not.toContain('/aws/vpc/full');
    expect(puts.map((p) => p.logGroupName)).not.toContain('/aws/vpc/identical');
    expect(puts.map((p) => p.logGroupName)).not.toContain('/aws/vpc/centralog-consumer');
    expect(puts.find((p) => p.logGroupName === '/aws/vpc/new')).toEqual({ logGroupName: '/aws/vpc/new', filterName: 'centralog', filterPattern: '', destinationArn: dest('eu-west-1'), roleArn: ROLE });
    expect(logs.commandCalls(DeleteSubscriptionFilterCommand)).toHaveLength(0);
  });

  it('ends with a table of every outcome and its reason', async () => {
    memberAccount();
    const run = await runCli(['onboard', '--regions', 'eu-west-1', '--prefix', '/aws/vpc/', '--central-account', CENTRAL, '--role-arn', ROLE]);
    expect(run.stdout).toMatch(/region\s+log group\s+result\s+reason/);
    expect(run.stdout).toMatch(/eu-west-1\s+\/aws\/vpc\/full\s+skipped\s+already has 2 subscription filters/);
    expect(run.stdout).toMatch(/subscribed 2, already subscribed 1, skipped 3, failed 1/);
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    memberAccount();
    const run = await runCli(['onboard', '--regions', 'eu-west-1', '--prefix', '/aws/vpc/', '--central-account', CENTRAL, '--dry-run', '--json']);
    expect(logs.commandCalls(PutSubscriptionFilterCommand)).toHaveLength(0);
    const outcomes = run.json().results.map((r: any) => r.outcome);
    expect(outcomes.filter((o: string) => o === 'would subscribe')).toHaveLength(3);
    // Without --role-arn the identical filter differs (it has one): it would be updated, not duplicated.
    expect(run.json().results.find((r: any) => r.logGroup === '/aws/vpc/identical').outcome).toBe('would update');
  });

  it('a second pass (--watch) only looks at log groups created since', async () => {
    memberAccount();
    const seen = new Set<string>();
    await onboard((region) => new CloudWatchLogsClient({ region }), base(['eu-west-1']), seen);
    logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [{ logGroupName: '/aws/vpc/new' }, { logGroupName: '/aws/vpc/created-later' }] });
    logs.resetHistory();
    const second = await onboard((region) => new CloudWatchLogsClient({ region }), base(['eu-west-1']), seen);
    expect(second).toEqual([{ region: 'eu-west-1', logGroup: '/aws/vpc/created-later', outcome: 'subscribed' }]);
    expect(logs.commandCalls(PutSubscriptionFilterCommand).map((c) => c.args[0].input.logGroupName)).toEqual(['/aws/vpc/created-later']);
  });

  it('throttling that does not stop is a failure with its reason, not a hang', async () => {
    memberAccount({ throttles: 100 });
    const results = await onboard((region) => new CloudWatchLogsClient({ region }), base(['eu-west-1']));
    expect(results.find((r) => r.logGroup === '/aws/vpc/throttled')).toMatchObject({ outcome: 'failed', reason: 'ThrottlingException: Rate exceeded' });
  });

  it('names the bad argument', async () => {
    expect((await runCli(['onboard', '--regions', 'eu-west-1', '--central-account', CENTRAL])).stderr).toMatch(/--prefix: give --prefix or --pattern/);
    expect((await runCli(['onboard', '--regions', 'europe', '--prefix', 'x', '--central-account', CENTRAL])).stderr).toMatch(/--regions \[0\]: expected an AWS region name/);
    expect((await runCli(['onboard', '--prefix', 'x', '--central-account', '12'])).stderr).toMatch(/--central-account: expected a 12-digit AWS account id/);
    expect((await runCli(['onboard', '--prefix', 'x', '--central-account', CENTRAL, '--role-arn', 'CWLtoCentralog'])).stderr).toMatch(/--role-arn: expected an IAM role ARN/);
    expect((await runCli(['onboard', '--prefix', 'x', '--central-account', CENTRAL, '--sources-file', 'x.json'])).stderr).toMatch(/--source: give --source/);
  });

  it('records what the subscribed groups carry for the consumer: new and already subscribed groups, not failed or skipped ones, keeping the file\'s other keys', async () => {
    memberAccount();
    const dir = mkdtempSync(join(tmpdir(), 'centralog-sources-'));
    const file = join(dir, 'consumer.json');
    writeFileSync(file, JSON.stringify({ streamName: 'logs', logGroupSources: { '/aws/vpc/identical': 'trusted', '/org/trail': 'cloudtrail' } }));
    const run = await runCli(['onboard', '--regions', 'eu-west-1', '--prefix', '/aws/vpc/', '--central-account', CENTRAL, '--role-arn', ROLE, '--source', 'vpcflow', '--sources-file', file]);
    expect(run.stderr).toContain('/aws/vpc/identical was recorded as trusted, now vpcflow');
    const written = JSON.parse(readFileSync(file, 'utf8'));
    expect(written.streamName).toBe('logs');
    expect(written.logGroupSources).toEqual({
      '/aws/vpc/identical': 'vpcflow',
      '/aws/vpc/new': 'vpcflow',
      '/aws/vpc/throttled': 'vpcflow',
      '/org/trail': 'cloudtrail',
    });
    // the consumer reads it as its config file
    expect(resolveOptions(ConsumerOptionsSchema, { env: { CENTRALOG_CONFIG: file, CENTRALOG_DEAD_LETTER_BUCKET: 'dead-letters', CENTRALOG_OPENSEARCH_URL: 'http://127.0.0.1:9200' }, allowFile: true }).logGroupSources['/aws/vpc/new']).toBe('vpcflow');
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a sources file that is not JSON, writing nothing', async () => {
    memberAccount();
    const dir = mkdtempSync(join(tmpdir(), 'centralog-sources-'));
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"/aws/vpc/new": ');
    const run = await runCli(['onboard', '--regions', 'eu-west-1', '--prefix', '/aws/vpc/', '--central-account', CENTRAL, '--source', 'vpcflow', '--sources-file', file]);
    expect(run.stderr).toMatch(new RegExp(`--sources-file ${file}: not JSON`));
    expect(readFileSync(file, 'utf8')).toBe('{"/aws/vpc/new": ');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('centralog destination (CloudWatch Logs control plane mocked)', () => {
  beforeEach(() => logs.reset());
  afterEach(() => logs.reset());

  const policyOf = (region: string, accounts: string[]) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'centralog-accounts', Effect: 'Allow', Principal: { AWS: accounts }, Action: 'logs:PutSubscriptionFilter', Resource: dest(region) },
        { Sid: 'break-glass', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::555566667777:root' }, Action: 'logs:PutSubscriptionFilter', Resource: dest(region) },
      ],
    });
  function centralAccount(accounts: string[]) {
    logs.on(DescribeDestinationsCommand).callsFake(async (_input, getClient) => {
      const region = await regionOf(getClient as never);
      return {
        destinations: [{ destinationName: 'centralog', arn: dest(region), targetArn: `arn:aws:kinesis:${region}:${CENTRAL}:stream/central-logs`, roleArn: `arn:aws:iam::${CENTRAL}:role/CWLtoKinesis`, accessPolicy: policyOf(region, accounts) }],
      };
    });
    logs.on(PutDestinationPolicyCommand).resolves({});
  }

  it('shows who may subscribe in each region', async () => {
    centralAccount(['111122223333']);
    const run = await runCli(['destination', 'show', '--regions', 'eu-west-1,us-east-1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const [eu] = run.json().destinations;
    expect(eu).toMatchObject({ region: 'eu-west-1', arn: dest('eu-west-1'), accounts: ['111122223333', '555566667777'], organizations: [] });
  });

  it('adds and removes accounts and sets the organisation, keeping statements it did not write', async () => {
    centralAccount(['111122223333']);
    const add = await runCli(['destination', 'add-accounts', '--accounts', '444455556666', '--regions', 'eu-west-1,us-east-1', '--json']);
    expect(add.code, add.stderr).toBe(0);
    const puts = logs.commandCalls(PutDestinationPolicyCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(2);
    const policy = JSON.parse(puts[0]!.accessPolicy!);
    expect(policy.Statement.find((s: any) => s.Sid === 'break-glass')).toBeDefined();
    expect(policy.Statement.find((s: any) => s.Sid === 'centralog-accounts').Principal.AWS).toEqual(['111122223333', '444455556666']);
    expect(policy.Statement.find((s: any) => s.Sid === 'centralog-accounts').Resource).toBe(dest('eu-west-1'));

    logs.resetHistory();
    await runCli(['destination', 'remove-accounts', '--accounts', '111122223333', '--regions', 'eu-west-1']);
    const removed = JSON.parse(logs.commandCalls(PutDestinationPolicyCommand)[0]!.args[0].input.accessPolicy!);
    expect(removed.Statement.map((s: any) => s.Sid)).toEqual(['break-glass']);

    logs.resetHistory();
    await runCli(['destination', 'set-org', '--organization', 'o-a1b2c3d4e5', '--regions', 'eu-west-1']);
    const org = JSON.parse(logs.commandCalls(PutDestinationPolicyCommand)[0]!.args[0].input.accessPolicy!);
    expect(org.Statement.find((s: any) => s.Sid === 'centralog-organization')).toMatchObject({ Principal: '*', Condition: { StringEquals: { 'aws:PrincipalOrgID': ['o-a1b2c3d4e5'] } } });
  });

  it('an unchanged policy is not written again; --dry-run writes nothing', async () => {
    centralAccount(['111122223333']);
    const same = await runCli(['destination', 'add-accounts', '--accounts', '111122223333', '--regions', 'eu-west-1', '--json']);
    expect(same.json().updates[0]).toMatchObject({ changed: false, applied: false });
    await runCli(['destination', 'add-accounts', '--accounts', '444455556666', '--regions', 'eu-west-1', '--dry-run']);
    expect(logs.commandCalls(PutDestinationPolicyCommand)).toHaveLength(0);
  });

  it('refuses a policy over 5,120 bytes before changing any region', async () => {
    centralAccount(['111122223333']);
    const many = Array.from({ length: 400 }, (_, i) => String(100000000000 + i)).join(',');
    const run = await runCli(['destination', 'add-accounts', '--accounts', many, '--regions', 'eu-west-1,us-east-1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/eu-west-1: the access policy would be \d+ bytes .*over CloudWatch Logs' 5120-byte limit; nothing was changed/);
    expect(logs.commandCalls(PutDestinationPolicyCommand)).toHaveLength(0);
  });

  it('validates account and organisation ids', async () => {
    expect((await runCli(['destination', 'add-accounts', '--accounts', '1111-2222-3333'])).stderr).toMatch(/--accounts \[0\]: expected a 12-digit AWS account id/);
    expect((await runCli(['destination', 'add-accounts'])).stderr).toMatch(/--accounts: required/);
    expect((await runCli(['destination', 'set-org', '--organization', 'a1b2'])).stderr).toMatch(/--organization: expected an organization id/);
    expect(logs.commandCalls(PutDestinationPolicyCommand)).toHaveLength(0);
  });
});
