import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/main.ts';
import { parseDuration, parseTime } from '../../cli/ops/options.ts';
import { runCli } from '../e2e/cli-fixture.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OPERATOR_COMMANDS = ['status', 'tail', 'replay', 'reconcile', 'redrive', 'bootstrap', 'prune', 'onboard', 'destination', 'backfill'];

describe('operator command options', () => {
  it('reads times as ISO, dates, now, or a duration ago, all in UTC', () => {
    const now = Date.parse('2026-05-01T12:00:00Z');
    expect(parseTime('2h', now)?.toISOString()).toBe('2026-05-01T10:00:00.000Z');
    expect(parseTime('now-15m', now)?.toISOString()).toBe('2026-05-01T11:45:00.000Z');
    expect(parseTime('2026-04-30', now)?.toISOString()).toBe('2026-04-30T00:00:00.000Z');
    expect(parseTime('2026-04-30T08:30', now)?.toISOString()).toBe('2026-04-30T08:30:00.000Z');
    expect(parseTime('2026-04-30T08:30+02:00', now)?.toISOString()).toBe('2026-04-30T06:30:00.000Z');
    expect(parseTime('now', now)?.getTime()).toBe(now);
    for (const bad of ['yesterday', '12', '2026-13-45', '']) expect(parseTime(bad, now)).toBeUndefined();
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('30 days')).toBeUndefined();
  });

  it('connection settings come from CENTRALOG_* variables, flags win, and a command\'s own options never do', async () => {
    const env = { CENTRALOG_OPENSEARCH_URL: 'not a url', CENTRALOG_OLDER_THAN: '30d' };
    expect((await runCli(['prune', '--older-than', '30d'], env)).stderr).toMatch(/^centralog: CENTRALOG_OPENSEARCH_URL: expected an http\(s\) URL \(got "not a url"\)/m);
    // --older-than is not read from CENTRALOG_OLDER_THAN.
    expect((await runCli(['prune', '--opensearch-url', 'http://127.0.0.1:9'], env)).stderr).toMatch(/^centralog: --older-than: required/m);
    const unreachable = await runCli(['prune', '--older-than', '30d', '--opensearch-url', 'http://127.0.0.1:9'], env);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^centralog: cannot reach OpenSearch at http:\/\/127\.0\.0\.1:9 \(--opensearch-url\)/m);
  });

  it('every operator command has --help with an example, --json, --profile and --region', () => {
    const program = buildProgram();
    const leaves = program.commands.flatMap((c) => (c.commands.length > 0 ? c.commands.map((s) => [`${c.name()} ${s.name()}`, s] as const) : [[c.name(), c] as const]));
    const names = leaves.map(([n]) => n.split(' ')[0]);
    for (const name of OPERATOR_COMMANDS) expect(names).toContain(name);
    for (const [name, command] of leaves.filter(([n]) => OPERATOR_COMMANDS.includes(n.split(' ')[0]!))) {
      let help = '';
      command.configureOutput({ writeOut: (s) => (help += s) });
      command.outputHelp();
      expect(help, name).toMatch(/\nExamples?:\n {2}centralog /);
      for (const flag of ['--json', '--profile <name>', '--region <region>']) expect(help, `${name} ${flag}`).toContain(flag);
    }
  });

  it('`centralog --help` lists every command', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'cli', 'bin.mjs'), '--help'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    for (const name of ['demo', 'consume', 'parse', ...OPERATOR_COMMANDS]) expect(run.stdout).toMatch(new RegExp(`\\n  ${name} `));
  });
});
