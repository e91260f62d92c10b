// `npm run soak`: the whole pipeline for minutes under steady load, with consumer processes
// killed and restarted and OpenSearch frozen once; then every event must be in S3 once and in
// OpenSearch once. Not part of `npm test`: it takes over ten minutes. Loopback only.
import { CreateStreamCommand, waitUntilStreamExists } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { addSchemaOptions } from '../cli/options.ts';
import { accountForEvents } from '../cli/verify.ts';
import { ConfigError, createKinesisClient, createOpenSearchClient, createS3Client, optionFields, resolveOptions } from '../consumers/index.ts';
import { installIndexTemplates } from '../infra/opensearch/index.ts';
import { CloudWatchLogsSimulator, FirehoseHarness } from '../local/index.ts';
import { TRANSFORM_PROCESSOR_BUFFER_MB } from '../processors/index.ts';
import { Fleet, type FleetWorker } from '../test/fleet.ts';
import type { SoakStackReady } from './soak-stack.ts';

const { int, positive } = optionFields;
const SoakOptionsSchema = z.object({
  minutes: positive(120).default(10).meta({ description: 'how long to produce events (fractions allowed: 2.5)', arg: 'minutes' }),
  rate: positive(20_000).default(2000).meta({ description: 'log events per second', arg: 'n' }),
  workers: int(1, 16).default(3).meta({ description: 'consume processes', arg: 'n' }),
  shards: int(1, 64).default(6).meta({ description: 'Kinesis shards', arg: 'n' }),
  killEvery: positive(3600).default(120).meta({ description: 'SIGKILL one worker and start a new one this often', arg: 'seconds' }),
  pauseAt: positive(7200).optional().meta({ description: 'freeze OpenSearch (SIGSTOP) this long after the start (default: half way)', arg: 'seconds' }),
  pauseFor: positive(600).default(30).meta({ description: 'how long OpenSearch stays frozen', arg: 'seconds' }),
  maxRssMib: positive(16_384).default(512).meta({ description: "fail when a worker's peak RSS passes this (the README's bound)", arg: 'MiB' }),
  startTimeout: positive(900).default(180).meta({ description: 'how long the stack or a worker may take to start', arg: 'seconds' }),
  drainTimeout: positive(3600).default(300).meta({ description: 'how long to wait for the pipeline to catch up', arg: 'seconds' }),
});
type SoakOptions = z.infer<typeof SoakOptionsSchema>;

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function rssMiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

const alive = (w: FleetWorker) => w.process.exitCode === null && w.process.signalCode === null;
const fmt = (n: number) => n.toLocaleString('en-US');
const tail = (w: FleetWorker | undefined) => (w ? w.stderr.slice(-3).join(' | ').slice(0, 300) : '');

/** The schedule must kill at least once and freeze OpenSearch while events are produced; say which option does not fit. */
function checkSchedule(options: SoakOptions): { pauseAt: number } {
  const runSeconds = options.minutes * 60;
  const pauseAt = options.pauseAt ?? runSeconds / 2;
  if (options.killEvery >= runSeconds) {
    throw new ConfigError(`--kill-every ${options.killEvery} s: no worker would be killed in a ${runSeconds} s run; expected less than --minutes x 60`);
  }
  if (pauseAt + options.pauseFor > runSeconds) {
    throw new ConfigError(`--pause-at ${pauseAt} s with --pause-for ${options.pauseFor} s ends after the ${runSeconds} s run; expected pause-at + pause-for <= --minutes x 60`);
  }
  return { pauseAt };
}

/** Starts bench/soak-stack.ts and waits (bounded) for its one-line answer. */
async function startStack(workDir: string, timeoutMs: number): Promise<{ child: ChildProcess; ready: SoakStackReady }> {
  // The soak freezes its own node and owns every service: nothing from the caller's environment points elsewhere.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CENTRALOG_')));
  const ignored = Object.keys(process.env).filter((k) => /^CENTRALOG_(OPENSEARCH_URL|KINESIS_ENDPOINT|DYNAMODB_ENDPOINT|S3_ENDPOINT)$/.test(k));
  if (ignored.length > 0) console.error(`soak: ignoring ${ignored.join(', ')}: the soak starts and freezes its own services`);
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '--import', 'tsx', 'bench/soak-stack.ts', workDir], {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const first = once(lines, 'line').then(([line]) => JSON.parse(line as string) as SoakStackReady);
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`the local stack exited before it was up (code ${code}, signal ${signal}); its log is above`);
  });
  const timeout = sleep(timeoutMs).then(() => {
    throw new Error(`the local stack (OpenSearch included) was not up after ${timeoutMs / 1000} s; raise --start-timeout on a loaded machine`);
  });
  try {
    return { child, ready: await Promise.race([first, exited, timeout]) };
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }
}

