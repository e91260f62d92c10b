import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tailLine } from '../../cli/commands/tail.ts';
import { tailStream, type TailEvent } from '../../cli/ops/tail.ts';
import { LeaseTable } from '../../consumers/leases/index.ts';
import { DeadLetterSink, undecodableRecord } from '../../consumers/sinks/index.ts';
import { utcParts } from '../../processors/index.ts';
import { waitFor } from '../helpers.ts';
import { runCli, startPipeline, type PipelineFixture } from './cli-fixture.ts';

describe('centralog status and tail', () => {
  let p: PipelineFixture;

  beforeAll(async () => {
    p = await startPipeline({ events: 300, accounts: 2, shards: 2 });
  });
  afterAll(async () => {
    await p?.stop();
  });

  describe('status', () => {
    it('shows no worker and every shard caught up once the consumer has stopped; documents of today per family', async () => {
      const run = await runCli(['status', '--json', '--sample-ms', '0'], p.env);
      expect(run.code, run.stderr).toBe(0);
      const s = run.json();
      expect(s.shards.shards).toHaveLength(2);
      for (const shard of s.shards.shards) {
        expect(shard).toMatchObject({ state: 'open', lagMs: 0 });
        expect(shard.owner).toBeUndefined();
        expect(shard.checkpoint).toMatch(/^\d+$/);
        expect(shard.checkpointAgeMs).toBeGreaterThanOrEqual(0);
      }
      expect(s.shards.workers).toEqual([]);
      expect(s.firehose).toBeNull();
      const { year, month, day } = utcParts(new Date());
      const today = await p.stack.opensearch.cat.indices({ index: `${p.prefix}-aws.*-${year}.${month}.${day}`, format: 'json', h: 'docs.count' } as never);
      const expected = (today.body as unknown as Array<Record<string, string>>).reduce((n, r) => n + Number(r['docs.count']), 0);
      expect(Object.values(s.documents as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(expected);
      expect(s.deadLetters).toMatchObject({ lastHour: 0, lastDay: 0 });
      expect(s.alerts).toEqual([]);
    });

    it('tells a live worker from a lease owner that stopped renewing, and shows lag while records wait', async () => {
      const worker = p.worker('status-live');
      await worker.start();
      try {
        await waitFor('the worker to hold both leases', () => worker.heldShards.length === 2, 20_000);
        const live = (await runCli(['status', '--json', '--sample-ms', '2500'], p.env)).json();
        expect(live.shards.workers).toEqual([{ workerId: 'status-live', leases: 2, alive: true }]);
      } finally {
        await worker.stop();
      }
      // A worker killed without releasing: its lease stays owned, its counter stops moving.
      const table = new LeaseTable(p.stack.dynamodb, p.leaseTable);
      const [lease] = await table.list();
      await table.take(lease!, 'killed-worker');
      await p.simulator.produce(20);
      await new Promise((r) => setTimeout(r, 1200));
      const run = await runCli(['status', '--sample-ms', '1500'], p.env);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/killed-worker \(not renewing\)/);
      expect(run.stdout).toMatch(/killed-worker\s+1\s+NO/);
      const lagging = (await runCli(['status', '--json', '--sample-ms', '0'], p.env)).json();
      expect(Math.max(...lagging.shards.shards.map((s: any) => s.lagMs))).toBeGreaterThanOrEqual(1200);
    });

    it('counts recent dead letters by cause, lag per account and log group from event.ingested, and alerts', async () => {
      const at = { streamName: p.streamName, shardId: 'shardId-000000000000', sequenceNumber: '1', arrivedAt: new Date().toISOString() };
      await new DeadLetterSink(p.stack.s3, p.deadLetterBucket).write([undecodableRecord(at, Buffer.from('not gzip'), 'compression: not gzip')]);
      const now = Date.now();
      const { year, month, day } = utcParts(new Date(now));
      await p.stack.opensearch.index({
        index: `${p.prefix}-aws.cloudwatch_logs-${year}.${month}.${day}`,
        refresh: true,
        body: { '@timestamp': new Date(now - 5000).toISOString(), event: { ingested: new Date(now).toISOString() }, aws: { cloudwatch: { owner: '999999999999', log_group: '/lagging/group' } } },
      } as never);
      await p.stack.opensearch.indices.create({ index: `${p.prefix}-alerts-${year}.${month}`, body: { mappings: { properties: { '@timestamp': { type: 'date' }, rule: { properties: { name: { type: 'keyword' } } } } } } } as never);
      await p.stack.opensearch.index({ index: `${p.prefix}-alerts-${year}.${month}`, refresh: true, body: { '@timestamp': new Date(now).toISOString(), rule: { name: 'Root console login' } } } as never);

      const s = (await runCli(['status', '--json', '--sample-ms', '0'], p.env)).json();
      expect(s.deadLetters).toMatchObject({ lastHour: 1, lastDay: 1, reasons: [{ reason: 'decode compression: not gzip', count: 1 }] });
      // Beside the pipeline's own documents, which the consumer stamps with event.ingested too.
      expect(s.lag).toContainEqual({ account: '999999999999', logGroup: '/lagging/group', documents: 1, p50Ms: 5000, p99Ms: 5000, maxMs: 5000 });
      expect(s.lag.length).toBeGreaterThan(1);
      expect(s.alerts).toEqual([{ rule: 'Root console login', count: 1 }]);
      const text = await runCli(['status', '--sample-ms', '0'], p.env);
      expect(text.stdout).toMatch(/999999999999\s+\/lagging\/group\s+1\s+5\.0 s/);
      expect(text.stdout).toMatch(/last hour 1, last day 1/);
      expect(text.stdout).toMatch(/Root console login\s+1/);
    });

    it('a part that cannot be read says why, the others still show, and the exit code is 1', async () => {
      const run = await runCli(['status', '--sample-ms', '0', '--dynamodb-endpoint', 'http://127.0.0.1:9'], p.env);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/shards of .*\n\s+unavailable: /);
      expect(run.stdout).toMatch(/documents today \(UTC\), per index family\n\s+aws\./);
    });
  });

  describe('tail', () => {
    it('prints every event of the stream from trim-horizon, decoded into the documents the consumer indexed', async () => {
      const run = await runCli(['tail', '--from', 'trim-horizon', '--json'], p.env);
      expect(run.code, run.stderr).toBe(0);
      const events = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as TailEvent);
      expect(new Set(events.map((e) => `${e.owner}|${e.logGroup}|${e.logStream}|${e.id}`))).toEqual(p.simulator.producedKeys);
      expect(run.stderr).toMatch(/CONTROL_MESSAGE record\(s\) skipped/);
      // Only what the fixture's consumer indexed: the status tests produced more while a stopped owner held a lease.
      const indexed = events.filter((e) => p.indexedKeys.has(`${e.owner}|${e.logGroup}|${e.logStream}|${e.id}`));
      const sample = [...new Set(indexed.map((e) => e.documentId))].slice(0, 50);
      expect(sample).toHaveLength(50);
      const found = await p.stack.opensearch.search({ index: `${p.prefix}-aws.*`, body: { size: 50, query: { ids: { values: sample } } } } as never);
      expect((found.body as any).hits.hits.map((h: any) => h._id).sort()).toEqual(sample.sort());
    });

    it('filters by source, account and log group, stops at --limit, and prints readable lines', async () => {
      const gd = await runCli(['tail', '--from', 'trim-horizon', '--source', 'guardduty'], p.env);
      const lines = gd.stdout.trim().split('\n');
      expect(lines).toHaveLength(p.simulator.producedBySource.guardduty);
      for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z \d{12} \/aws\/events\/guardduty \[guardduty\] severity [\d.]+ \S+: /);
      const some = await runCli(['tail', '--from', 'trim-horizon', '--account', '111111111111', '--log-group', '/aws/vpc/*', '--limit', '5'], p.env);
      const five = some.stdout.trim().split('\n');
      expect(five).toHaveLength(5);
      for (const l of five) expect(l).toMatch(/ 111111111111 \/aws\/vpc\/flowlogs \[vpcflow\] (ACCEPT|REJECT|NODATA|SKIPDATA)/);
      expect((await runCli(['tail', '--from', 'sometime'], p.env)).stderr).toMatch(/--from: expected trim-horizon, latest/);
    });

    it('--follow from latest shows only what arrives after it started, until stopped', async () => {
      const stop = new AbortController();
      const seen: TailEvent[] = [];
      const following = tailStream(p.stack.kinesis, {
        streamName: p.streamName,
        start: { type: 'LATEST' },
        follow: true,
        indexPrefix: p.prefix,
        signal: stop.signal,
        onEvent: (e) => seen.push(e),
        onProblem: () => undefined,
      });
      await new Promise((r) => setTimeout(r, 1500));
      const before = new Set(p.simulator.producedKeys);
      await p.simulator.produce(30);
      await waitFor('the new events', () => seen.length >= 30, 15_000);
      stop.abort();
      await following;
      const fresh = [...p.simulator.producedKeys].filter((k) => !before.has(k));
      expect(new Set(seen.map((e) => `${e.owner}|${e.logGroup}|${e.logStream}|${e.id}`))).toEqual(new Set(fresh));
      expect(tailLine(seen[0]!)).toContain(seen[0]!.owner);
    });
  });
});
