import { GetRecordsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { Client } from '@opensearch-project/opensearch';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConsumerOptions, runConsume } from '../../cli/consume.ts';
import { readDeadLetters } from '../../cli/verify.ts';
import { createKinesisClient } from '../../consumers/aws-clients.ts';
import { LeaseTable, TRIM_HORIZON } from '../../consumers/leases/lease-table.ts';
import { createOpenSearchClient } from '../../consumers/opensearch-client.ts';
import { listShards } from '../../consumers/retrieval/list-shards.ts';
import type { BreakerOptions } from '../../consumers/scheduler/breaker.ts';
import { Worker } from '../../consumers/scheduler/worker.ts';
import { DeadLetterSink } from '../../consumers/sinks/dead-letter.ts';
import { BulkSink } from '../../consumers/sinks/opensearch-bulk.ts';
import { startStatusServer } from '../../consumers/status-server.ts';
import { baseComponentTemplate, checkIndexTemplates, indexTemplates, installIndexTemplates } from '../../infra/opensearch/index.ts';
import { startFaultProxy, unmappedRole } from '../../local/fault-proxy.ts';
import { documentId, indexName } from '../../processors/index.ts';
import { createBucket, createStream, plainEventRecord, startTestStack, uniqueName, waitFor } from '../helpers.ts';

