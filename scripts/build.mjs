#!/usr/bin/env node
// Builds what production runs, as plain JavaScript:
//   dist/lambda/firehose-transform.mjs  the Firehose transform Lambda, every dependency bundled
//   dist/cli/centralog.mjs              the consumer image's `centralog`, packages left to node_modules
//   dist/cli/infra/opensearch/...       data files our modules read (index templates, dashboards)
// `node scripts/build.mjs lambda` builds one target only.
// It fails, writing nothing, when an input comes from code production must never load
// (emulators, the CDK, tests, benchmarks, tsx); each offender is printed with the imports that reach it.
import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

// Packages production code must not load, by package name.
const DEV_ONLY_PACKAGES = ['aws-cdk-lib', 'aws-cdk', 'constructs', 'tsx', 'vitest', 'vite', 'esbuild', 'kinesalite', 'dynalite', 's3rver'];
// Folders of ours that only the demo, tests and benchmarks load.
const DEV_ONLY_FOLDERS = ['local/', 'bench/', 'test/'];
// The Lambda only writes back to Kinesis: the consumer's heavy clients would only slow its cold start.
const LAMBDA_EXCLUDED_PACKAGES = ['@opensearch-project/opensearch', 'prom-client', '@aws-sdk/client-dynamodb', '@aws-sdk/client-s3'];

// ESM bundles that contain CommonJS dependencies need a real `require` for node built-ins.
const REQUIRE_BANNER = "import { createRequire as __centralogCreateRequire } from 'node:module'; const require = __centralogCreateRequire(import.meta.url);";

/** The package an input path or import specifier belongs to, or undefined for our own files and node built-ins. */
function packageOf(path) {
  const inModules = path.lastIndexOf('node_modules/');
  let spec;
  if (inModules >= 0) spec = path.slice(inModules + 'node_modules/'.length);
  else if (/^[@a-z0-9]/i.test(path) && !path.startsWith('node:') && !builtinModules.includes(path.split('/')[0]) && !/\.(ts|mts|js|mjs|json)$/.test(path)) spec = path;
  else return undefined;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Everything a metafile says the bundle contains or imports at run time (inputs, and external
 * imports such as node_modules packages), with why each one is forbidden, if it is.
 */
export function forbiddenInputs(metafile, extraPackages = []) {
  const packages = new Set([...DEV_ONLY_PACKAGES, ...extraPackages]);
  const importers = new Map();
  const reached = new Set(Object.keys(metafile.inputs));
  for (const [file, input] of Object.entries(metafile.inputs)) {
    for (const imp of input.imports) {
      if (!importers.has(imp.path)) importers.set(imp.path, file);
      if (imp.external) reached.add(imp.path);
    }
  }
  const chain = (path) => {
    const out = [path];
    for (let at = importers.get(path); at !== undefined && !out.includes(at); at = importers.get(at)) out.push(at);
    return out.reverse().join(' -> ');
  };
  // One entry per file of ours, one per package (its shortest way in): a whole SDK is one finding.
  const found = new Map();
  for (const path of reached) {
    const folder = DEV_ONLY_FOLDERS.find((f) => path.startsWith(f));
    const pkg = packageOf(path);
    const finding = folder ? { key: path, reason: `from ${folder}` } : pkg && packages.has(pkg) ? { key: pkg, reason: `package ${pkg}` } : undefined;
    if (!finding) continue;
    const entry = { path, reason: finding.reason, chain: chain(path) };
    const seen = found.get(finding.key);
    if (!seen || entry.chain.length < seen.chain.length) found.set(finding.key, entry);
  }
  return [...found.values()];
}

/**
 * Modules of ours that find data files relative to themselves (`import.meta.url`), and what they
 * read. Each such module's `import.meta.url` is rewritten to where it would sit if the repository
 * were laid out under the bundle's folder, and its data is copied there: the same relative paths
 * work in the checkout and in the bundle. A module that is not listed fails the build.
 */
const DATA = {
  'infra/opensearch/index.ts': ['infra/opensearch/templates'],
  'cli/ops/dashboards.ts': ['infra/opensearch/dashboards'],
};

function relocateData(locating) {
  return {
    name: 'relocate-data',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const path = relative(root, args.path);
        if (path.startsWith('node_modules/') || path.startsWith('..')) return undefined;
        const source = readFileSync(args.path, 'utf8');
        if (/import\.meta\.(dirname|filename|resolve)\b/.test(source)) {
          return { errors: [{ text: `${path} uses import.meta.dirname/filename/resolve: use import.meta.url, which the build knows how to relocate` }] };
        }
        if (!source.includes('import.meta.url')) return undefined;
        locating.add(path);
        const here = JSON.stringify(`./${path}`);
        return { contents: source.replaceAll('import.meta.url', `new URL(${here}, import.meta.url).href`), loader: 'ts' };
      });
    },
  };
}

