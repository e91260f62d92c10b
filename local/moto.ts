import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSnsClient } from '../consumers/alerts/index.ts';
import { MissingPrerequisiteError } from './opensearch.ts';
import { trackChild, tailOf } from './child-process.ts';
import { freePort } from './ports.ts';

/** moto's server did not come up; the message names its log file. */
export class MotoStartError extends Error {
  override readonly name = 'MotoStartError';
}

const SETUP = 'bash scripts/python-venvs.sh moto';

/** Where scripts/python-venvs.sh puts moto (CENTRALOG_MOTO_VENV moves it, for both). */
export function motoVenv(env: NodeJS.ProcessEnv = process.env): string {
  return env.CENTRALOG_MOTO_VENV ?? join(homedir(), '.cache', 'centralog', 'moto-venv');
}

/**
 * The moto_server executable of the project's virtual environment, or an error saying what
 * to install and run: moto (PyPI, pinned by the setup script) is the local SNS.
 */
export function findMotoServer(venv = motoVenv(), path?: string): string {
  const bin = join(venv, 'bin', 'moto_server');
  if (existsSync(bin)) return bin;
  const env = path === undefined ? process.env : { ...process.env, PATH: path };
  const python = spawnSync('python3', ['--version'], { env, encoding: 'utf8' });
  if (python.error || python.status !== 0) {
    throw new MissingPrerequisiteError(
      `python3 was not found on PATH; the local SNS (moto) needs it. Install Python 3 with venv (Debian/Ubuntu: apt-get install python3 python3-venv), then run ${SETUP}.`,
    );
  }
  throw new MissingPrerequisiteError(`moto's server is not installed in ${venv}: run ${SETUP} (npm test and npm start do it first).`);
}

export interface MotoOptions {
  /** Holds moto's log. */
  baseDir: string;
  venv?: string;
  startTimeoutMs?: number;
  /** PATH used to look for python3 (tests use it to simulate a machine without it). */
  path?: string;
}

export interface RunningMoto {
  name: 'sns';
  /** Every service moto serves answers here (SNS, and SQS for tests subscribing a queue). */
  endpoint: string;
  pid: number;
  logFile: string;
  startMs: number;
  stop(): Promise<void>;
}

/** Starts `moto_server` on 127.0.0.1 at a free port and waits until it answers. */
export async function startMoto(options: MotoOptions): Promise<RunningMoto> {
  const bin = findMotoServer(options.venv, options.path);
  const baseDir = resolve(options.baseDir);
  mkdirSync(baseDir, { recursive: true });
  const logFile = join(baseDir, 'moto.log');
  writeFileSync(logFile, '');
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const logFd = openSync(logFile, 'a');
  const started = Date.now();
  // The venv's python must be the one that runs it, whatever PATH says.
  const env = { ...process.env, PATH: `${dirname(bin)}:${options.path ?? process.env.PATH ?? ''}` };
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', logFd, logFd], env });
  closeSync(logFd);
  // Never orphaned: stopped with a 5 s grace, killed when this process exits.
  const tracked = trackChild(child, 5000);
  const stop = tracked.stop;
  const timeout = options.startTimeoutMs ?? 60_000;
  while (Date.now() - started < timeout) {
    if (tracked.exited() !== undefined) throw new MotoStartError(`moto_server exited with code ${tracked.exited()} during start; see ${logFile}:\n${tailOf(logFile)}`);
    try {
      // Any answer means it listens; the status does not matter.
      const res = await fetch(`${endpoint}/moto-api/`);
      await res.arrayBuffer();
      return { name: 'sns', endpoint, pid: child.pid!, logFile, startMs: Date.now() - started, stop };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stop();
  throw new MotoStartError(`moto_server did not answer within ${timeout} ms; see ${logFile}:\n${tailOf(logFile)}`);
}

/** The topic the local stack creates for alerts. */
export const ALERTS_TOPIC = 'centralog-alerts';

/** Creates (or finds: CreateTopic is idempotent) a topic and returns its ARN. */
export async function createTopic(endpoint: string | undefined, region: string, name: string): Promise<string> {
  const sns = createSnsClient(region, endpoint);
  try {
    const out = await sns.send(new CreateTopicCommand({ Name: name }));
    return out.TopicArn!;
  } finally {
    sns.destroy();
  }
}