async function stopStack(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(timer);
}

async function soak(options: SoakOptions): Promise<boolean> {
  const { pauseAt: pauseAtSeconds } = checkSchedule(options);
  const workDir = mkdtempSync(join(tmpdir(), 'centralog-soak-'));
  const runId = Date.now().toString(36);
  const failures: string[] = [];
  let harness: FirehoseHarness | undefined;
  let fleet: Fleet | undefined;
  let stackChild: ChildProcess | undefined;
  let frozenPid: number | undefined;
  const thaw = () => {
    if (frozenPid === undefined) return;
    try {
      process.kill(frozenPid, 'SIGCONT');
    } catch {
      // already gone
    }
    frozenPid = undefined;
  };
  // Ctrl-C: never leave OpenSearch frozen or workers behind.
  const onSignal = () => {
    thaw();
    for (const w of fleet?.workers ?? []) if (alive(w)) w.process.kill('SIGKILL');
    stackChild?.kill('SIGTERM');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const setupStarted = Date.now();
    const stack = await startStack(workDir, options.startTimeout * 1000);
    stackChild = stack.child;
    const { endpoints, opensearchUrl, opensearchPid } = stack.ready;
    console.error(`[setup] stack up in ${Math.round((Date.now() - setupStarted) / 1000)} s (OpenSearch ${opensearchUrl}, pid ${opensearchPid})`);
    const kinesis = createKinesisClient(endpoints);
    const s3 = createS3Client(endpoints);
    const opensearch = createOpenSearchClient(opensearchUrl);
    const streamName = `centralog-soak-${runId}`;
    const archiveBucket = `centralog-soak-archive-${runId}`;
    const deadLetterBucket = `centralog-soak-dead-${runId}`;
    const indexPrefix = `soak-${runId}`;
    await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: options.shards }));
    await waitUntilStreamExists({ client: kinesis, maxWaitTime: 60, minDelay: 1 }, { StreamName: streamName });
    for (const Bucket of [archiveBucket, deadLetterBucket]) await s3.send(new CreateBucketCommand({ Bucket }));
    await installIndexTemplates(opensearch, indexPrefix);

    harness = new FirehoseHarness({
      kinesis,
      s3,
      streamName,
      bucket: archiveBucket,
      deliveryStreamName: `soak-${runId}`,
      region: endpoints.region,
      // The processor buffer the deployed Firehose gets, as in the demo.
      bufferBytes: TRANSFORM_PROCESSOR_BUFFER_MB * 1_000_000,
      transformOptions: { logGroupSources: CloudWatchLogsSimulator.LOG_GROUP_SOURCES },
    });
    await harness.start();
    fleet = new Fleet({
      endpoints,
      opensearchUrl,
      streamName,
      leaseTable: `centralog-soak-leases-${runId}`,
      deadLetterBucket,
      indexPrefix,
      startTimeoutMs: options.startTimeout * 1000,
      env: { CENTRALOG_FAILOVER_TIME_MS: '10000', CENTRALOG_LOG_GROUP_SOURCES: JSON.stringify(CloudWatchLogsSimulator.LOG_GROUP_SOURCES) },
    });
    for (let i = 0; i < options.workers; i++) {
      const t = Date.now();
      const w = await fleet.add();
      console.error(`[setup] ${w.id} running after ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }

    const simulator = new CloudWatchLogsSimulator({ kinesis, streamName, accounts: 5, region: endpoints.region });
    await simulator.subscribe();
    const started = Date.now();
    const durationMs = options.minutes * 60_000;
    const elapsed = (now = Date.now()) => `${Math.round((now - started) / 1000)}s`;
    const run = simulator.run({ durationMs, ratePerSecond: options.rate });
    let kills = 0;
    const killed = new Set<FleetWorker>();
    const reportedExits = new Set<FleetWorker>();
    const restarts: Promise<void>[] = [];
    let pausedOnce = false;
    let peakRss = 0;
    let nextKill = started + options.killEvery * 1000;
    const pauseAt = started + pauseAtSeconds * 1000;
    let finished = false;
    let produceError: Error | undefined;
    void run.then(
      () => (finished = true),
      (err: Error) => {
        produceError = err;
        finished = true;
      },
    );
    let lastLine = 0;
    try {
      while (!finished) {
        await sleep(1000);
        if (harness.error) throw new Error(`the local Firehose stopped: ${harness.error.message}`);
        const now = Date.now();
        for (const w of fleet.workers) {
          if (alive(w)) peakRss = Math.max(peakRss, rssMiB(w.process.pid));
          else if (!killed.has(w) && !reportedExits.has(w)) {
            reportedExits.add(w);
            failures.push(`${w.id} exited on its own at ${elapsed(now)} (code ${w.process.exitCode}, signal ${w.process.signalCode}): ${tail(w)}`);
            console.error(`[${elapsed(now)}] ${w.id} exited on its own: ${tail(w)}`);
          }
        }
        if (now >= nextKill) {
          const victim = fleet.workers.filter(alive)[kills % options.workers];
          if (victim) {
            killed.add(victim);
            victim.process.kill('SIGKILL');
          }
          kills++;
          // Started in the background: the loop keeps sampling and timing while the new worker boots.
          const f = fleet;
          const t = Date.now();
          restarts.push(
            f.add().then(
              (w) => console.error(`[${elapsed()}] ${w.id} running after ${((Date.now() - t) / 1000).toFixed(1)} s`),
              (err: Error) => void failures.push(`replacement for ${victim?.id ?? '(none)'}: ${err.message} ${tail(f.workers.at(-1))}`),
            ),
          );
          nextKill += options.killEvery * 1000;
          console.error(`[${elapsed(now)}] SIGKILL ${victim?.id ?? '(no worker alive)'}; starting a new worker`);
        }
        if (!pausedOnce && now >= pauseAt) {
          process.kill(opensearchPid, 'SIGSTOP');
          frozenPid = opensearchPid;
          pausedOnce = true;
          console.error(`[${elapsed(now)}] OpenSearch frozen (SIGSTOP) for ${options.pauseFor} s`);
        }
        if (frozenPid !== undefined && now >= pauseAt + options.pauseFor * 1000) {
          thaw();
          console.error(`[${elapsed(now)}] OpenSearch resumed (SIGCONT)`);
        }
        if (now - lastLine >= 30_000) {
          lastLine = now;
          console.error(
            `[${elapsed(now)}] produced ${fmt(simulator.produced)}, archived ${fmt(harness.counters.linesArchived)}, workers alive ${fleet.workers.filter(alive).length}, peak RSS ${peakRss.toFixed(0)} MiB`,
          );
        }
      }
      if (produceError) throw new Error(`producing events failed: ${produceError.message}`);
      await Promise.all(restarts);
    } finally {
      thaw();
    }

    // Drain: wait for the archive and the index to hold every produced event.
    const drainStarted = Date.now();
    const deadline = drainStarted + options.drainTimeout * 1000;
    const pattern = `${indexPrefix}-aws.*`;
    let indexedDocs = 0;
    let lastDrainLine = 0;
    for (;;) {
      for (const w of fleet.workers.filter(alive)) peakRss = Math.max(peakRss, rssMiB(w.process.pid));
      try {
        await opensearch.indices.refresh({ index: pattern, allow_no_indices: true, ignore_unavailable: true });
        indexedDocs = ((await opensearch.count({ index: pattern, allow_no_indices: true, ignore_unavailable: true } as never)).body as unknown as { count: number }).count;
      } catch (err) {
        console.error(`[drain] counting documents failed (asking again): ${(err as Error).message}`);
      }
      if (harness.error) throw new Error(`the local Firehose stopped: ${harness.error.message}`);
      const archived = harness.counters.linesArchived;
      if (indexedDocs >= simulator.produced && archived >= simulator.produced) break;
      if (Date.now() > deadline) {
        failures.push(
          `not drained after ${options.drainTimeout} s: archived ${fmt(archived)} and indexed ${fmt(indexedDocs)} of ${fmt(simulator.produced)} (raise --drain-timeout, or see which one stalls)`,
        );
        break;
      }
      if (Date.now() - lastDrainLine >= 15_000) {
        lastDrainLine = Date.now();
        console.error(`[drain ${Math.round((Date.now() - drainStarted) / 1000)}s] archived ${fmt(archived)}, indexed ${fmt(indexedDocs)} of ${fmt(simulator.produced)}`);
      }
      await sleep(2000);
    }
    const drainSeconds = Math.round((Date.now() - drainStarted) / 1000);
    await fleet.stop();
    await harness.stop();
    const account = await accountForEvents(simulator.producedKeys, { s3, archiveBucket, deadLetterBucket, opensearch, indexPattern: pattern });
    if (account.produced === 0) failures.push('no events were produced');
    if (account.unaccounted > 0) failures.push(`${fmt(account.unaccounted)} events unaccounted for (not archived, or neither indexed nor dead-lettered)`);
    if (account.duplicates > 0) failures.push(`${fmt(account.duplicates)} duplicate documents in OpenSearch`);
    if (account.archiveDuplicates > 0) failures.push(`${fmt(account.archiveDuplicates)} extra copies in the archive`);
    if (kills === 0) failures.push('no worker was killed');
    if (!pausedOnce) failures.push('OpenSearch was never frozen');
    if (peakRss > options.maxRssMib) failures.push(`peak worker RSS ${peakRss.toFixed(0)} MiB passed the ${options.maxRssMib} MiB bound`);
    const c = harness.counters;
    const rows: Array<[string, string]> = [
      ['produced (log events)', `${fmt(account.produced)} at ${fmt(options.rate)}/s for ${options.minutes} min, ${options.shards} shards`],
      ['in the S3 archive', `${fmt(account.archived)} (extra copies ${fmt(account.archiveDuplicates)})`],
      ['in OpenSearch', `${fmt(account.indexed)} (duplicates ${fmt(account.duplicates)})`],
      ['unaccounted', fmt(account.unaccounted)],
      ['Firehose', `${fmt(c.invocations)} invocations, ${fmt(c.retries)} retries, ${fmt(c.reingestedRecords)} records re-ingested, ${fmt(c.processingFailed)} processing-failed`],
      ['workers killed (SIGKILL) and replaced', `${kills} (every ${options.killEvery} s, ${options.workers} workers)`],
      ['OpenSearch frozen', pausedOnce ? `${options.pauseFor} s at ${pauseAtSeconds} s` : 'no'],
      ['peak worker RSS', `${peakRss.toFixed(0)} MiB (bound ${options.maxRssMib})`],
      ['drained after production', `${drainSeconds} s`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log('');
    for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
    console.log('');
    if (failures.length === 0) console.log('SOAK PASSED: every event archived once and indexed once');
    else {
      console.log('SOAK FAILED:');
      for (const f of failures) console.log(`  - ${f}`);
    }
    return failures.length === 0;
  } finally {
    thaw();
    await fleet?.stop().catch(() => undefined);
    await harness?.stop().catch(() => undefined);
    if (stackChild) await stopStack(stackChild);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rmSync(workDir, { recursive: true, force: true });
  }
}

const program = new Command('soak')
  .description(
    'Soak test: the pipeline under steady load for minutes, consume processes killed with SIGKILL and replaced, OpenSearch frozen once; passes only if every event is archived once and indexed once and worker memory stays bounded. Every service runs on 127.0.0.1, OpenSearch included (its own node).',
  )
  .addHelpText('after', '\nExamples:\n  npm run soak                                   # 10 min at 2,000 events/s\n  npm run soak -- --minutes 3 --rate 500 --kill-every 60 --pause-for 20');
addSchemaOptions(program, SoakOptionsSchema);
program.action(async (raw: Record<string, unknown>) => {
  try {
    const ok = await soak(resolveOptions(SoakOptionsSchema, { flags: raw }));
    process.exitCode = ok ? 0 : 1;
  } catch (err) {
    console.log(`SOAK FAILED: ${err instanceof ConfigError ? err.message : ((err as Error).stack ?? String(err))}`);
    process.exitCode = err instanceof ConfigError ? 2 : 1;
  }
});
await program.parseAsync(process.argv);
