import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { INDEX_FAMILIES } from '../../infra/opensearch/index.ts';
import { encodeCwlRecord, type FirehoseTransformationEvent } from '../../processors/index.ts';
import { forbiddenInputs } from '../../scripts/build.mjs';

// Production runs what `npm run build` makes; this builds it and runs it the way production
// does: plain node, no tsx, only the packages `npm ci --omit=dev` installs.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = join(root, 'dist');

const DEV_ONLY_PACKAGES = ['aws-cdk-lib', 'constructs', 'tsx', 'vitest', 'kinesalite', 'dynalite', 's3rver'];
const DEV_ONLY_FOLDERS = ['local/', 'bench/', 'test/'];
const NOT_IN_LAMBDA = ['@opensearch-project/opensearch', 'prom-client', '@aws-sdk/client-dynamodb', '@aws-sdk/client-s3'];

/** The package a node_modules path or bare import belongs to; undefined for our files and node built-ins. */
function packageOf(path: string): string | undefined {
  const at = path.lastIndexOf('node_modules/');
  const bare = /^[@a-z]/i.test(path) && !path.startsWith('node:') && !builtinModules.includes(path.split('/')[0]!) && !/\.[cm]?[tj]s$/.test(path);
  const spec = at >= 0 ? path.slice(at + 'node_modules/'.length) : bare ? path : undefined;
  if (spec === undefined) return undefined;
  const parts = spec.split('/');
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** Every file a bundle contains plus every module it leaves to node to load at run time. */
function reached(metafile: Metafile): string[] {
  const external = Object.values(metafile.inputs).flatMap((i) => i.imports.filter((imp) => imp.external).map((imp) => imp.path));
  return [...new Set([...Object.keys(metafile.inputs), ...external])];
}

function offenders(metafile: Metafile, packages: string[]): string[] {
  return reached(metafile).filter((p) => DEV_ONLY_FOLDERS.some((f) => p.startsWith(f)) || packages.includes(packageOf(p) ?? ''));
}

function node(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; input?: string }): SpawnSyncReturns<string> {
  const { NODE_PATH: _path, NODE_OPTIONS: _options, ...env } = process.env;
  return spawnSync(process.execPath, args, { cwd: options.cwd, env: { ...env, ...options.env }, input: options.input, encoding: 'utf8', timeout: 30_000 });
}

function controlMessageEvent(): FirehoseTransformationEvent {
  const data = encodeCwlRecord({
    messageType: 'CONTROL_MESSAGE',
    owner: 'CloudwatchLogs',
    logGroup: '',
    logStream: '',
    subscriptionFilters: [],
    logEvents: [{ id: '', timestamp: 1_700_000_000_000, message: 'CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.' }],
  });
  return {
    invocationId: 'build-test',
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/archive',
    sourceKinesisStreamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/central',
    region: 'us-east-1',
    records: [{ recordId: 'r0', approximateArrivalTimestamp: 1_700_000_000_000, data: data.toString('base64') }],
  };
}

let build: SpawnSyncReturns<string>;
let productionPackages: string[];
/** dist/cli and only the production packages, outside the checkout so node cannot find the rest. */
let image: string;

beforeAll(() => {
  build = node(['scripts/build.mjs'], { cwd: root });
  const ls = spawnSync('npm', ['ls', '--omit=dev', '--parseable', '--all'], { cwd: root, encoding: 'utf8' });
  expect(ls.status, ls.stderr).toBe(0);
  productionPackages = ls.stdout.split('\n').filter((l) => l.trim() !== '' && l !== root);

  image = mkdtempSync(join(tmpdir(), 'centralog-image-'));
  // Top-level packages only: nested ones come along inside their parents. Hard links are quick;
  // node resolves symlinks to the checkout, where the dev packages are, so those would not do.
  for (const dir of productionPackages.filter((p) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(relative(root, p)))) {
    const to = join(image, relative(root, dir));
    mkdirSync(dirname(to), { recursive: true });
    if (spawnSync('cp', ['-al', dir, to]).status !== 0) cpSync(dir, to, { recursive: true });
  }
  if (existsSync(join(dist, 'cli'))) cpSync(join(dist, 'cli'), join(image, 'dist', 'cli'), { recursive: true });
}, 180_000);