/**
 * Keeps the demo (and through it local/) out of the consumer bundle: the CLI loads cli/demo.ts
 * with import() only for `centralog demo`, and the image has no demo to load.
 */
const DEMO = join(root, 'cli', 'demo.ts');
const demoStaysOut = {
  name: 'demo-stays-out',
  setup(b) {
    b.onResolve({ filter: /demo(\.ts)?$/ }, (args) => {
      if (args.kind !== 'dynamic-import' || resolve(args.resolveDir, args.path) !== DEMO) return undefined;
      return { path: args.path, external: true };
    });
  },
};

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // ESM builds of dependencies (the AWS SDK ships both) let unused code be dropped.
  mainFields: ['module', 'main'],
  metafile: true,
  write: false,
  logLevel: 'warning',
  legalComments: 'none',
};

const targets = [
  {
    name: 'lambda',
    excluded: LAMBDA_EXCLUDED_PACKAGES,
    options: {
      ...common,
      entryPoints: ['infra/lambda/firehose-transform.ts'],
      outfile: join(dist, 'lambda', 'firehose-transform.mjs'),
      minify: true,
      banner: { js: REQUIRE_BANNER },
      plugins: [],
    },
  },
  {
    name: 'cli',
    excluded: [],
    options: {
      ...common,
      stdin: {
        contents: [
          "import { main } from './cli/main.ts';",
          // SDK versions are pinned to ones that support Node 20; their notice about future releases is noise.
          "process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';",
          'await main(process.argv);',
        ].join('\n'),
        resolveDir: root,
        sourcefile: 'centralog-entry.ts',
        loader: 'ts',
      },
      outfile: join(dist, 'cli', 'centralog.mjs'),
      // The image installs production packages with npm ci; bundling only our code keeps their own file layout intact.
      packages: 'external',
      keepNames: true,
      banner: { js: `#!/usr/bin/env node\n${REQUIRE_BANNER}` },
      plugins: [demoStaysOut],
    },
  },
];

/** Where each bundle is written, relative to the repository root. */
export const OUTPUTS = Object.fromEntries(targets.map((t) => [t.name, relative(root, t.options.outfile)]));

/** A target's esbuild options (they write nothing), for checks that want its module graph. */
export function esbuildOptions(name) {
  const target = targets.find((t) => t.name === name);
  if (!target) throw new Error(`unknown build target ${name}`);
  return { ...target.options, plugins: [relocateData(new Set()), ...target.options.plugins] };
}

/** Builds the named targets (all by default) into a fresh dist/. */
export async function buildAll(names = targets.map((t) => t.name)) {
  const unknown = names.filter((n) => !targets.some((t) => t.name === n));
  if (unknown.length > 0) throw new Error(`unknown build target ${unknown.join(', ')}; targets: ${targets.map((t) => t.name).join(', ')}`);
  rmSync(dist, { recursive: true, force: true });
  const results = [];
  let failed = false;
  for (const target of targets.filter((t) => names.includes(t.name))) {
    const locating = new Set();
    const result = await build({ ...target.options, plugins: [relocateData(locating), ...target.options.plugins] });
    const bad = forbiddenInputs(result.metafile, target.excluded);
    const unlisted = [...locating].filter((m) => !(m in DATA));
    if (bad.length > 0 || unlisted.length > 0) {
      failed = true;
      process.stderr.write(`\nbuild FAILED: the ${target.name} bundle\n`);
      if (bad.length > 0) process.stderr.write('would load code production must not load:\n');
      for (const b of bad) process.stderr.write(`  ${b.path} (${b.reason})\n    via ${b.chain}\n`);
      for (const m of unlisted) process.stderr.write(`  ${m} finds files relative to itself: list what it reads in DATA (scripts/build.mjs) so it ships beside the bundle\n`);
      continue;
    }
    for (const file of result.outputFiles) {
      mkdirSync(dirname(file.path), { recursive: true });
      writeFileSync(file.path, file.contents);
    }
    const outDir = dirname(target.options.outfile);
    for (const data of [...locating].flatMap((m) => DATA[m]).filter((d) => existsSync(join(root, d)))) {
      cpSync(join(root, data), join(outDir, data), { recursive: true, filter: (src) => !src.endsWith('.md') });
    }
    writeFileSync(join(dist, `${target.name}.meta.json`), JSON.stringify(result.metafile));
    results.push({ name: target.name, outfile: target.options.outfile, bytes: statSync(target.options.outfile).size });
  }
  if (failed) {
    rmSync(dist, { recursive: true, force: true });
    throw new Error('build failed (see above)');
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const names = process.argv.slice(2);
    for (const r of await buildAll(names.length > 0 ? names : undefined)) process.stdout.write(`${relative(root, r.outfile)}  ${(r.bytes / 1024).toFixed(0)} KiB\n`);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  }
}
