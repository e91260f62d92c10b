import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { esbuildOptions, OUTPUTS } from '../../scripts/build.mjs';

// No docker daemon in CI, so the image is checked against the repository instead of built.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Dockerfile instructions with comments dropped and `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*#/.test(line) || (pending === '' && line.trim() === '')) return;
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full === '') return;
    const m = /^(\S+)\s*(.*)$/.exec(full)!;
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
  });
  return out;
}

/** Arguments of an instruction in exec (JSON) or shell-words form, with --flags removed. */
function words(args: string): string[] {
  const list: string[] = args.startsWith('[') ? JSON.parse(args) : args.split(/\s+/);
  return list.filter((w) => !w.startsWith('--'));
}

/** .dockerignore patterns, last match wins, `!` re-includes; `*` stays within one path segment. */
function dockerIgnored(patterns: string[], path: string): boolean {
  const toRegex = (p: string) =>
    new RegExp(
      '^' +
        p
          .replace(/^\/+|\/+$/g, '')
          .split('/')
          .map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
          .join('/')
          .replace(/\.\*\//g, '(?:.*/)?') +
        '$',
    );
  const segments = normalize(path).replace(/\/+$/, '').split('/');
  let ignored = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const re = toRegex(negated ? pattern.slice(1) : pattern);
    // A pattern that matches a parent directory excludes everything beneath it.
    for (let n = 1; n <= segments.length; n++) {
      if (re.test(segments.slice(0, n).join('/'))) {
        ignored = !negated;
        break;
      }
    }
  }
  return ignored;
}