afterAll(() => {
  if (image) rmSync(image, { recursive: true, force: true });
});

describe('npm run build', () => {
  it('succeeds and writes the Lambda and consumer bundles', () => {
    expect(build.status, `build failed:\n${build.stderr}`).toBe(0);
    expect(existsSync(join(dist, 'lambda', 'firehose-transform.mjs'))).toBe(true);
    expect(existsSync(join(dist, 'cli', 'centralog.mjs'))).toBe(true);
  });

  it('bundles nothing from local/, bench/, test/, the CDK, tsx, vitest or an emulator', () => {
    for (const name of ['lambda', 'cli']) {
      const metafile = JSON.parse(readFileSync(join(dist, `${name}.meta.json`), 'utf8')) as Metafile;
      expect(Object.keys(metafile.inputs).length, name).toBeGreaterThan(10);
      expect(offenders(metafile, DEV_ONLY_PACKAGES), name).toEqual([]);
    }
  });

  it("keeps the consumer's OpenSearch, metrics, DynamoDB and S3 modules out of the Lambda", () => {
    const metafile = JSON.parse(readFileSync(join(dist, 'lambda.meta.json'), 'utf8')) as Metafile;
    expect(offenders(metafile, NOT_IN_LAMBDA)).toEqual([]);
    expect(reached(metafile)).not.toContain('consumers/index.ts');
    // Everything is bundled: the Lambda has no node_modules beside it.
    expect(reached(metafile).filter((p) => packageOf(p) !== undefined && !p.includes('node_modules/'))).toEqual([]);
    expect(statSync(join(dist, 'lambda', 'firehose-transform.mjs')).size).toBeLessThan(1024 * 1024);
  });

  it('refuses, naming the imports that reach it, a bundle that would load local/ or a dev-only package', () => {
    const metafile = {
      inputs: {
        'entry.ts': { bytes: 1, imports: [{ path: 'cli/main.ts', kind: 'import-statement', original: './cli/main.ts' }] },
        'cli/main.ts': { bytes: 1, imports: [{ path: 'local/index.ts', kind: 'import-statement', original: '../local/index.ts' }] },
        'local/index.ts': { bytes: 1, imports: [{ path: 'kinesalite', kind: 'import-statement', external: true }] },
        'node_modules/prom-client/index.js': { bytes: 1, imports: [] },
      },
      outputs: {},
    } as unknown as Metafile;
    const found = forbiddenInputs(metafile);
    expect(found.map((f) => f.path).sort()).toEqual(['kinesalite', 'local/index.ts']);
    expect(found.find((f) => f.path === 'kinesalite')!.chain).toBe('entry.ts -> cli/main.ts -> local/index.ts -> kinesalite');
    expect(forbiddenInputs(metafile, ['prom-client']).map((f) => f.path)).toContain('node_modules/prom-client/index.js');
  });
});

