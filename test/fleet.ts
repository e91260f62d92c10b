import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Client } from '@opensearch-project/opensearch';
import type { AwsEndpoints } from '../consumers/aws-clients.ts';
import type { Lease, LeaseTable } from '../consumers/leases/lease-table.ts';
import { waitFor } from './helpers.ts';
import { CloudWatchLogsSimulator } from '../local/cwl-simulator.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** One JSON log line of a worker process. */
export interface WorkerLog {
  level: string;
  message: string;
  workerId: string;
  time: string;
  [key: string]: unknown;
}

export interface FleetWorker {
  id: string;
  process: ChildProcess;
  logs: WorkerLog[];
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  statusUrl: string;
  stderr: string[];
}

export interface FleetOptions {
  endpoints: AwsEndpoints;
  opensearchUrl: string;
  streamName: string;
  leaseTable: string;
  deadLetterBucket: string;
  indexPrefix: string;
  env?: Record<string, string>;
  /** How long a worker may take to say it is running (default 60 s; a loaded machine needs more). */
  startTimeoutMs?: number;
}

/**
 * Real `centralog consume` processes sharing one lease table, as ECS tasks would. Every
 * log line is kept (tests assert on lease and read-order events).
 */
export class Fleet {
  readonly workers: FleetWorker[] = [];
  private next = 1;

  constructor(private readonly opts: FleetOptions) {}

  /** Starts a worker process and waits until it says it is running; `extraEnv` is added to the fleet's for this worker only. */
  async add(extraEnv: Record<string, string> = {}): Promise<FleetWorker> {
    const id = `${this.opts.streamName}-w${this.next++}`;
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      CENTRALOG_STREAM_NAME: this.opts.streamName,
      CENTRALOG_LEASE_TABLE: this.opts.leaseTable,
      CENTRALOG_DEAD_LETTER_BUCKET: this.opts.deadLetterBucket,
      CENTRALOG_OPENSEARCH_URL: this.opts.opensearchUrl,
      CENTRALOG_KINESIS_ENDPOINT: this.opts.endpoints.kinesis!,
      CENTRALOG_DYNAMODB_ENDPOINT: this.opts.endpoints.dynamodb!,
      CENTRALOG_S3_ENDPOINT: this.opts.endpoints.s3!,
      CENTRALOG_REGION: this.opts.endpoints.region,
      CENTRALOG_INDEX_PREFIX: this.opts.indexPrefix,
      CENTRALOG_INSTALL_TEMPLATES: 'false',
      CENTRALOG_WORKER_ID: id,
      CENTRALOG_STATUS_PORT: '0',
      CENTRALOG_IDLE_BACKOFF_MS: '200',
      // The simulated accounts' groups, mapped as an operator maps them.
      CENTRALOG_LOG_GROUP_SOURCES: JSON.stringify(CloudWatchLogsSimulator.LOG_GROUP_SOURCES),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...this.opts.env,
      ...extraEnv,
    };
    const child = spawn(process.execPath, ['--openssl-legacy-provider', 'cli/bin.mjs', 'consume'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const worker: FleetWorker = {
      id,
      process: child,
      logs: [],
      stderr: [],
      statusUrl: '',
      exited: once(child, 'exit').then(([code]) => code as number | null),
    };
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        worker.logs.push(JSON.parse(line) as WorkerLog);
      } catch {
        worker.stderr.push(line);
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => worker.stderr.push(line));
    this.workers.push(worker);
    let exitCode: number | null | undefined;
    void worker.exited.then((code) => (exitCode = code));
    await waitFor(`worker ${id} running`, () => {
      if (exitCode !== undefined) throw new Error(`worker ${id} exited with ${exitCode}: ${worker.stderr.join('\n')}`);
      const running = worker.logs.find((l) => l.message === 'consumer running');
      if (running) worker.statusUrl = running.statusUrl as string;
      return running !== undefined;
    }, this.opts.startTimeoutMs ?? 60_000);
    return worker;
  }

  /** Every log line of every worker, in time order. */
  logs(): WorkerLog[] {
    return this.workers.flatMap((w) => w.logs).sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  }

  /** Graceful stop (SIGTERM) of every running worker; kills any that hang. */
  async stop(): Promise<void> {
    const running = this.workers.filter((w) => w.process.exitCode === null && w.process.signalCode === null);
    for (const w of running) w.process.kill('SIGTERM');
    const timer = setTimeout(() => running.forEach((w) => w.process.kill('SIGKILL')), 30_000);
    await Promise.all(running.map((w) => w.exited));
    clearTimeout(timer);
  }
}

/** A worker's /metrics text. */
export async function scrape(worker: FleetWorker): Promise<string> {
  const res = await fetch(`${worker.statusUrl}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics of ${worker.id}: ${res.status}`);
  return res.text();
}

/** The value of an unlabelled sample in Prometheus text, or undefined when it is not there. */
export function metricValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** A worker's /healthz answer: status, content type and parsed body. */
export async function healthz(worker: FleetWorker): Promise<{ status: number; contentType: string | null; body: Record<string, unknown> }> {
  const res = await fetch(`${worker.statusUrl}/healthz`);
  return { status: res.status, contentType: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
}

/** Owner -> shards, for unfinished leases. */
export function leasesByOwner(leases: Lease[]): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  for (const l of leases) {
    if (l.checkpoint === 'SHARD_END') continue;
    const key = l.leaseOwner ?? '(none)';
    owners.set(key, [...(owners.get(key) ?? []), l.leaseKey]);
  }
  return owners;
}

/** Waits until OpenSearch holds `expected` documents under the pattern. */
export async function waitForDocuments(client: Client, pattern: string, expected: number, timeoutMs = 60_000): Promise<void> {
  let count = 0;
  try {
    let lastError = '';
    await waitFor(`${expected} documents in ${pattern}`, async () => {
      try {
        await client.indices.refresh({ index: pattern, allow_no_indices: true, ignore_unavailable: true });
        const res = await client.count({ index: pattern, allow_no_indices: true, ignore_unavailable: true } as never);
        count = (res.body as unknown as { count: number }).count;
      } catch (err) {
        // An index created a moment ago may not have its shard started yet: ask again.
        lastError = String(err);
        return false;
      }
      return count >= expected;
    }, timeoutMs).catch((err: Error) => {
      throw new Error(lastError ? `${err.message}; last error: ${lastError}` : err.message);
    });
  } catch (err) {
    throw new Error(`${(err as Error).message} (have ${count})`);
  }
}

export async function ownersNow(table: LeaseTable): Promise<Map<string, string[]>> {
  return leasesByOwner(await table.list());
}
