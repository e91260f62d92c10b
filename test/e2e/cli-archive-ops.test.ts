import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeadLetters } from '../../cli/verify.ts';
import { documentCount, runCli, startPipeline, type PipelineFixture } from './cli-fixture.ts';

/** replay, reconcile (--repair) and redrive against a pipeline run on the real local stack. */
describe('centralog replay, reconcile and redrive', () => {
  let p: PipelineFixture;
  const range = ['--from', '1h', '--to', '5m'];

  beforeAll(async () => {
    p = await startPipeline({ events: 400, accounts: 2 });
  });
  afterAll(async () => {
    await p?.stop();
  });

  const keys = async (prefix: string) =>
    ((await p.stack.s3.send(new ListObjectsV2Command({ Bucket: p.deadLetterBucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);
  const ctAccount = () => '111111111111';

  it('reconcile finds every archived event indexed, per account, log group and hour', async () => {
    const run = await runCli(['reconcile', '--from', '1h', '--json'], p.env);
    expect(run.code, run.stderr).toBe(0);
    const report = run.json();
    expect(report.totals).toEqual({ archived: p.simulator.produced, indexed: p.simulator.produced, deadLettered: 0, missing: 0 });
    // 2 accounts x (flow logs, CloudTrail, GuardDuty) groups, all in this hour or the last.
    expect(new Set(report.rows.map((r: any) => `${r.account}|${r.logGroup}`)).size).toBe(6);
  });

  it('replay of the whole range creates nothing new: same ids, indices and documents as the pipeline', async () => {
    const before = await documentCount(p.stack, p.prefix);
    const run = await runCli(['replay', '--from', '1h', '--json'], p.env);
    expect(run.code, run.stderr).toBe(0);
    const s = run.json();
    expect(s).toMatchObject({ events: p.simulator.produced, created: 0, alreadyPresent: p.simulator.produced, deadLettered: 0 });
    expect(s.eventsPerSecond).toBeGreaterThan(0);
    expect(await documentCount(p.stack, p.prefix)).toBe(before);
    expect(run.stderr).toMatch(/replay: archive objects .*\d+\/\d+/);
  });

  it('replay filters by account, source and log group', async () => {
    const run = await runCli(['replay', '--from', '1h', '--account', ctAccount(), '--log-group', 'aws-cloudtrail-logs-*,/aws/events/*', '--json'], p.env);
    expect(run.code, run.stderr).toBe(0);
    const expected = [...p.simulator.producedKeys].filter((k) => k.startsWith(`${ctAccount()}|aws-cloudtrail-logs-`) || k.startsWith(`${ctAccount()}|/aws/events/`)).length;
    expect(expected).toBeGreaterThan(0);
    expect(run.json()).toMatchObject({ events: expected, alreadyPresent: expected, created: 0 });
    const flows = await runCli(['replay', '--from', '1h', '--source', 'vpcflow', '--json'], p.env);
    expect(flows.json().events).toBe(p.simulator.producedBySource.vpcflow);
  });

  it('reconcile names the account/log group/hour that lost documents, and --repair replays exactly those', async () => {
    const group = `aws-cloudtrail-logs-${ctAccount()}`;
    const lost = { bool: { filter: [{ term: { 'aws.cloudwatch.owner': ctAccount() } }, { term: { 'aws.cloudwatch.log_group': group } }] } };
    const deleted = await documentCount(p.stack, p.prefix, lost);
    expect(deleted).toBeGreaterThan(0);
    await p.stack.opensearch.deleteByQuery({ index: `${p.prefix}-aws.*`, refresh: true, body: { query: lost } } as never);

    const found = await runCli(['reconcile', '--from', '1h', '--json'], p.env);
    expect(found.code).toBe(1);
    const report = found.json();
    expect(report.totals.missing).toBe(deleted);
    const rows = report.rows.filter((r: any) => r.missing > 0);
    expect(rows.every((r: any) => r.account === ctAccount() && r.logGroup === group && r.indexed === 0 && r.missing === r.archived)).toBe(true);
    expect(rows[0].missingEventIds.length).toBeGreaterThan(0);

    const text = await runCli(['reconcile', '--from', '1h'], p.env);
    expect(text.stdout).toContain(group);
    expect(text.stdout).toMatch(new RegExp(`missing ${deleted}\\b`));

    const repaired = await runCli(['reconcile', '--from', '1h', '--repair', '--json'], p.env);
    expect(repaired.code, repaired.stderr).toBe(0);
    const r = repaired.json();
    // Only the missing hours' events of that one log group were replayed.
    expect(r.repair).toMatchObject({ events: deleted, created: deleted, alreadyPresent: 0 });
    expect(r.after.totals).toMatchObject({ archived: deleted, indexed: deleted, missing: 0 });
    expect(await documentCount(p.stack, p.prefix)).toBe(p.simulator.produced);
  });

  it('refused documents are dead letters that reconcile counts; redrive keeps what still fails and moves what a fix lets through', async () => {
    // A mapping that refuses every flow log document: the index exists before replay writes to it.
    const flows = { term: { 'event.dataset': 'aws.vpcflow' } };
    const flowIndices = Object.keys((await p.stack.opensearch.indices.get({ index: `${p.prefix}-aws.vpcflow-*` })).body as object);
    const flowDocs = await documentCount(p.stack, p.prefix, flows);
    for (const index of flowIndices) {
      await p.stack.opensearch.indices.delete({ index });
      await p.stack.opensearch.indices.create({ index, body: { mappings: { properties: { network: { properties: { transport: { type: 'long' } } } } } } } as never);
    }
    const replay = await runCli(['replay', '--from', '1h', '--source', 'vpcflow', '--json'], p.env);
    expect(replay.code, replay.stderr).toBe(0);
    const refused = replay.json().deadLettered;
    expect(refused).toBeGreaterThan(0);
    const letters = await readDeadLetters(p.stack.s3, p.deadLetterBucket);
    expect(letters).toHaveLength(refused);
    expect(letters.every((l) => l.stage === 'index' && /mapper_parsing_exception/.test(l.reason) && l.envelope && l.event && l.document)).toBe(true);

    const counted = (await runCli(['reconcile', '--from', '1h', '--source', 'vpcflow', '--json'], p.env)).json();
    expect(counted.totals).toMatchObject({ deadLettered: refused, missing: 0 });
    expect(counted.totals.indexed + refused).toBe(flowDocs);

    const beforeRedrive = new Date().toISOString();
    const again = await runCli(['redrive', '--json'], p.env);
    expect(again.code).toBe(1);
    expect(again.json()).toMatchObject({ letters: refused, redriven: 0, stillFailing: refused });
    expect(Object.keys(again.json().reasons)[0]).toMatch(/^index 400: mapper_parsing_exception: failed to parse field \[network\.transport\] of type \[long\]$/);
    expect(await keys('redriven/')).toHaveLength(0);
    // Still there, each with the reason of this attempt.
    const kept = await readDeadLetters(p.stack.s3, p.deadLetterBucket);
    expect(kept).toHaveLength(refused);
    expect(kept.every((l) => l.at >= beforeRedrive && /mapper_parsing_exception/.test(l.reason))).toBe(true);

    // The fix: the index comes back from the template.
    for (const index of flowIndices) await p.stack.opensearch.indices.delete({ index });
    const fixed = await runCli(['redrive', '--json'], p.env);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.json()).toMatchObject({ letters: refused, redriven: refused, created: refused, stillFailing: 0 });
    expect(await keys('dead-letters/')).toHaveLength(0);
    expect(await readDeadLetters(p.stack.s3, p.deadLetterBucket, 'redriven/')).toHaveLength(refused);

    // What replay created into the broken index went with it: reconcile shows it, --repair brings it back.
    const end = await runCli(['reconcile', '--from', '1h', '--repair', '--json'], p.env);
    expect(end.code, end.stderr).toBe(0);
    expect(await documentCount(p.stack, p.prefix, flows)).toBe(flowDocs);
  });

  it('names the bad argument', async () => {
    expect((await runCli(['replay', '--from', 'yesterday-ish'], p.env)).stderr).toMatch(/--from: expected an ISO time/);
    expect((await runCli(['reconcile', ...range, '--account', '12345'], p.env)).stderr).toMatch(/--account \[0\]: expected a 12-digit AWS account id/);
    expect((await runCli(['replay', '--from', '1h', '--to', '2h'], p.env)).stderr).toMatch(/--from: expected --from before --to/);
    const noBucket = await runCli(['replay', '--from', '1h', '--archive-bucket', 'no-such-bucket-here'], p.env);
    expect(noBucket.code).toBe(1);
    expect(noBucket.stderr).toMatch(/^centralog: S3: .*bucket.*--archive-bucket/m);
    expect(noBucket.stderr).not.toMatch(/\n\s+at /);
  });
});
