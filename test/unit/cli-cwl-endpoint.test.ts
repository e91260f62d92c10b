import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli-fixture.ts';

/**
 * `onboard` and `destination` reach the CloudWatch Logs control plane at the endpoint given by
 * --cloudwatch-logs-endpoint or CENTRALOG_CLOUDWATCH_LOGS_ENDPOINT. A loopback server answers
 * as the service does (JSON 1.1 protocol, X-Amz-Target) and records what reached it.
 */
interface Seen {
  target: string;
  host: string;
  authorization: string;
  body: Record<string, unknown>;
}

const ANSWERS: Record<string, unknown> = {
  'Logs_20140328.DescribeLogGroups': { logGroups: [{ logGroupName: '/aws/vpc/flow', arn: 'arn:aws:logs:eu-west-1:111122223333:log-group:/aws/vpc/flow:*' }] },
  'Logs_20140328.DescribeSubscriptionFilters': { subscriptionFilters: [] },
  'Logs_20140328.DescribeDestinations': { destinations: [] },
};

let server: Server;
let endpoint: string;
const seen: Seen[] = [];
// Credentials the SDK signs with; the loopback server accepts any.
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST', AWS_SECRET_ACCESS_KEY: 'local-secret', AWS_PROFILE: '' };

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const h: IncomingHttpHeaders = req.headers;
      const target = String(h['x-amz-target'] ?? '');
      seen.push({ target, host: String(h.host), authorization: String(h.authorization ?? ''), body: raw ? (JSON.parse(raw) as Record<string, unknown>) : {} });
      const answer = ANSWERS[target];
      res.writeHead(answer ? 200 : 400, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(answer ?? { __type: 'InvalidOperationException', message: `unexpected ${target}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  seen.length = 0;
});

describe('CloudWatch Logs endpoint override', () => {
  it('onboard --cloudwatch-logs-endpoint sends every control-plane call there, signed for each region', async () => {
    const run = await runCli(
      ['onboard', '--regions', 'eu-west-1,us-east-2', '--prefix', '/aws/vpc/', '--central-account', '999988887777', '--dry-run', '--json', '--cloudwatch-logs-endpoint', endpoint],
      CREDENTIALS,
    );
    expect(run.stderr).not.toMatch(/ENOTFOUND|amazonaws\.com/);
    expect(run.code).toBe(0);
    const results = run.json().results as Array<{ region: string; logGroup: string; outcome: string }>;
    expect(results.map((r) => [r.region, r.logGroup, r.outcome]).sort()).toEqual([
      ['eu-west-1', '/aws/vpc/flow', 'would subscribe'],
      ['us-east-2', '/aws/vpc/flow', 'would subscribe'],
    ]);
    expect(seen.length).toBeGreaterThanOrEqual(4);
    for (const s of seen) expect(s.host).toBe(endpoint.replace('http://', ''));
    const describe = seen.filter((s) => s.target === 'Logs_20140328.DescribeLogGroups');
    expect(describe.map((s) => s.body.logGroupNamePrefix)).toEqual(['/aws/vpc/', '/aws/vpc/']);
    // The signature's scope names the region each client was made for.
    expect(describe.map((s) => /Credential=AKIDLOCALTEST\/\d{8}\/([a-z0-9-]+)\/logs\//.exec(s.authorization)?.[1]).sort()).toEqual(['eu-west-1', 'us-east-2']);
  });

  it('destination show reads CENTRALOG_CLOUDWATCH_LOGS_ENDPOINT', async () => {
    const run = await runCli(['destination', 'show', '--regions', 'eu-west-1', '--json'], { ...CREDENTIALS, CENTRALOG_CLOUDWATCH_LOGS_ENDPOINT: endpoint });
    expect(seen.map((s) => s.target)).toContain('Logs_20140328.DescribeDestinations');
    expect(seen.find((s) => s.target === 'Logs_20140328.DescribeDestinations')!.body).toMatchObject({ DestinationNamePrefix: 'centralog' });
    expect(run.json().destinations[0].region).toBe('eu-west-1');
  });

  it('destination add-accounts takes the flag as well, and the flag wins over the variable', async () => {
    await runCli(['destination', 'add-accounts', '--accounts', '111122223333', '--regions', 'eu-west-1', '--dry-run', '--json', '--cloudwatch-logs-endpoint', endpoint], {
      ...CREDENTIALS,
      CENTRALOG_CLOUDWATCH_LOGS_ENDPOINT: 'http://127.0.0.1:9',
    });
    expect(seen.map((s) => s.target)).toContain('Logs_20140328.DescribeDestinations');
  });

  it('refuses an endpoint that is not a URL, naming the flag or the variable it came from', async () => {
    const flag = await runCli(['onboard', '--prefix', '/aws/vpc/', '--central-account', '999988887777', '--cloudwatch-logs-endpoint', 'logs.local'], CREDENTIALS);
    expect(flag.stderr).toMatch(/^centralog: --cloudwatch-logs-endpoint: expected an http\(s\) URL or 'aws' \(got "logs.local"\)/m);
    const variable = await runCli(['destination', 'show'], { ...CREDENTIALS, CENTRALOG_CLOUDWATCH_LOGS_ENDPOINT: 'logs.local' });
    expect(variable.stderr).toMatch(/^centralog: CENTRALOG_CLOUDWATCH_LOGS_ENDPOINT: expected an http\(s\) URL or 'aws'/m);
    expect(seen).toEqual([]);
  });

  it('lists the flag and its variable in onboard and destination --help', async () => {
    for (const args of [['onboard', '--help'], ['destination', 'show', '--help'], ['destination', 'set-org', '--help']]) {
      const run = await runCli(args);
      expect(run.stdout, args.join(' ')).toMatch(/--cloudwatch-logs-endpoint <url>\s+CloudWatch Logs endpoint URL[\s\S]*CENTRALOG_CLOUDWATCH_LOGS_ENDPOINT/);
    }
  });
});
