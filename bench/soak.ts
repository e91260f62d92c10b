// `npm run soak`: the whole pipeline for minutes under steady load, with consumer processes
// killed and restarted and OpenSearch frozen once; then every event must be in S3 once and in
// OpenSearch once. Not part of `npm test`: it takes over ten minutes. Loopback only.
import { CreateStreamCommand, waitUntilStreamExists } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { addSchemaOptions } from '../cli/options.ts';
import { accountForEvents } from '../cli/verify.ts';
import { createKinesisClient, createOpenSearchClient, createS3Client, optionFields, resolveOptions } from '../consumers/index.ts';
import { installIndexTemplates } from '../infra/opensearch/index.ts';
import { CloudWatchLogsSimulator, FirehoseHarness, startLocalStack } from '../local/index.ts';
import { Fleet, type FleetWorker } from '../test/fleet.ts';

const { int, positive } = optionFields;
const SoakOptionsSchema = z.object({
  minutes: positive(120).default(10).meta({ description: 'how long to produce events', arg: 'minutes' }),
  rate: positive(20_000).default(2000).meta({ description: 'log events per second', arg: 'n' }),
  workers: int(1, 16).default(3).meta({ description: 'consume processes', arg: 'n' }),
  shards: int(1, 64).default(6).meta({ description: 'Kinesis shards', arg: 'n' }),
  killEvery: positive(3600).default(120).meta({ description: 'SIGKILL one worker and start a new one this often', arg: 'seconds' }),
  pauseAt: positive(7200).default(300).meta({ description: 'freeze OpenSearch (SIGSTOP) this long after the start', arg: 'seconds' }),
  pauseFor: positive(600).default(30).meta({ description: 'how long OpenSearch stays frozen', arg: 'seconds' }),
  maxRssMib: positive(16_384).default(512).meta({ description: 'fail when a worker\'s peak RSS passes this', arg: 'MiB' }),
  drainTimeout: positive(3600).default(300).meta({ description: 'how long to wait for the pipeline to catch up', arg: 'seconds' }),
});

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

