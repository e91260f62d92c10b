import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { tailOf, trackChild } from './child-process.ts';
import { freePort } from './ports.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const POM = join(HERE, 'opensearch', 'pom.xml');
const LAUNCHER = join(HERE, 'opensearch', 'LocalOpenSearch.java');

/** A prerequisite (java, mvn) is missing or too old; the message says how to install it. */
export class MissingPrerequisiteError extends Error {
  override readonly name = 'MissingPrerequisiteError';
}

/** The OpenSearch node did not come up; the message names its log file. */
export class OpenSearchStartError extends Error {
  override readonly name = 'OpenSearchStartError';
}

export interface OpenSearchOptions {
  /** Data, config and log folders of the node. */
  baseDir: string;
  /** Where the JVM's output goes. */
  logFile?: string;
  heap?: string;
  startTimeoutMs?: number;
  /** Where the resolved Maven classpath is cached. */
  cacheDir?: string;
  /** PATH used to look for java and mvn (tests use it to simulate a machine without them). */
  path?: string;
  /**
   * Extra opensearch.yml settings, e.g. `{ 'http.max_content_length': '64kb' }`. Binding,
   * ports, discovery, cluster name and paths stay the launcher's: such keys are refused.
   */
  settings?: Record<string, string | number | boolean>;
}

export interface RunningOpenSearch {
  url: string;
  pid: number;
  logFile: string;
  /** Time spent resolving jars with Maven (0 when cached). */
  classpathMs: number;
  /** Time from JVM spawn to a yellow cluster. */
  startMs: number;
  stop(): Promise<void>;
}

function findTool(tool: 'java' | 'mvn', path: string | undefined): void {
  const env = path === undefined ? process.env : { ...process.env, PATH: path };
  const args = tool === 'java' ? ['-version'] : ['-v'];
  const result = spawnSync(tool, args, { env, encoding: 'utf8' });
  const install =
    tool === 'java'
      ? 'Install Java 17 (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless) or set CENTRALOG_OPENSEARCH_URL to a running OpenSearch.'
      : 'Install Apache Maven 3.8+ (Debian/Ubuntu: apt-get install maven) or set CENTRALOG_OPENSEARCH_URL to a running OpenSearch.';
  if (result.error || result.status !== 0) {
    throw new MissingPrerequisiteError(`${tool} was not found on PATH; the local OpenSearch node needs it. ${install}`);
  }
  if (tool === 'java') {
    const version = /version "(\d+)/.exec(`${result.stderr}${result.stdout}`)?.[1];
    if (version !== undefined && Number(version) < 17) {
      throw new MissingPrerequisiteError(`java ${version} found; the local OpenSearch 2.19 node needs Java 17 or newer. ${install}`);
    }
  }
}

/** Checks for java and mvn before anything is started. */
export function checkOpenSearchPrerequisites(path?: string): void {
  findTool('java', path);
  findTool('mvn', path);
}

/**
 * Resolves (and caches) the classpath of a launcher's pom (the OpenSearch node's by default)
 * with Maven; jars land in ~/.m2 on first use.
 */