type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;
const prefixes: string[] = [];
// Event days inside the window a document may name its own daily index in (recent past), each its own index.
const DAY = Date.now() - 2 * 86_400_000;
const NEXT_DAY = DAY + 86_400_000;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  for (const p of prefixes) {
    await stack.opensearch.indices.delete({ index: `${p}-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
    for (const name of [...indexTemplates(p).map((t) => t.name), `${p}-foreign`]) await stack.opensearch.indices.deleteIndexTemplate({ name }).catch(() => undefined);
    await stack.opensearch.cluster.deleteComponentTemplate({ name: baseComponentTemplate(p).name }).catch(() => undefined);
  }
  await stack?.stop();
});

function newPrefix(name: string): string {
  const p = uniqueName(`sr-${name}`).toLowerCase();
  prefixes.push(p);
  return p;
}

/** One shard, one worker with one in-flight slot, GetRecords counted, logs kept; each event is one record. */
async function scenario(prefix: string, opts: { opensearch?: Client; breaker?: BreakerOptions; perRead?: number } = {}) {
  const streamName = uniqueName('refusals');
  const bucket = uniqueName('dead-letters');
  await createStream(stack.kinesis, streamName, 1);
  await createBucket(stack.s3, bucket);
  const [shard] = await listShards(stack.kinesis, streamName);
  const shardId = shard!.ShardId!;
  const leases = new LeaseTable(stack.dynamodb, uniqueName('leases'));
  const kinesis = createKinesisClient(stack.endpoints);
  let reads = 0;
  const send = kinesis.send.bind(kinesis) as (command: unknown, options?: unknown) => Promise<unknown>;
  (kinesis as unknown as { send: typeof send }).send = (command, o) => {
    if (command instanceof GetRecordsCommand) reads++;
    return send(command, o);
  };
  const logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const worker = new Worker({
    workerId: uniqueName('worker'),
    kinesis,
    streamName,
    leases,
    bulk: new BulkSink(opts.opensearch ?? stack.opensearch, { maxAttempts: 2, baseDelayMs: 20 }),
    deadLetters: new DeadLetterSink(stack.s3, bucket),
    indexPrefix: prefix,
    reader: { limit: opts.perRead ?? 10_000, idleBackoffMs: 100 },
    maxInFlightBatches: 1,
    retryDelayMs: 50,
    breaker: opts.breaker,
    shutdownTimeoutMs: 500,
    log: (level, message, fields) => logs.push({ level, message, fields }),
  });
  const ids: string[] = [];
  let lastSequence = '';
  /** Writes one record per event, at `timestamp`; events `poison.at` picks are at `poison.timestamp` instead. */
  const put = async (n: number, timestamp = DAY, poison?: { at: (i: number) => boolean; timestamp: number }) => {
    const batch = Array.from({ length: n }, (_, i) => `${String(ids.length + i).padStart(8, '0')}${Date.now()}`.padEnd(56, '0'));
    const out = await stack.kinesis.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: batch.map((id, i) => ({ PartitionKey: 'p', Data: plainEventRecord('s', id, `event ${id}`, poison?.at(i) ? poison.timestamp : timestamp) })),
      }),
    );
    expect(out.FailedRecordCount).toBe(0);
    ids.push(...batch);
    lastSequence = out.Records!.at(-1)!.SequenceNumber!;
    return { ids: batch, sequences: out.Records!.map((r) => r.SequenceNumber!) };
  };
  const metric = async (name: string, cause: string) => {
    const m = (await worker.metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
    return (m?.values ?? []).filter((v) => v.labels.cause === cause).reduce((n, v) => n + v.value, 0);
  };
  return {
    worker,
    logs,
    put,
    ids,
    get lastSequence() {
      return lastSequence;
    },
    reads: () => reads,
    checkpoint: async () => (await leases.get(shardId))?.checkpoint,
    deadLetters: () => readDeadLetters(stack.s3, bucket),
    refusals: (cause: string) => metric('centralog_consumer_systemic_refusals_total', cause),
    paused: (cause: string) => metric('centralog_consumer_paused_shards', cause),
    /** Each event is one document, under its deterministic id, in one index (works with or without the templates). */
    indexedOnce: async (expected: string[]) => {
      await stack.opensearch.indices.refresh({ index: `${prefix}-aws.*` });
      const docIds = expected.map((id) => documentId({ owner: '210987654321', logGroup: '/app/plain', logStream: 's' }, id));
      const res = await stack.opensearch.search({ index: `${prefix}-aws.*`, body: { size: 1000, query: { ids: { values: docIds } } } } as never);
      const hits = (res.body as unknown as { hits: { hits: Array<{ _id: string }> } }).hits.hits.map((h) => h._id);
      return hits.length === docIds.length && new Set(hits).size === docIds.length;
    },
  };
}
type Scenario = Awaited<ReturnType<typeof scenario>>;

/**
 * While the cause lasts: several attempts refused with `cause`, the checkpoint where it was,
 * nothing read, nothing dead-lettered, the shard paused and /healthz degraded with the reason.
 */
async function expectHeld(s: Scenario, cause: string, checkpoint: string | undefined, reason: RegExp, deadLettered = 0) {
  await waitFor(`3 attempts refused with ${cause}`, async () => (await s.refusals(cause)) >= 3, 20_000);
  const reads = s.reads();
  await sleep(1000);
  expect(s.reads()).toBe(reads);
  expect(await s.checkpoint()).toBe(checkpoint);
  expect(await s.deadLetters()).toHaveLength(deadLettered);
  expect(await s.paused(cause)).toBe(1);
  const health = s.worker.health();
  expect(health).toMatchObject({ healthy: true, status: 'degraded', degraded: [{ cause, shards: [expect.any(String)] }] });
  expect(`${health.degraded![0]!.reason} ${health.degraded![0]!.advice}`).toMatch(reason);
  expect(s.logs.some((l) => l.level === 'error' && l.fields?.cause === cause && reason.test(l.message))).toBe(true);
}

/** Once the cause is gone: every event indexed once, the checkpoint at the last record, health back to ok. */
async function expectResumed(s: Scenario, cause: string, deadLettered = 0) {
  const expected = s.ids.length - deadLettered;
  await waitFor('every event indexed after the cause went', () => s.worker.counters.created >= expected, 30_000);
  await waitFor('checkpoint at the last record', async () => (await s.checkpoint()) === s.lastSequence, 10_000);
  expect(s.worker.counters.created).toBe(expected);
  expect(await s.paused(cause)).toBe(0);
  expect(s.worker.health()).toMatchObject({ status: 'ok' });
  expect(s.worker.health().degraded).toBeUndefined();
  expect(s.logs.some((l) => l.message.startsWith('OpenSearch accepts writes again'))).toBe(true);
}

describe('systemic refusals hold the batch like an outage, then resume by themselves', () => {
  it('an index write-blocked mid-stream: held, nothing dead-lettered; every event indexed once after the block is removed', async () => {
    const prefix = newPrefix('block');
    await installIndexTemplates(stack.opensearch, prefix);
    const s = await scenario(prefix);
    await s.worker.start();
    try {
      await s.put(10);
      await waitFor('first 10 indexed', () => s.worker.counters.created >= 10);
      const before = s.lastSequence;
      await waitFor('first checkpoint', async () => (await s.checkpoint()) === before);
      const index = indexName(prefix, 'cloudwatch_logs', new Date(DAY));
      await stack.opensearch.indices.putSettings({ index, body: { 'index.blocks.write': true } });
      try {
        await s.put(10);
        await expectHeld(s, 'write_block', before, new RegExp(`index ${index.replace(/\./g, '\\.')} is write-blocked`));
      } finally {
        await stack.opensearch.indices.putSettings({ index, body: { 'index.blocks.write': false } });
      }
      await expectResumed(s, 'write_block');
      expect(await s.indexedOnce(s.ids)).toBe(true);
      expect(await s.deadLetters()).toEqual([]);
    } finally {
      await s.worker.stop();
    }
  });

  it('auto-create off and no templates: held with index_not_found; every event indexed once when creation is allowed again', async () => {
    const prefix = newPrefix('autocreate');
    const s = await scenario(prefix);
    const settings = (await stack.opensearch.cluster.getSettings()).body as { persistent?: { action?: { auto_create_index?: string } } };
    const previous = settings.persistent?.action?.auto_create_index ?? null;
    // Off for this test's indices only: the node is shared with other tests.
    await stack.opensearch.cluster.putSettings({ body: { persistent: { 'action.auto_create_index': `-${prefix}-*,${previous ?? '+*'}` } } });
    try {
      await s.worker.start();
      await s.put(10);
      await expectHeld(s, 'index_missing', TRIM_HORIZON, /auto-create is off .*centralog bootstrap/);
    } finally {
      await stack.opensearch.cluster.putSettings({ body: { persistent: { 'action.auto_create_index': previous } } });
    }
    try {
      await expectResumed(s, 'index_missing');
      expect(await s.indexedOnce(s.ids)).toBe(true);
      expect(await s.deadLetters()).toEqual([]);
    } finally {
      await s.worker.stop();
    }
  });

  it('403 security_exception for every bulk item, then for the whole request: held, /healthz degraded naming the role; resumes once allowed', async () => {
    const prefix = newPrefix('security');
    await installIndexTemplates(stack.opensearch, prefix);
    const proxy = await startFaultProxy(stack.opensearchUrl);
    const s = await scenario(prefix, { opensearch: createOpenSearchClient(proxy.url) });
    const status = await startStatusServer({ registry: s.worker.metrics.registry, health: () => s.worker.health() });
    await s.worker.start();
    try {
      await s.put(5);
      await waitFor('first 5 indexed', () => s.worker.counters.created >= 5);
      const before = s.lastSequence;
      await waitFor('first checkpoint', async () => (await s.checkpoint()) === before);
      proxy.setMode(unmappedRole('items'));
      await s.put(5);
      const role = /map the role arn:aws:iam::123456789012:role\/centralog-consumer in OpenSearch security/;
      await expectHeld(s, 'authorisation', before, role);
      const res = await fetch(`${status.url}/healthz`);
      // Degraded, not unhealthy: restarting the worker would not map the role.
      expect(res.status).toBe(200);
      const body = (await res.json()) as { status: string; degraded: Array<{ cause: string; reason: string; advice: string }> };
      expect(body).toMatchObject({ status: 'degraded', degraded: [{ cause: 'authorisation', reason: expect.stringContaining('security_exception') }] });
      expect(body.degraded[0]!.advice).toMatch(role);
      const metrics = await (await fetch(`${status.url}/metrics`)).text();
      expect(metrics).toMatch(/centralog_consumer_paused_shards\{cause="authorisation"\} 1/);

      const itemRefusals = await s.refusals('authorisation');
      proxy.setMode(unmappedRole('request'));
      await waitFor('whole requests refused too', async () => (await s.refusals('authorisation')) >= itemRefusals + 2, 20_000);
      expect(await s.checkpoint()).toBe(before);
      expect(await s.deadLetters()).toEqual([]);
      proxy.setMode({ kind: 'pass' });
      await expectResumed(s, 'authorisation');
      expect(await s.indexedOnce(s.ids)).toBe(true);
      expect(((await (await fetch(`${status.url}/healthz`)).json()) as { status: string }).status).toBe('ok');
    } finally {
      await s.worker.stop();
      await status.stop();
      await proxy.stop();
    }
  });

  it('a deleted template under traffic makes every document conflict: the breaker pauses on the configured batch; resumes once fixed', async () => {
    const prefix = newPrefix('breaker');
    await installIndexTemplates(stack.opensearch, prefix);
    const s = await scenario(prefix, { breaker: { share: 0.5, batches: 2 }, perRead: 5 });
    await s.worker.start();
    const family = indexTemplates(prefix).find((t) => t.name.endsWith('cloudwatch_logs'))!;
    const foreign = `${prefix}-foreign`;
    try {
      await s.put(5);
      await waitFor('first 5 indexed', () => s.worker.counters.created >= 5);
      // The template goes; a lower-priority foreign one (as another tool installs) now maps the next day's index.
      await stack.opensearch.indices.deleteIndexTemplate({ name: family.name });
      await stack.opensearch.indices.putIndexTemplate({
        name: foreign,
        body: { index_patterns: [`${prefix}-aws.*`], priority: 1, template: { mappings: { properties: { '@timestamp': { type: 'long' } } } } },
      });
      const { ids, sequences } = await s.put(15, NEXT_DAY);
      await waitFor('the breaker tripped', async () => (await s.refusals('breaker')) >= 1, 20_000);
      // The first flooded batch went to dead letters (the breaker had seen one batch), the second is held.
      const letters = await s.deadLetters();
      expect(letters.length).toBeGreaterThan(0);
      expect(letters.length).toBeLessThan(15);
      expect(letters.every((l) => /^index 400: mapper_parsing_exception/.test(l.reason))).toBe(true);
      expect(new Set(letters.map((l) => l.event!.id))).toEqual(new Set(ids.slice(0, letters.length)));
      const reason = /documents refused with mapper_parsing_exception \[@timestamp\] in 2 consecutive batches/;
      await expectHeld(s, 'breaker', sequences[letters.length - 1], reason, letters.length);

      await stack.opensearch.indices.deleteIndexTemplate({ name: foreign });
      await stack.opensearch.indices.delete({ index: indexName(prefix, 'cloudwatch_logs', new Date(NEXT_DAY)) });
      await installIndexTemplates(stack.opensearch, prefix);
      await expectResumed(s, 'breaker', letters.length);
      expect(await s.indexedOnce(s.ids.filter((id) => !letters.some((l) => l.event!.id === id)))).toBe(true);
    } finally {
      await s.worker.stop();
      await stack.opensearch.indices.deleteIndexTemplate({ name: foreign }).catch(() => undefined);
    }
  });

  it('a single poison document among good ones is still dead-lettered alone, batch after batch', async () => {
    const prefix = newPrefix('poison');
    await installIndexTemplates(stack.opensearch, prefix);
    // Its own day's index maps `message` as a number: the plain-text event there conflicts.
    const poisonDay = DAY - 86_400_000;
    await stack.opensearch.indices.create({ index: indexName(prefix, 'cloudwatch_logs', new Date(poisonDay)), body: { mappings: { properties: { message: { type: 'long' } } } } });
    const s = await scenario(prefix, { breaker: { share: 0.5, batches: 1 }, perRead: 10 });
    // Written before the worker starts, so every read is 10 records holding one poison document.
    const { ids } = await s.put(30, DAY, { at: (i) => i % 10 === 4, timestamp: poisonDay });
    await s.worker.start();
    try {
      await waitFor('30 events handled', () => s.worker.counters.eventsIn >= 30);
      await waitFor('checkpoint at the last record', async () => (await s.checkpoint()) === s.lastSequence);
      const letters = await s.deadLetters();
      expect(letters.map((l) => l.event!.id).sort()).toEqual([ids[4], ids[14], ids[24]].sort());
      expect(letters.every((l) => /^index 400: mapper_parsing_exception/.test(l.reason))).toBe(true);
      expect(s.worker.counters.created).toBe(27);
      expect(await s.refusals('breaker')).toBe(0);
      expect(s.worker.health().status).toBe('ok');
    } finally {
      await s.worker.stop();
    }
  });
});

describe('index templates at start', () => {
  it('refuses to start, saying what to run, when templates are missing or not the shipped version and it may not install them', async () => {
    const prefix = newPrefix('tpl');
    const streamName = uniqueName('tpl');
    await createStream(stack.kinesis, streamName, 1);
    const flags = {
      streamName,
      deadLetterBucket: 'tpl-dead-letters',
      opensearchUrl: stack.opensearchUrl,
      kinesisEndpoint: stack.endpoints.kinesis,
      dynamodbEndpoint: stack.endpoints.dynamodb,
      s3Endpoint: stack.endpoints.s3,
      leaseTable: uniqueName('leases'),
      indexPrefix: prefix,
      statusPort: 0,
      logLevel: 'error',
    };
    const run = (installTemplates: boolean) => runConsume(resolveConsumerOptions({ ...flags, installTemplates }, {}), AbortSignal.abort());
    const fix = `Run: centralog bootstrap --opensearch-url ${stack.opensearchUrl} --index-prefix ${prefix}`;
    await expect(run(false)).rejects.toThrow(`index templates for ${prefix}-aws.* missing: ${prefix}-aws-base, ${prefix}-aws.cloudtrail`);
    await expect(run(false)).rejects.toThrow(fix);

    await run(true);
    expect(await checkIndexTemplates(stack.opensearch, prefix)).toEqual({ ok: true, missing: [], outdated: [] });
    await run(false);

    // An older release's template (same name, other mappings): not the shipped version.
    const vpc = indexTemplates(prefix).find((t) => t.name.endsWith('vpcflow'))!;
    await stack.opensearch.indices.putIndexTemplate({ name: vpc.name, body: { ...vpc.body, priority: 99, _meta: { managed_by: 'centralog', template_version: 'older' } } });
    await expect(run(false)).rejects.toThrow(new RegExp(`not the shipped version: ${vpc.name} \\(older, ships [0-9a-f]{16}\\).*${fix}`));
    await run(true);
    expect((await checkIndexTemplates(stack.opensearch, prefix)).ok).toBe(true);
  });
});
