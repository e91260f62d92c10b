import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/central/functions.ts';

/**
 * `npm run synth` as an operator runs it (offline, no Docker), then the templates through
 * cfn-lint and checkov from the virtual environment .ci/run creates.
 */
const VENV = process.env.CENTRALOG_LINT_VENV ?? join(homedir(), '.cache', 'centralog', 'lint-venv');
const CFN_LINT = join(VENV, 'bin', 'cfn-lint');
const CHECKOV = join(VENV, 'bin', 'checkov');
const haveLinters = existsSync(CFN_LINT) && existsSync(CHECKOV);
// Never skipped: `npm test` builds them first (scripts/python-venvs.sh).
if (!haveLinters) throw new Error(`cfn-lint/checkov missing in ${VENV}: run bash scripts/python-venvs.sh lint (npm test does)`);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function synthApp(env: Record<string, string> = {}): { outdir: string; status: number | null; stderr: string; ms: number } {
  const outdir = mkdtempSync(join(tmpdir(), 'centralog-synth-'));
  dirs.push(outdir);
  const started = Date.now();
  const run = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['infra/app.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, CDK_OUTDIR: outdir, ...env },
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { outdir, status: run.status, stderr: run.stderr, ms: Date.now() - started };
}

const templates = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.template.json')).map((f) => join(dir, f));

describe('synth of the real app', () => {
  const shipped = synthApp();
  // A second configuration: account list, custom flow format, public domain, on-demand stream
  // (Lambda bundling skipped: the first run covers it).
  const variantConfig = join(mkdtempSync(join(tmpdir(), 'centralog-config-')), 'variant.json');
  dirs.push(join(variantConfig, '..'));
  writeFileSync(
    variantConfig,
    JSON.stringify({
      centralAccountId: '111111111111',
      primaryRegion: 'us-east-1',
      regions: ['us-east-1', 'eu-central-1', 'ap-southeast-2'],
      access: { mode: 'accounts', accountIds: ['222222222222', '333333333333'] },
      stream: { mode: 'on-demand', maxShards: 4 },
      opensearch: { placement: 'public', availabilityZoneCount: 3, instanceCount: 3, dedicatedMasters: {} },
      members: { vpcIds: ['vpc-0123456789abcdef0'], vpcFlowLogFormat: '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${flow-direction}', cloudTrail: { mode: 'existing', logGroupName: 'org-trail' } },
    }),
  );
  const variant = synthApp({ CENTRALOG_DEPLOY_CONFIG: variantConfig, CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [] }) });

  it('synthesises every stack offline, bundling both Lambdas with the local esbuild', () => {
    process.stderr.write(`npm run synth (with bundling): ${shipped.ms} ms\n`);
    expect(shipped.stderr).not.toMatch(/docker/i);
    expect(shipped.status, shipped.stderr).toBe(0);
    expect(templates(shipped.outdir).map((f) => f.split('/').pop()).sort()).toEqual([
      'CentralogCentralLogging.template.json',
      'CentralogDestination-us-east-1.template.json',
      'CentralogMemberAccount.template.json',
      'CentralogOrgOnboarding.template.json',
    ]);
    const bundles = readdirSync(shipped.outdir).filter((d) => d.startsWith('asset.') && existsSync(join(shipped.outdir, d, 'index.mjs')));
    expect(bundles).toHaveLength(2);
    for (const b of bundles) expect(readFileSync(join(shipped.outdir, b, 'index.mjs'), 'utf8').slice(0, 300)).toContain('createRequire');
    // The bootstrap reads the index templates from beside its bundle.
    expect(bundles.filter((b) => existsSync(join(shipped.outdir, b, 'templates', 'cloudtrail.json')))).toHaveLength(1);
  });

  it('synthesises another configuration (three regions, account list, public domain)', () => {
    expect(variant.status, variant.stderr).toBe(0);
    expect(templates(variant.outdir)).toHaveLength(4);
  });

  it('stops on a bad config value, naming the key', () => {
    const bad = join(variantConfig, '..', 'bad.json');
    writeFileSync(bad, JSON.stringify({ centralAccountId: '111111111111', primaryRegion: 'us-east-1', access: { mode: 'accounts', accountIds: ['222222222222'] }, stream: { retentionHours: 12 } }));
    const run = synthApp({ CENTRALOG_DEPLOY_CONFIG: bad });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`invalid deployment config (${bad})`);
    expect(run.stderr).toMatch(/stream\.retentionHours: .*24/);
  });

  it('cfn-lint finds no error in any template', () => {
    const files = [...templates(shipped.outdir), ...templates(variant.outdir)];
    const run = spawnSync(CFN_LINT, ['--format', 'parseable', ...files], { encoding: 'utf8', timeout: 240_000 });
    const errors = run.stdout.split('\n').filter((l) => /:E\d{4}:/.test(l));
    expect(errors).toEqual([]);
    // cfn-lint exits with bit 2 set for errors (4 warnings, 8 informational).
    expect((run.status ?? 2) & 2).toBe(0);
  });

  it('checkov finds nothing that is not fixed or skipped with a reason', () => {
    const files = [...templates(shipped.outdir), ...templates(variant.outdir)];
    const run = spawnSync(CHECKOV, ['--skip-download', '--compact', '-o', 'json', ...files.flatMap((f) => ['-f', f])], {
      encoding: 'utf8',
      timeout: 240_000,
      env: { ...process.env, BC_SKIP_MAPPING: 'TRUE' },
    });
    const reports = [JSON.parse(run.stdout)].flat() as Array<{ results?: { failed_checks?: any[]; skipped_checks?: any[] } }>;
    const failed = reports.flatMap((r) => r.results?.failed_checks ?? []).map((f) => `${f.check_id} ${f.resource} (${f.file_path.split('/').pop()})`);
    expect(failed).toEqual([]);
    const skipped = reports.flatMap((r) => r.results?.skipped_checks ?? []);
    expect(skipped.length).toBeGreaterThan(0);
    for (const s of skipped) expect(s.check_result?.suppress_comment?.length ?? 0, `${s.check_id} ${s.resource}`).toBeGreaterThan(20);
  });
});