export function resolveClasspath(cacheDir: string, path?: string, pom = POM): { classpath: string; ms: number } {
  const pomHash = createHash('sha256').update(readFileSync(pom)).digest('hex').slice(0, 16);
  const cacheFile = join(cacheDir, `${basename(dirname(pom))}-classpath-${pomHash}.txt`);
  if (existsSync(cacheFile)) {
    const classpath = readFileSync(cacheFile, 'utf8').trim();
    if (classpath.split(':').every((jar) => existsSync(jar))) return { classpath, ms: 0 };
  }
  mkdirSync(cacheDir, { recursive: true });
  const started = Date.now();
  const env = path === undefined ? process.env : { ...process.env, PATH: path };
  const result = spawnSync(
    'mvn',
    ['-q', '-B', '-f', pom, 'dependency:build-classpath', `-Dmdep.outputFile=${cacheFile}`],
    { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (result.status !== 0 || !existsSync(cacheFile)) {
    throw new OpenSearchStartError(
      `Maven could not resolve the jars of ${pom} (mvn exit ${result.status}):\n${(result.stdout + result.stderr).slice(-2000)}`,
    );
  }
  return { classpath: readFileSync(cacheFile, 'utf8').trim(), ms: Date.now() - started };
}

// The launcher sets these on every node (loopback only, its own ports, single-node); a
// file value would be overridden at best, so asking for one is a mistake worth naming.
const LAUNCHER_OWNED = /^(network\.|(http|transport)\.(host|bind_host|publish_host|port)$|discovery\.|cluster\.(name|initial_)|node\.name$|path\.)/;

/** Writes the node's opensearch.yml, which the runner reads from `node_1/config` (node ids start at 1). */
function writeNodeSettings(baseDir: string, settings: Record<string, string | number | boolean>): void {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(settings)) {
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new OpenSearchStartError(`not an OpenSearch setting name: ${JSON.stringify(key)}`);
    if (LAUNCHER_OWNED.test(key)) throw new OpenSearchStartError(`setting ${key} is fixed by the local launcher (loopback, own ports, single node)`);
    // A JSON string is a valid YAML scalar, so values with ':' or '#' stay intact.
    lines.push(`${key}: ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
  }
  const configDir = join(baseDir, 'node_1', 'config');
  mkdirSync(configDir, { recursive: true });
  writeFileSync(join(configDir, 'opensearch.yml'), `${lines.join('\n')}\n`);
}

/** Starts a real OpenSearch 2.19 node in one JVM on 127.0.0.1 and waits until it is yellow. */
export async function startOpenSearch(options: OpenSearchOptions): Promise<RunningOpenSearch> {
  checkOpenSearchPrerequisites(options.path);
  const cacheDir = options.cacheDir ?? resolve(HERE, '..', '.cache');
  const { classpath, ms: classpathMs } = resolveClasspath(cacheDir, options.path);
  const baseDir = resolve(options.baseDir);
  mkdirSync(baseDir, { recursive: true });
  if (options.settings) writeNodeSettings(baseDir, options.settings);
  const logFile = options.logFile ?? join(baseDir, 'opensearch.log');
  writeFileSync(logFile, '');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFd = openSync(logFile, 'a');
  const heap = options.heap ?? '1g';
  const started = Date.now();
  const env = options.path === undefined ? process.env : { ...process.env, PATH: options.path };
  const child = spawn(
    'java',
    [`-Xms${heap}`, `-Xmx${heap}`, '-XX:+UseG1GC', '-cp', classpath, LAUNCHER, baseDir, String(port), `centralog-${port}`],
    { stdio: ['pipe', logFd, logFd], env },
  );
  closeSync(logFd);
  // The node also exits by itself when our stdin pipe closes, so no JVM is orphaned.
  const { exited, stop } = trackChild(child, 20_000);

  const deadline = started + (options.startTimeoutMs ?? 180_000);
  while (Date.now() < deadline) {
    if (exited() !== undefined) {
      throw new OpenSearchStartError(`OpenSearch exited with code ${exited()} during start; see ${logFile}:\n${tailOf(logFile)}`);
    }
    try {
      const res = await fetch(`${url}/_cluster/health?wait_for_status=yellow&timeout=1s`);
      if (res.ok) {
        const health = (await res.json()) as { status: string };
        if (health.status === 'yellow' || health.status === 'green') {
          return { url, pid: child.pid!, logFile, classpathMs, startMs: Date.now() - started, stop };
        }
      }
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  await stop();
  throw new OpenSearchStartError(`OpenSearch was not healthy within ${options.startTimeoutMs ?? 180_000} ms; see ${logFile}:\n${tailOf(logFile)}`);
}