async function soak(options: z.infer<typeof SoakOptionsSchema>): Promise<boolean> {
  const workDir = mkdtempSync(join(tmpdir(), 'centralog-soak-'));
  const runId = Date.now().toString(36);
  const stack = await startLocalStack({ workDir, onStatus: (m) => console.error(m) });
  let harness: FirehoseHarness | undefined;
  let fleet: Fleet | undefined;
  try {
    if (!stack.opensearch) throw new Error('the soak test freezes its own OpenSearch node: unset CENTRALOG_OPENSEARCH_URL');
    const { endpoints } = stack;
    const kinesis = createKinesisClient(endpoints);
    const s3 = createS3Client(endpoints);
    const opensearch = createOpenSearchClient(stack.opensearchUrl);
    const streamName = `centralog-soak-${runId}`;
    const archiveBucket = `centralog-soak-archive-${runId}`;
    const deadLetterBucket = `centralog-soak-dead-${runId}`;
    const indexPrefix = `soak-${runId}`;
    await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: options.shards }));
    await waitUntilStreamExists({ client: kinesis, maxWaitTime: 60, minDelay: 1 }, { StreamName: streamName });
    for (const Bucket of [archiveBucket, deadLetterBucket]) await s3.send(new CreateBucketCommand({ Bucket }));
    await installIndexTemplates(opensearch, indexPrefix);

    harness = new FirehoseHarness({ kinesis, s3, streamName, bucket: archiveBucket, deliveryStreamName: `soak-${runId}`, region: endpoints.region });
    await harness.start();
    fleet = new Fleet({ endpoints, opensearchUrl: stack.opensearchUrl, streamName, leaseTable: `centralog-soak-leases-${runId}`, deadLetterBucket, indexPrefix, env: { CENTRALOG_FAILOVER_TIME_MS: '10000' } });
    for (let i = 0; i < options.workers; i++) await fleet.add();

    const simulator = new CloudWatchLogsSimulator({ kinesis, streamName, accounts: 5, region: endpoints.region });
    await simulator.subscribe();
    const started = Date.now();
    const durationMs = options.minutes * 60_000;
    const run = simulator.run({ durationMs, ratePerSecond: options.rate });
    let kills = 0;
    const restarts: Promise<void>[] = [];
    const restartFailures: string[] = [];
    let paused = false;
    let pausedOnce = false;
    let peakRss = 0;
    let nextKill = started + options.killEvery * 1000;
    const pauseAt = started + options.pauseAt * 1000;
    let finished = false;
    void run.finally(() => (finished = true));
    let lastLine = 0;
    const pid = stack.opensearch.pid;
    try {
      while (!finished) {
        await sleep(1000);
        if (harness.error) throw new Error(`the local Firehose stopped: ${harness.error.message}`);
        for (const w of fleet.workers.filter(alive)) peakRss = Math.max(peakRss, rssMiB(w.process.pid));
        const now = Date.now();
        if (now >= nextKill) {
          const victim = fleet.workers.filter(alive)[kills % options.workers];
          victim?.process.kill('SIGKILL');
          kills++;
          // Started in the background: the loop keeps sampling and timing while the new worker boots.
          const f = fleet;
          restarts.push(f.add().then(() => undefined, (err: Error) => void restartFailures.push(err.message)));
          nextKill += options.killEvery * 1000;
          console.error(`[${Math.round((now - started) / 1000)}s] SIGKILL ${victim?.id}; started a new worker`);
        }
        if (!pausedOnce && now >= pauseAt) {
          process.kill(pid, 'SIGSTOP');
          paused = pausedOnce = true;
          console.error(`[${Math.round((now - started) / 1000)}s] OpenSearch frozen (SIGSTOP) for ${options.pauseFor} s`);
        }
        if (paused && now >= pauseAt + options.pauseFor * 1000) {
          process.kill(pid, 'SIGCONT');
          paused = false;
          console.error(`[${Math.round((now - started) / 1000)}s] OpenSearch resumed (SIGCONT)`);
        }
        if (now - lastLine >= 30_000) {
          lastLine = now;
          console.error(`[${Math.round((now - started) / 1000)}s] produced ${fmt(simulator.produced)}, archived ${fmt(harness.counters.linesArchived)}, workers alive ${fleet.workers.filter(alive).length}, peak RSS ${peakRss.toFixed(0)} MiB`);
        }
      }
      await run;
      await Promise.all(restarts);
    } finally {
      if (paused) process.kill(pid, 'SIGCONT');
    }

    // Drain: wait for the archive and the index to hold every produced event.
    const deadline = Date.now() + options.drainTimeout * 1000;
    const pattern = `${indexPrefix}-aws.*`;
    for (;;) {
      for (const w of fleet.workers.filter(alive)) peakRss = Math.max(peakRss, rssMiB(w.process.pid));
      await opensearch.indices.refresh({ index: pattern, allow_no_indices: true, ignore_unavailable: true });
      const count = ((await opensearch.count({ index: pattern, allow_no_indices: true, ignore_unavailable: true } as never)).body as unknown as { count: number }).count;
      if ((count >= simulator.produced && harness.counters.linesArchived >= simulator.produced) || Date.now() > deadline) break;
      await sleep(2000);
    }
    const drainedAt = Date.now();
    await fleet.stop();
    await harness.stop();
    const account = await accountForEvents(simulator.producedKeys, { s3, archiveBucket, deadLetterBucket, opensearch, indexPattern: pattern });
    const ok =
      account.produced > 0 &&
      account.unaccounted === 0 &&
      account.duplicates === 0 &&
      account.archiveDuplicates === 0 &&
      kills > 0 &&
      restartFailures.length === 0 &&
      pausedOnce &&
      peakRss <= options.maxRssMib;
    const rows: Array<[string, string]> = [
      ['produced (log events)', `${fmt(account.produced)} at ${options.rate}/s for ${options.minutes} min`],
      ['in the S3 archive', `${fmt(account.archived)} (extra copies ${fmt(account.archiveDuplicates)})`],
      ['in OpenSearch', `${fmt(account.indexed)} (duplicates ${fmt(account.duplicates)})`],
      ['unaccounted', fmt(account.unaccounted)],
      ['workers killed (SIGKILL) and replaced', `${kills}${restartFailures.length ? ` (${restartFailures.length} replacement(s) failed: ${restartFailures[0]})` : ''}`],
      ['OpenSearch frozen', pausedOnce ? `${options.pauseFor} s at ${options.pauseAt} s` : 'no'],
      ['peak worker RSS', `${peakRss.toFixed(0)} MiB (limit ${options.maxRssMib})`],
      ['drained after production', `${Math.round((drainedAt - started - durationMs) / 1000)} s`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log('');
    for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
    console.log('');
    console.log(ok ? 'SOAK PASSED: every event archived once and indexed once' : 'SOAK FAILED');
    return ok;
  } finally {
    await fleet?.stop().catch(() => undefined);
    await harness?.stop().catch(() => undefined);
    await stack.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

const program = new Command('soak').description(
  'Soak test: the pipeline under steady load for minutes, consume processes killed with SIGKILL and replaced, OpenSearch frozen once; passes only if every event is archived once and indexed once and worker memory stays bounded.',
);
addSchemaOptions(program, SoakOptionsSchema);
program.action(async (raw: Record<string, unknown>) => {
  const ok = await soak(resolveOptions(SoakOptionsSchema, { flags: raw }));
  process.exitCode = ok ? 0 : 1;
});
await program.parseAsync(process.argv);