const dockerfile = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const ignorePatterns = readFileSync(join(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

const copies = dockerfile.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
// Sources taken from another build stage are not in the build context.
const contextCopies = copies.filter((i) => !/(^|\s)--from=/.test(i.args));
const copySources = contextCopies.flatMap((i) => words(i.args).slice(0, -1).map((src) => ({ src, line: i.line })));

/** The stage a COPY takes its sources from, if not the build context. */
function fromStage(i: Instruction): string | undefined {
  return /(?:^|\s)--from=(\S+)/.exec(i.args)?.[1];
}

interface Stage {
  base: string;
  name: string | undefined;
  /** The last WORKDIR of the stage, which every relative path in it is resolved against. */
  workdir: string;
  instructions: Instruction[];
}

const stages: Stage[] = [];
for (const i of dockerfile) {
  if (i.keyword === 'FROM') {
    const [base, as, name] = words(i.args);
    stages.push({ base: base!, name: as?.toUpperCase() === 'AS' ? name : undefined, workdir: '/', instructions: [] });
  } else if (stages.length > 0) {
    const stage = stages.at(-1)!;
    if (i.keyword === 'WORKDIR') stage.workdir = posix.resolve(stage.workdir, i.args);
    stage.instructions.push(i);
  }
}

describe('Dockerfile', () => {
  it('copies only paths that exist in the repository and are not excluded by .dockerignore', () => {
    expect(copySources.length).toBeGreaterThan(0);
    for (const { src, line } of copySources) {
      expect(src, `line ${line}: wildcards or variables make the check meaningless`).not.toMatch(/[*?$[]/);
      expect(existsSync(join(root, src)), `line ${line}: COPY ${src} does not exist`).toBe(true);
      expect(dockerIgnored(ignorePatterns, src), `line ${line}: COPY ${src} is excluded by .dockerignore`).toBe(false);
    }
  });

  it('builds in one stage and runs in a second that has production packages and the bundle only', () => {
    expect(stages).toHaveLength(2);
    const [buildStage, runtime] = stages as [Stage, Stage];
    expect(buildStage.name, 'the first stage is named, for COPY --from').toBeDefined();
    expect(runtime.base, 'the runtime starts from a base image, not from the build').not.toBe(buildStage.name);

    const buildRuns = buildStage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(buildRuns.some((r) => /\bnpm ci\b/.test(r) && !r.includes('--omit=dev')), 'the build installs dev packages (esbuild)').toBe(true);
    expect(buildRuns.some((r) => /\bnpm run build\b/.test(r))).toBe(true);

    const runtimeRuns = runtime.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runtimeRuns.some((r) => /\bnpm ci\b.*--omit=dev/.test(r)), 'the runtime installs production packages only').toBe(true);
    expect(runtimeRuns.filter((r) => /\bnpm (ci|install|i)\b/.test(r) && !r.includes('--omit=dev'))).toEqual([]);

    // From the context: the package manifests, nothing else; from the build: dist/ only.
    const runtimeCopies = runtime.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
    const fromContext = runtimeCopies.filter((i) => !fromStage(i)).flatMap((i) => words(i.args).slice(0, -1));
    expect(fromContext.sort()).toEqual(['package-lock.json', 'package.json']);
    for (const copy of runtimeCopies.filter((i) => fromStage(i))) {
      expect(fromStage(copy), `line ${copy.line}`).toBe(buildStage.name);
      for (const src of words(copy.args).slice(0, -1)) {
        expect(posix.relative(buildStage.workdir, posix.resolve(buildStage.workdir, src)), `line ${copy.line}: only dist/ from the build`).toMatch(/^dist(\/|$)/);
      }
    }
  });

  it('enters through the compiled consumer bundle, with the heap bounds and main-thread GC for a half-vCPU task, and no tsx', () => {
    const entrypoints = dockerfile.filter((i) => i.keyword === 'ENTRYPOINT');
    expect(entrypoints).toHaveLength(1);
    const argv: string[] = JSON.parse(entrypoints[0]!.args);
    expect(argv[0]).toBe('node');
    expect(argv.slice(1, 5)).toEqual(['--max-old-space-size=384', '--max-semi-space-size=16', '--single-threaded-gc', '--openssl-legacy-provider']);
    expect(argv.slice(5)).toEqual([OUTPUTS.cli, 'consume']);
    expect(dockerfile.filter((i) => /\btsx\b/.test(i.args)).map((i) => i.line)).toEqual([]);
  });

  it('copies the bundle the build writes to the path the entrypoint runs, with the data files beside it', () => {
    const [buildStage, runtime] = stages as [Stage, Stage];
    const argv: string[] = JSON.parse(dockerfile.find((i) => i.keyword === 'ENTRYPOINT')!.args);
    const script = argv.find((a, i) => i > 0 && !a.startsWith('-'))!;
    /** Where a runtime path came from in the build stage, through the COPY --from that covers it. */
    const origin = (runtimePath: string): string | undefined => {
      const target = posix.resolve(runtime.workdir, runtimePath);
      for (const copy of runtime.instructions.filter((i) => fromStage(i) === buildStage.name)) {
        const list = words(copy.args);
        const dest = posix.resolve(runtime.workdir, list.at(-1)!);
        for (const src of list.slice(0, -1)) {
          const rest = posix.relative(dest, target);
          if (!rest.startsWith('..')) return posix.join(posix.resolve(buildStage.workdir, src), rest);
        }
      }
      return undefined;
    };
    expect(origin(script), `${script} is not copied from the build stage`).toBe(posix.join(buildStage.workdir, OUTPUTS.cli));
    // The build lays the data files our modules read (index templates) out beside the bundle: the whole folder comes along.
    expect(origin(posix.dirname(script))).toBe(posix.join(buildStage.workdir, posix.dirname(OUTPUTS.cli)));
  });

  it('gives the build stage every source folder the bundle is made of, and none of local/, bench/ or test/', async () => {
    const { metafile } = await build(esbuildOptions('cli'));
    const folders = new Set(
      Object.keys(metafile.inputs)
        .filter((p) => !p.startsWith('node_modules/') && p.includes('/'))
        .map((p) => p.split('/')[0]!),
    );
    expect(folders.size).toBeGreaterThan(1);
    const [buildStage] = stages as [Stage];
    const copied = buildStage.instructions
      .filter((i) => (i.keyword === 'COPY' || i.keyword === 'ADD') && !fromStage(i))
      .flatMap((i) => words(i.args).slice(0, -1).map((src) => normalize(src).replace(/\/+$/, '')));
    for (const folder of [...folders, 'scripts', 'package.json', 'package-lock.json']) expect(copied, folder).toContain(folder);
    for (const stage of stages) {
      const all = stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD').flatMap((i) => words(i.args).slice(0, -1));
      expect(all.filter((src) => /^(\.\/)?(local|bench|test)(\/|$)/.test(src))).toEqual([]);
    }
  });

  it('runs as a non-root user', () => {
    const lastRun = dockerfile.map((i) => i.keyword).lastIndexOf('RUN');
    const users = dockerfile.filter((i) => i.keyword === 'USER');
    const lastUser = dockerfile.map((i) => i.keyword).lastIndexOf('USER');
    expect(users.length, 'no USER instruction').toBeGreaterThan(0);
    expect(lastUser, 'the last USER must come after the last RUN').toBeGreaterThan(lastRun);
    const user = dockerfile[lastUser]!.args.split(':')[0]!.trim();
    expect(user).not.toMatch(/^(root|0)$/);
    expect(user).not.toBe('');
  });

  it('pins every base image to a specific tag or digest', () => {
    const froms = dockerfile.filter((i) => i.keyword === 'FROM');
    expect(froms.length).toBeGreaterThan(0);
    const stages = new Set<string>();
    for (const from of froms) {
      const [image, as, stage] = words(from.args);
      const fromStage = stages.has(image!);
      if (as?.toUpperCase() === 'AS' && stage) stages.add(stage);
      // An earlier stage was pinned when it was checked.
      if (fromStage) continue;
      expect(image, `line ${from.line}: no variables in the base image`).not.toContain('$');
      // A registry host may carry a port (host:5000/name), so look for the tag after the last '/'.
      const pinned = /@sha256:[0-9a-f]{64}$/.test(image!) || /:[\w][\w.-]*$/.test(image!.slice(image!.lastIndexOf('/') + 1));
      expect(pinned, `line ${from.line}: ${image} has no tag`).toBeTruthy();
      expect(image, `line ${from.line}: latest is not a pin`).not.toMatch(/:latest$/);
    }
  });

  it('has a health check against /healthz and exposes the metrics port', () => {
    const health = dockerfile.filter((i) => i.keyword === 'HEALTHCHECK');
    expect(health).toHaveLength(1);
    expect(health[0]!.args).toContain('/healthz');
    expect(dockerfile.some((i) => i.keyword === 'EXPOSE' && words(i.args).includes('9464'))).toBe(true);
  });
});

describe('.dockerignore', () => {
  // dist/ is built inside the image; local/, bench/ and test/ are never part of it.
  it.each(['node_modules', '.git', '.cache', 'dist', 'local', 'bench', 'test'])('excludes %s', (path) => {
    expect(dockerIgnored(ignorePatterns, path)).toBe(true);
    expect(dockerIgnored(ignorePatterns, `${path}/some/file`)).toBe(true);
  });

  it('matches the way docker does for the cases above', () => {
    expect(dockerIgnored(['node_modules'], 'node_modules/x')).toBe(true);
    expect(dockerIgnored(['**/node_modules'], 'node_modules')).toBe(true);
    expect(dockerIgnored(['/.git/'], '.git')).toBe(true);
    expect(dockerIgnored(['*.log'], 'a/b.log')).toBe(false);
    expect(dockerIgnored(['test', '!test/keep'], 'test/keep')).toBe(false);
    expect(dockerIgnored(['node_modules_old'], 'node_modules')).toBe(false);
    expect(dockerIgnored(['# node_modules'].filter((l) => !l.startsWith('#')), 'node_modules')).toBe(false);
  });
});