describe('the Lambda bundle', () => {
  it('imports in plain node and answers a Firehose event: a CONTROL_MESSAGE is Dropped', () => {
    const script = `
      const { handler } = await import(${JSON.stringify(join(dist, 'lambda', 'firehose-transform.mjs'))});
      const response = await handler(JSON.parse(process.env.EVENT));
      process.stderr.write('RESPONSE ' + JSON.stringify(response) + '\\n');`;
    const run = node(['--input-type=module', '-e', script], {
      cwd: tmpdir(),
      env: { EVENT: JSON.stringify(controlMessageEvent()), AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    expect(run.status, run.stderr).toBe(0);
    const line = run.stderr.split('\n').find((l) => l.startsWith('RESPONSE '));
    const response = JSON.parse(line!.slice('RESPONSE '.length)) as { records: Array<{ recordId: string; result: string }> };
    expect(response.records.map((r) => [r.recordId, r.result])).toEqual([['r0', 'Dropped']]);
  });
});

describe('the consumer bundle with production packages only', () => {
  it('npm ls --omit=dev lists none of the dev-only packages', () => {
    expect(productionPackages.length).toBeGreaterThan(10);
    const found = productionPackages.map((p) => packageOf(relative(root, p))).filter((p) => DEV_ONLY_PACKAGES.includes(p!));
    expect(found).toEqual([]);
  });

  it('runs `consume --help` from a directory with no dev packages and no NODE_PATH', () => {
    expect(existsSync(join(image, 'node_modules', 'tsx'))).toBe(false);
    const run = node([join('dist', 'cli', 'centralog.mjs'), 'consume', '--help'], { cwd: image });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('--stream-name');
    expect(run.stdout).toContain('--opensearch-url');
  });

  it('carries the shipped detection rules inside the bundle: rules list and detect work with no rules folder beside it', () => {
    expect(existsSync(join(image, 'processors'))).toBe(false);
    const list = node([join('dist', 'cli', 'centralog.mjs'), 'rules', 'list', '--json'], { cwd: image });
    expect(list.status, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as { rules: unknown[]; counts: Record<string, number>; refused: unknown[] };
    expect([listed.rules.length, listed.refused]).toEqual([67, []]);
    const stop = '{"eventVersion":"1.09","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","eventID":"e-1","requestParameters":{"name":"t"}}';
    const detect = node([join('dist', 'cli', 'centralog.mjs'), 'detect'], { cwd: image, input: `${stop}\n` });
    expect(detect.status, detect.stderr).toBe(0);
    expect(detect.stdout).toContain('"title":"CloudTrail Logging Stopped Or Trail Deleted"');
  });

  it('says the demo needs a source checkout', () => {
    const run = node([join('dist', 'cli', 'centralog.mjs'), 'demo'], { cwd: image });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/source checkout/i);
  });

  it('finds the index templates it installs at start', async () => {
    const url = inject('opensearchUrl');
    const prefix = `buildtest${process.pid}`;
    const child = spawn(
      process.execPath,
      [
        join('dist', 'cli', 'centralog.mjs'),
        'consume',
        '--stream-name', 'build-test',
        '--dead-letter-bucket', 'build-test-dead-letters',
        '--opensearch-url', url,
        '--index-prefix', prefix,
        // Nothing listens there: the worker never gets going, but templates come first.
        '--kinesis-endpoint', 'http://127.0.0.1:9',
        '--dynamodb-endpoint', 'http://127.0.0.1:9',
        '--s3-endpoint', 'http://127.0.0.1:9',
        '--status-port', '0',
      ],
      { cwd: image, env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    let exited = false;
    child.on('exit', () => (exited = true));
    try {
      const deadline = Date.now() + 30_000;
      let installed = false;
      const look = async () => {
        const r = await fetch(`${url}/_index_template/${prefix}-*`);
        const body = r.ok ? ((await r.json()) as { index_templates: Array<{ name: string }> }) : { index_templates: [] };
        // Every source family's template and the alerts'.
        return body.index_templates.length === INDEX_FAMILIES.length + 1;
      };
      while (!installed && !exited && Date.now() < deadline) {
        installed = await look();
        if (!installed) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      // The process stops soon after, at the unreachable DynamoDB: what it installed first is still there.
      if (!installed) installed = await look();
      expect(installed, `templates not installed; consume said:\n${output}`).toBe(true);
      const component = await fetch(`${url}/_component_template/${prefix}-aws-base`);
      expect(component.ok).toBe(true);
    } finally {
      child.kill('SIGKILL');
      for (const family of INDEX_FAMILIES) await fetch(`${url}/_index_template/${prefix}-aws.${family}`, { method: 'DELETE' }).catch(() => undefined);
      await fetch(`${url}/_index_template/${prefix}-alerts`, { method: 'DELETE' }).catch(() => undefined);
      await fetch(`${url}/_component_template/${prefix}-aws-base`, { method: 'DELETE' }).catch(() => undefined);
    }
  });
});

describe('cli/bin.mjs in a production install', () => {
  it('says tsx is missing and points at the compiled build', () => {
    mkdirSync(join(image, 'cli'), { recursive: true });
    cpSync(join(root, 'cli', 'bin.mjs'), join(image, 'cli', 'bin.mjs'));
    const run = node([join('cli', 'bin.mjs'), 'consume', '--help'], { cwd: image });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('tsx is not installed');
    expect(run.stderr).toContain('dist/cli/centralog.mjs');
    expect(readdirSync(join(image, 'node_modules'))).not.toContain('tsx');
  });
});
