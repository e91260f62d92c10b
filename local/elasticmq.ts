import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { tailOf, trackChild } from './child-process.ts';
import { checkOpenSearchPrerequisites, resolveClasspath } from './opensearch.ts';
import { freePort } from './ports.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const POM = join(HERE, 'elasticmq', 'pom.xml');
const LAUNCHER = join(HERE, 'elasticmq', 'LocalElasticMQ.java');

/** ElasticMQ did not come up; the message names its log file. */
export class ElasticMqStartError extends Error {
  override readonly name = 'ElasticMqStartError';
}

export interface ElasticMqOptions {
  /** Holds the generated config and the log. */
  baseDir: string;
  heap?: string;
  startTimeoutMs?: number;
  cacheDir?: string;
  /** Account id in queue URLs and ARNs. */
  accountId?: string;
  region?: string;
}

export interface RunningElasticMq {
  /** The SQS endpoint, e.g. http://127.0.0.1:PORT */
  endpoint: string;
  pid: number;
  logFile: string;
  classpathMs: number;
  startMs: number;
  stop(): Promise<void>;
}

/** HOCON for ElasticMQ: SQS API on loopback only, no stats UI, queue URLs naming our port. */
export function elasticMqConfig(port: number, accountId: string, region: string): string {
  return [
    'include classpath("application.conf")',
    `node-address { protocol = http, host = "127.0.0.1", port = ${port}, context-path = "" }`,
    `rest-sqs { enabled = true, bind-port = ${port}, bind-hostname = "127.0.0.1", sqs-limits = strict }`,
    'rest-stats { enabled = false }',
    'generate-node-address = false',
    `aws { region = "${region}", accountId = "${accountId}" }`,
    '',
  ].join('\n');
}

/** Starts ElasticMQ (SQS API) as a child JVM on 127.0.0.1 and waits until it answers. */
export async function startElasticMq(options: ElasticMqOptions): Promise<RunningElasticMq> {
  checkOpenSearchPrerequisites();
  const cacheDir = options.cacheDir ?? resolve(HERE, '..', '.cache');
  const { classpath, ms: classpathMs } = resolveClasspath(cacheDir, undefined, POM);
  const baseDir = resolve(options.baseDir);
  mkdirSync(baseDir, { recursive: true });
  const port = await freePort();
  const configFile = join(baseDir, 'elasticmq.conf');
  writeFileSync(configFile, elasticMqConfig(port, options.accountId ?? '000000000000', options.region ?? 'us-east-1'));
  const logFile = join(baseDir, 'elasticmq.log');
  writeFileSync(logFile, '');
  const logFd = openSync(logFile, 'a');
  const heap = options.heap ?? '256m';
  const started = Date.now();
  const child = spawn('java', [`-Xms${heap}`, `-Xmx${heap}`, `-Dconfig.file=${configFile}`, '-cp', classpath, LAUNCHER], {
    stdio: ['pipe', logFd, logFd],
  });
  closeSync(logFd);
  const { exited, stop } = trackChild(child, 10_000);
  const endpoint = `http://127.0.0.1:${port}`;
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  while (Date.now() < started + timeoutMs) {
    if (exited() !== undefined) throw new ElasticMqStartError(`ElasticMQ exited with code ${exited()} during start; see ${logFile}:\n${tailOf(logFile)}`);
    try {
      // Any SQS answer (even an error document) means the API is up.
      const res = await fetch(`${endpoint}/?Action=ListQueues`);
      await res.text();
      return { endpoint, pid: child.pid!, logFile, classpathMs, startMs: Date.now() - started, stop };
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  await stop();
  throw new ElasticMqStartError(`ElasticMQ did not answer within ${timeoutMs} ms; see ${logFile}:\n${tailOf(logFile)}`);
}
