import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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

describe('Dockerfile', () => {
  it('copies only paths that exist in the repository and are not excluded by .dockerignore', () => {
    expect(copySources.length).toBeGreaterThan(0);
    for (const { src, line } of copySources) {
      expect(src, `line ${line}: wildcards or variables make the check meaningless`).not.toMatch(/[*?$[]/);
      expect(existsSync(join(root, src)), `line ${line}: COPY ${src} does not exist`).toBe(true);
      expect(dockerIgnored(ignorePatterns, src), `line ${line}: COPY ${src} is excluded by .dockerignore`).toBe(false);
    }
  });

  it('enters through a script that exists and is copied into the image', () => {
    const entrypoints = dockerfile.filter((i) => i.keyword === 'ENTRYPOINT');
    expect(entrypoints).toHaveLength(1);
    const argv: string[] = JSON.parse(entrypoints[0]!.args);
    expect(argv[0]).toBe('node');
    const script = argv.slice(1).find((a) => !a.startsWith('-'));
    expect(script, 'no script after node and its flags').toBeDefined();
    expect(existsSync(join(root, script!)), `${script} does not exist`).toBe(true);
    const copied = copySources.some(({ src }) => {
      const s = normalize(src).replace(/\/+$/, '');
      return s === '.' || normalize(script!) === s || normalize(script!).startsWith(`${s}/`);
    });
    expect(copied, `${script} is not copied into the image`).toBe(true);
    expect(dockerIgnored(ignorePatterns, script!), `${script} is excluded by .dockerignore`).toBe(false);
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
  it.each(['node_modules', '.git', '.cache'])('excludes %s', (path) => {
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
