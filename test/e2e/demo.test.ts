import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import type { DemoSummary } from '../../cli/index.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `centralog` command, as a user would, against the run's OpenSearch node. */
function centralog(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--openssl-legacy-provider', join(ROOT, 'cli', 'bin.mjs'), ...args], {
      cwd: ROOT,
      env: { ...process.env, CENTRALOG_OPENSEARCH_URL: inject('opensearchUrl'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('centralog demo (the README main job)', () => {
  it('accounts for every produced event: all in S3 and in OpenSearch, none duplicated, exit 0', async () => {
    const run = await centralog(['demo', '--duration', '5', '--rate', '100', '--accounts', '2', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    const summary = JSON.parse(lines.at(-1)!) as DemoSummary;
    expect(Object.keys(summary)).toEqual([
      'produced',
      'controlDropped',
      'archived',
      'indexed',
      'deadLettered',
      'duplicates',
      'unaccounted',
      'eventsPerSecond',
      'lagP50Ms',
      'lagP99Ms',
      'alerts',
      'alertsPublished',
      's3',
    ]);
    // 100 events/s for 5 s, give or take the last tick.
    expect(summary.produced).toBeGreaterThanOrEqual(450);
    expect(summary.produced).toBeLessThanOrEqual(520);
    expect(summary.indexed).toBe(summary.produced);
    expect(summary.archived).toBe(summary.produced);
    expect(summary.unaccounted).toBe(0);
    expect(summary.duplicates).toBe(0);
    expect(summary.deadLettered).toBe(0);
    // One CONTROL_MESSAGE per subscribed log group: 3 groups per account.
    expect(summary.controlDropped).toBe(6);
    // The rate is indexed events over the run's wall time, which is at least the 5 s of traffic.
    expect(summary.eventsPerSecond).toBeGreaterThan(0);
    expect(summary.eventsPerSecond).toBeLessThanOrEqual(summary.indexed / 5);
    // Lag (event time to indexed, in ms) is measured, and no event waited longer than the run lasted.
    const runMs = (summary.indexed / summary.eventsPerSecond) * 1000;
    expect(summary.lagP50Ms).toBeGreaterThan(0);
    expect(summary.lagP99Ms).toBeLessThanOrEqual(runMs * 1.05 + 100);
    expect(run.stdout).toContain('unaccounted');
    // The S3 way in: access log objects announced on SQS, every entry indexed once.
    expect(summary.s3.produced).toBeGreaterThan(0);
    expect(summary.s3).toMatchObject({ indexed: summary.s3.produced, duplicates: 0, unaccounted: 0, deadLettered: 0 });
    // The simulated CloudTrail traffic is real attack captures: they raise alerts, and each reaches SNS.
    expect(Object.keys(summary.alerts)).toEqual(['informational', 'low', 'medium', 'high', 'critical']);
    const alerts = Object.values(summary.alerts).reduce((n, v) => n + v, 0);
    expect(alerts).toBeGreaterThan(0);
    expect(summary.alertsPublished).toBe(alerts);
    expect(run.stdout).toMatch(/alerts raised \(Sigma rules\)\s+[\d,]+: critical \d+, high \d+, medium \d+, low \d+, informational \d+/);
    expect(run.stderr).toMatch(/vpcflow [\d,]+\/[\d,]+\/[\d,]+/);
  }, 180_000);

  it('rejects a bad flag value naming the flag, before starting anything', async () => {
    const run = await centralog(['demo', '--rate', 'fast']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('--rate: expected a number (got "fast")');
    const negative = await centralog(['demo', '--accounts', '0']);
    expect(negative.code).not.toBe(0);
    expect(negative.stderr).toContain('--accounts: expected at least 1 (got "0")');
  });

  it('rejects a malformed service endpoint naming the environment variable', async () => {
    const run = await centralog(['demo', '--duration', '1'], { CENTRALOG_KINESIS_ENDPOINT: 'localhost:4567' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`CENTRALOG_KINESIS_ENDPOINT: expected an http(s) URL or 'aws' (got "localhost:4567")`);
    expect(run.stderr).not.toContain('centralog demo:');
  });

  it('explains its flags and environment in --help', async () => {
    const run = await centralog(['demo', '--help']);
    expect(run.code).toBe(0);
    for (const flag of ['--duration', '--rate', '--accounts', '--keep', '--json', 'CENTRALOG_OPENSEARCH_URL']) {
      expect(run.stdout).toContain(flag);
    }
  });
});
