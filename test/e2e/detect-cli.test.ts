import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `centralog <args>` as a user would, feeding `input` on stdin. */
function centralog(args: string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'cli', 'bin.mjs'), ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
const jsonLines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
const stratus = (technique: string) =>
  (JSON.parse(readFileSync(join(FIXTURES, 'cloudtrail', 'stratus-red-team', `${technique}.json`), 'utf8')) as unknown[]).map((e) => JSON.stringify(e));

const own = mkdtempSync(join(tmpdir(), 'centralog-rules-'));
afterAll(() => rmSync(own, { recursive: true, force: true }));

describe('centralog detect', () => {
  it("prints one JSON line per match with the rule's author and the 1-based input line, blank lines counted", async () => {
    const stop = stratus('aws.defense-evasion.cloudtrail-stop');
    const stopLogging = stop.find((l) => l.includes('"StopLogging"'))!;
    const quiet = '{"eventVersion":"1.08","eventSource":"ec2.amazonaws.com","eventName":"DescribeRegions","eventID":"q-1","userIdentity":{"type":"IAMUser"}}';
    const run = await centralog(['detect'], `${quiet}\n\n${stopLogging}\n`);
    expect(run.code, run.stderr).toBe(0);
    const eventID = (JSON.parse(stopLogging) as { eventID: string }).eventID;
    expect(jsonLines(run.stdout).sort((a, b) => a.rule.title.localeCompare(b.rule.title))).toEqual([
      { rule: { id: '4db60cc0-36fb-42b7-9b58-a5b53019fb74', title: 'AWS CloudTrail Important Change', level: 'medium', author: 'vitaliy0x1' }, event: { line: 3, eventID } },
      { rule: { id: 'b2685ca5-edb9-4fd6-9912-c5d1720f169a', title: 'CloudTrail Logging Stopped Or Trail Deleted', level: 'high', author: 'centralog' }, event: { line: 3, eventID } },
    ]);
    expect(run.stderr).toContain('2 events, 2 matches (1 high, 1 medium), 67 rules');
  });

  it('evaluates GuardDuty findings, bare or in their EventBridge event, and names lines that are neither', async () => {
    const findings = readFileSync(join(FIXTURES, 'guardduty', 'panther-analysis_guardduty_rule_test_logs.ndjson'), 'utf8').split('\n').filter(Boolean);
    const high = findings[0]!;
    const wrapped = JSON.stringify({ version: '0', id: 'e-1', 'detail-type': 'GuardDuty Finding', source: 'aws.guardduty', account: '123456789012', detail: JSON.parse(high) });
    const run = await centralog(['detect'], `${high}\n2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n${wrapped}\n`);
    expect(run.code).toBe(1);
    const id = (JSON.parse(high) as { id: string }).id;
    expect(jsonLines(run.stdout).map((m) => [m.rule.title, m.event])).toEqual([
      ['GuardDuty High Severity Finding', { line: 1, eventID: id }],
      ['GuardDuty High Severity Finding', { line: 3, eventID: id }],
    ]);
    expect(run.stderr).toContain('line 2: not a JSON event');
  });

  it('adds the rules of --rules DIR to the shipped ones and reports a refused one with its id and reason on stderr', async () => {
    mkdirSync(join(own, 'nested'), { recursive: true });
    writeFileSync(
      join(own, 'nested', 'list-regions.yml'),
      'title: Region listing\nid: 11111111-2222-4333-8444-555555555555\nlevel: low\nauthor: operator\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  selection:\n    eventName: DescribeRegions\n  condition: selection\n',
    );
    writeFileSync(
      join(own, 'burst.yml'),
      'title: Many logins\nid: 66666666-7777-4888-8999-000000000000\nlevel: low\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  selection:\n    eventName: ConsoleLogin\n  condition: selection | count() > 5\n',
    );
    const quiet = '{"eventVersion":"1.08","eventSource":"ec2.amazonaws.com","eventName":"DescribeRegions","eventID":"q-1","userIdentity":{"type":"IAMUser"}}';
    const run = await centralog(['detect', '--rules', own], `${quiet}\n`);
    expect(run.code, run.stderr).toBe(0);
    expect(jsonLines(run.stdout)).toEqual([
      { rule: { id: '11111111-2222-4333-8444-555555555555', title: 'Region listing', level: 'low', author: 'operator' }, event: { line: 1, eventID: 'q-1' } },
    ]);
    expect(run.stderr).toContain(
      "rule burst.yml (66666666-7777-4888-8999-000000000000) not loaded: condition 'selection | count() > 5' has an aggregation ('|'), which needs more than one event",
    );
    const json = await centralog(['detect', '--rules', own, '--json'], `${quiet}\n`);
    expect(jsonLines(json.stderr)).toEqual([
      { refused: { file: 'burst.yml', id: '66666666-7777-4888-8999-000000000000', reason: expect.stringContaining('aggregation') } },
      { summary: { events: 1, skipped: 0, matches: 1, byLevel: { low: 1 }, rules: 68, refused: 1 } },
    ]);
  });

  it('stops with a clear message when the rules folder does not exist', async () => {
    const run = await centralog(['detect', '--rules', join(own, 'missing')], '');
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(`centralog: rules folder ${join(own, 'missing')}: does not exist`);
  });
});

describe('centralog rules list', () => {
  it('lists the shipped rules with their counts by level, and the refused ones with reasons', async () => {
    const run = await centralog(['rules', 'list']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('67 rules: 0 informational, 13 low, 33 medium, 21 high, 0 critical');
    expect(run.stdout).toMatch(/^high\s+8daf8714-75b2-4a9e-8f58-1a904a534ba7\s+Security Group Ingress Opened To The Internet\s+centralog\s+cloudtrail$/m);
    expect(run.stdout).not.toContain('refused');
    const json = await centralog(['rules', 'list', '--json', '--rules', own]);
    expect(json.code).toBe(1);
    const listed = JSON.parse(json.stdout) as { rules: Array<{ id: string; author: string }>; counts: Record<string, number>; refused: unknown[] };
    expect(listed.counts).toEqual({ informational: 0, low: 14, medium: 33, high: 21, critical: 0 });
    expect(listed.rules.find((r) => r.id === '11111111-2222-4333-8444-555555555555')?.author).toBe('operator');
    expect(listed.refused).toEqual([{ file: 'burst.yml', id: '66666666-7777-4888-8999-000000000000', reason: expect.stringContaining('aggregation') }]);
  });
});
