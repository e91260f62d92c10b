import {
  CloudWatchLogsClient,
  CreateExportTaskCommand,
  DescribeExportTasksCommand,
  DescribeLogGroupsCommand,
  LimitExceededException,
  type CreateExportTaskCommandInput,
} from '@aws-sdk/client-cloudwatch-logs';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backfillObjectIngest, BackfillStateFile, defaultStateFile, runBackfill, type BackfillDeps, type BackfillPlan, type BackfillState } from '../../cli/ops/backfill.ts';
import { DocumentRulesSchema } from '../../consumers/index.ts';
import { installIndexTemplates } from '../../infra/opensearch/index.ts';
import { documentId, exportEventId, guardDutyDocumentId, hashId } from '../../processors/index.ts';
import { createBucket, startTestStack, uniqueName } from '../helpers.ts';

// Real CloudTrail events (AWS documentation), as a CloudTrail log group holds them.
const TRAIL_EVENTS = readFileSync(new URL('../fixtures/cloudtrail/awsdocs_cloudtrail-user-guide_examples.ndjson', import.meta.url), 'utf8').trim().split('\n').slice(0, 4);
const OWNER = '111122223333';
const TRAIL_GROUP = 'aws-cloudtrail-logs-111122223333-0d5e1f2a';
const APP_GROUP = '/aws/lambda/orders';

/** A line as CloudWatch Logs exports it: `<ISO time with ms> <message>`. */
const exportLine = (iso: string, message: string) => `${new Date(iso).toISOString()} ${message}`;
const trailLines = () => TRAIL_EVENTS.map((e) => exportLine((JSON.parse(e) as { eventTime: string }).eventTime, e));
// A Lambda stream name holds slashes; a stack trace is one event spread over several lines.
const APP_STREAM = '2026/05/01/[$LATEST]4f1c3a0b9d2e';
const APP_LINES = ['2026-05-01T10:00:00.120Z START RequestId: 8f5e7c1a Version: $LATEST', '2026-05-01T10:00:00.250Z Error: card declined', '    at charge (/var/task/index.js:12:11)', '2026-05-01T10:00:00.300Z END RequestId: 8f5e7c1a'];

describe('backfill: export tasks (mocked control plane) into s3rver and OpenSearch', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  let dir: string;
  const bucket = uniqueName('exports');
  const deadLetterBucket = uniqueName('dead-letters');
  const prefix = uniqueName('backfill');
  const logs = new CloudWatchLogsClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const cwl = mockClient(logs);
  let ingestCalls: string[];
  let created: CreateExportTaskCommandInput[];

  /** Writes what an export task writes, in its layout: the write test, then one object per stream. */
  async function writeExport(destinationPrefix: string, taskId: string, group: string): Promise<void> {
    const put = (Key: string, Body: Buffer) => stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    await put(`${destinationPrefix}/aws-logs-write-test`, Buffer.from('Permission Check Successful'));
    if (group === TRAIL_GROUP) {
      const lines = trailLines();
      await put(`${destinationPrefix}/${taskId}/${OWNER}_CloudTrail_us-east-1/000000.gz`, gzipSync(lines.slice(0, 2).join('\n') + '\n'));
      await put(`${destinationPrefix}/${taskId}/${OWNER}_CloudTrail_us-east-1/000001.gz`, gzipSync(lines.slice(2).join('\n') + '\n'));
    } else {
      await put(`${destinationPrefix}/${taskId}/${APP_STREAM}/000000.gz`, gzipSync(APP_LINES.join('\n') + '\n'));
    }
  }

  /** Tasks complete after `runningPolls` polls; their objects appear then, as with the service. */
  function exportService(opts: { runningPolls?: number; fail?: string; limitFirst?: number; throttleFirst?: number } = {}) {
    const tasks = new Map<string, { input: CreateExportTaskCommandInput; polls: number; written: boolean }>();
    let limit = opts.limitFirst ?? 0;
    let throttle = opts.throttleFirst ?? 0;
    cwl.on(CreateExportTaskCommand).callsFake(async (input: CreateExportTaskCommandInput) => {
      if (limit-- > 0) throw new LimitExceededException({ message: 'Resource limit exceeded.', $metadata: { httpStatusCode: 400 } });
      if (throttle-- > 0) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
      created.push(input);
      const taskId = `${created.length}e5c7f7a-0d9e-4b1c-8a7f-${String(created.length).padStart(12, '0')}`;
      tasks.set(taskId, { input, polls: 0, written: false });
      return { taskId };
    });
    cwl.on(DescribeExportTasksCommand).callsFake(async (input: { taskId?: string; statusCode?: string }) => {
      if (!input.taskId) {
        const all = [...tasks.entries()].filter(([, t]) => t.polls <= (opts.runningPolls ?? 1));
        return { exportTasks: input.statusCode === 'RUNNING' ? all.map(([taskId, t]) => ({ taskId, taskName: t.input.taskName, status: { code: 'RUNNING' } })) : [] };
      }
      const task = tasks.get(input.taskId);
      if (!task) return { exportTasks: [] };
      task.polls++;
      const group = task.input.logGroupName!;
      if (task.polls <= (opts.runningPolls ?? 1)) return { exportTasks: [{ taskId: input.taskId, logGroupName: group, status: { code: task.polls === 1 ? 'PENDING' : 'RUNNING' } }] };
      if (opts.fail === group) return { exportTasks: [{ taskId: input.taskId, logGroupName: group, status: { code: 'FAILED', message: 'GetBucketAcl call on the given bucket failed. Please check if CloudWatch Logs has been granted permission to perform this operation.' } }] };
      if (!task.written) await writeExport(task.input.destinationPrefix!, input.taskId, group);
      task.written = true;
      return { exportTasks: [{ taskId: input.taskId, logGroupName: group, status: { code: 'COMPLETED', message: 'Completed successfully' } }] };
    });
    return tasks;
  }

  const rules = DocumentRulesSchema.parse({ logGroupSources: JSON.stringify({ [TRAIL_GROUP]: 'cloudtrail' }) });
  function deps(failOn?: (key: string) => boolean): BackfillDeps {
    const objects = backfillObjectIngest(stack.s3, stack.opensearch, { rules, indexPrefix: prefix, batchBytes: 5 * 1024 * 1024, deadLetterBucket, deadLetterPrefix: 'dead-letters/' });
    return {
      logs,
      s3: stack.s3,
      owner: async () => OWNER,
      wait: async () => undefined,
      ingest: async (object, origin, signal) => {
        // A kill: the process stops before this object is read.
        if (failOn?.(object.key)) throw new Error('killed');
        ingestCalls.push(object.key);
        return objects.ingestExport(object, origin, signal);
      },
    };
  }
  const plan = (over: Partial<BackfillPlan> = {}): BackfillPlan => ({ logGroups: [TRAIL_GROUP, APP_GROUP], from: new Date('2022-11-01T00:00:00Z'), to: new Date('2026-05-02T00:00:00Z'), bucket, prefix: uniqueName('exports'), ...over });
  const run = (p: BackfillPlan, stateFile: string) => ({ plan: p, state: new BackfillStateFile(join(dir, stateFile)), pollMs: 1, limitWaitMs: 1, maxWaitMs: 1 });
  const search = async (family: string) => {
    await stack.opensearch.indices.refresh({ index: `${prefix}-*` });
    const res = await stack.opensearch.search({ index: `${prefix}-aws.${family}-*`, body: { query: { match_all: {} }, size: 100, sort: [{ '@timestamp': 'asc' }] } } as never);
    return (res.body as { hits: { hits: Array<{ _id: string; _index: string; _source: Record<string, any> }> } }).hits.hits;
  };

  beforeAll(async () => {
    stack = await startTestStack();
    dir = mkdtempSync(join(tmpdir(), 'centralog-backfill-'));
    await createBucket(stack.s3, bucket);
    await createBucket(stack.s3, deadLetterBucket);
    await installIndexTemplates(stack.opensearch, prefix);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    cwl.reset();
    ingestCalls = [];
    created = [];
  });

  it('waits out another running task and throttling, then indexes a mapped CloudTrail group as CloudTrail and another group as generic', async () => {
    exportService({ runningPolls: 2, limitFirst: 2, throttleFirst: 1 });
    const p = plan();
    const summary = await runBackfill(deps(), run(p, 'first.json'));
    expect(summary.failed).toBe(0);
    expect(summary.logGroups.map((g) => [g.logGroup, g.status, g.objects, g.events, g.created])).toEqual([
      [TRAIL_GROUP, 'done', 2, 4, 4],
      [APP_GROUP, 'done', 1, 3, 3],
    ]);
    // One task per group, of the requested range, into the bucket under the prefix.
    expect(created.map((c) => [c.logGroupName, c.destination, c.destinationPrefix, c.from, c.to])).toEqual([
      [TRAIL_GROUP, bucket, p.prefix, Date.parse('2022-11-01T00:00:00Z'), Date.parse('2026-05-02T00:00:00Z')],
      [APP_GROUP, bucket, p.prefix, Date.parse('2022-11-01T00:00:00Z'), Date.parse('2026-05-02T00:00:00Z')],
    ]);
    expect(cwl.commandCalls(CreateExportTaskCommand)).toHaveLength(5);

    const trail = await search('cloudtrail');
    expect(trail).toHaveLength(4);
    const login = trail.find((h) => h._source.event?.action === 'ConsoleLogin')!._source;
    expect(login['@timestamp']).toBe('2022-11-10T16:24:34.000Z');
    expect(login.cloud.account.id).toBe(OWNER);
    expect(login.aws.cloudwatch).toMatchObject({ log_group: TRAIL_GROUP, log_stream: `${OWNER}_CloudTrail_us-east-1`, owner: OWNER });
    expect(trail[0]!._index).toBe(`${prefix}-aws.cloudtrail-2022.11.10`);

    const app = await search('cloudwatch_logs');
    expect(app.map((h) => h._source.message)).toEqual(['START RequestId: 8f5e7c1a Version: $LATEST', 'Error: card declined\n    at charge (/var/task/index.js:12:11)', 'END RequestId: 8f5e7c1a']);
    expect(app[1]!._source.aws.cloudwatch).toMatchObject({ log_group: APP_GROUP, log_stream: APP_STREAM });
    expect(app[1]!._index).toBe(`${prefix}-aws.cloudwatch_logs-2026.05.01`);
    expect(app[1]!._source.log.file.path).toBe(`s3://${bucket}/${app[1]!._source.aws.s3.object.key}`);
    expect(app[1]!._source.aws.s3.object.key).toMatch(new RegExp(`^${p.prefix}/[0-9a-f-]+/2026/05/01/\\[\\$LATEST\\]4f1c3a0b9d2e/000000\\.gz$`));

    // A second export of the same range (new tasks, new objects) finds every event already indexed.
    cwl.reset();
    exportService();
    const again = await runBackfill(deps(), run(plan(), 'again.json'));
    expect(again.logGroups.map((g) => [g.events, g.created, g.duplicates])).toEqual([
      [4, 0, 4],
      [3, 0, 3],
    ]);
    expect(await search('cloudtrail')).toHaveLength(4);
  }, 60_000);

  it('an unmapped group holding CloudTrail events indexes them as generic documents, tagged looks_like_cloudtrail', async () => {
    const key = `${uniqueName('exports')}/7c0ffee0-task/app-stream/000000.gz`;
    await stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: gzipSync(trailLines().slice(0, 2).join('\n') + '\n') }));
    const objects = backfillObjectIngest(stack.s3, stack.opensearch, { rules, indexPrefix: prefix, batchBytes: 1024 * 1024, deadLetterBucket, deadLetterPrefix: 'dead-letters/' });
    const outcome = await objects.ingestExport({ bucket, key, eventTime: Date.now() }, { owner: OWNER, logGroup: 'app-logs-anyone-can-write', logStream: 'app-stream' });
    expect(outcome).toMatchObject({ events: 2, created: 2, createdBySource: { cloudwatch_logs: 2 } });
    const hits = (await search('cloudwatch_logs')).filter((h) => h._source.aws.cloudwatch.log_group === 'app-logs-anyone-can-write');
    expect(hits.map((h) => h._source.tags)).toEqual([['looks_like_cloudtrail'], ['looks_like_cloudtrail']]);
  }, 60_000);

  it('exported findings of a mapped GuardDuty group keep the finding-keyed id every path gives them; other events do not get a live id', async () => {
    const finding = JSON.stringify(JSON.parse(readFileSync(new URL('../fixtures/guardduty/iam-duty-event.json', import.meta.url), 'utf8')));
    const key = `${uniqueName('exports')}/9d00d1e5-task/guardduty-stream/000000.gz`;
    await stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: gzipSync(`2017-12-08T15:33:02.000Z ${finding}\n`) }));
    const gdRules = DocumentRulesSchema.parse({ logGroupSources: JSON.stringify({ '/aws/events/guardduty': 'guardduty' }) });
    const objects = backfillObjectIngest(stack.s3, stack.opensearch, { rules: gdRules, indexPrefix: prefix, batchBytes: 1024 * 1024, deadLetterBucket, deadLetterPrefix: 'dead-letters/' });
    const outcome = await objects.ingestExport({ bucket, key, eventTime: Date.now() }, { owner: '101010101111', logGroup: '/aws/events/guardduty', logStream: 'guardduty-stream' });
    expect(outcome.createdBySource).toEqual({ guardduty: 1 });
    const hits = await search('guardduty');
    expect(hits.map((h) => h._id)).toEqual([guardDutyDocumentId('36b01b60fc22bb4edb19d62d9899e953', '2017-12-08T15:32:49.862Z')]);
    // A CloudTrail line is keyed by owner, group, stream and its export id: not by eventID, not by a CloudWatch Logs event id.
    const trail = (await search('cloudtrail')).find((h) => h._source.event?.id === '3fcfb182-98f8-4744-bd45-10a395ab61cb')!;
    const line = trailLines()[0]!;
    const at = line.indexOf(' ');
    expect(trail._id).toBe(documentId({ owner: OWNER, logGroup: TRAIL_GROUP, logStream: `${OWNER}_CloudTrail_us-east-1` }, exportEventId(Date.parse(line.slice(0, at)), line.slice(at + 1), 0)));
    expect(trail._id).not.toBe(hashId(['cloudtrail', '3fcfb182-98f8-4744-bd45-10a395ab61cb']));
  }, 60_000);

  it('an export object that is not gzip text is dead-lettered whole, naming its key, and counted', async () => {
    const key = `${uniqueName('exports')}/5bad0b1e-task/app-stream/000000.gz`;
    const good = gzipSync(APP_LINES.join('\n') + '\n');
    await stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.concat([good.subarray(0, 20), Buffer.alloc(40, 0x41)]) }));
    const objects = backfillObjectIngest(stack.s3, stack.opensearch, { rules, indexPrefix: prefix, batchBytes: 1024 * 1024, deadLetterBucket, deadLetterPrefix: 'dead-letters/' });
    const outcome = await objects.ingestExport({ bucket, key, eventTime: Date.now() }, { owner: OWNER, logGroup: APP_GROUP, logStream: 'app-stream' });
    expect(outcome).toMatchObject({ format: 'cloudwatch_logs_export', deadLettered: 1 });
    expect(outcome.unreadable).toMatch(/^gzip: /);
    const letters = (await stack.s3.send(new ListObjectsV2Command({ Bucket: deadLetterBucket, Prefix: 'dead-letters/' }))).Contents ?? [];
    const bodies = await Promise.all(letters.map(async (l) => gunzipSync(Buffer.from(await (await stack.s3.send(new GetObjectCommand({ Bucket: deadLetterBucket, Key: l.Key! }))).Body!.transformToByteArray())).toString('utf8')));
    const letter = bodies.flatMap((b) => b.trim().split('\n')).map((l) => JSON.parse(l) as { stage: string; object?: { key: string } }).find((l) => l.object?.key === key);
    expect(letter?.stage).toBe('object');
  }, 60_000);

  it('a FAILED export task fails its log group only, with the service\'s reason', async () => {
    exportService({ fail: TRAIL_GROUP });
    const summary = await runBackfill(deps(), run(plan(), 'failed.json'));
    expect(summary.failed).toBe(1);
    expect(summary.logGroups[0]).toMatchObject({ logGroup: TRAIL_GROUP, status: 'failed', objects: 0 });
    expect(summary.logGroups[0]!.reason).toMatch(/FAILED: GetBucketAcl call on the given bucket failed/);
    expect(summary.logGroups[1]).toMatchObject({ logGroup: APP_GROUP, status: 'done', objects: 1 });
  }, 60_000);

  it('resumes after a kill mid-ingest: no second export task, objects already indexed are skipped', async () => {
    exportService();
    const p = plan();
    // Killed when the second object of the first group comes up.
    await expect(runBackfill(deps((key) => key.endsWith('/000001.gz')), run(p, 'killed.json'))).rejects.toThrow('killed');
    const left = JSON.parse(readFileSync(join(dir, 'killed.json'), 'utf8')) as BackfillState;
    const trail = left.groups![TRAIL_GROUP]!;
    expect(trail.status).toBe('ingesting');
    expect(Object.keys(trail.objects)).toHaveLength(1);
    expect(left.groups![APP_GROUP]!.status).toBe('pending');
    expect(created).toHaveLength(1);

    ingestCalls = [];
    const summary = await runBackfill(deps(), run(p, 'killed.json'));
    expect(created).toHaveLength(2); // the second group's task only
    expect(ingestCalls.map((k) => k.split('/').slice(-2).join('/'))).toEqual([`${OWNER}_CloudTrail_us-east-1/000001.gz`, `${APP_STREAM.split('/').pop()}/000000.gz`]);
    expect(summary.logGroups.map((g) => [g.status, g.objects, g.events])).toEqual([
      ['done', 2, 4],
      ['done', 1, 3],
    ]);
  }, 60_000);

  it('resumes after a kill while the export runs: the re-run waits on the recorded task', async () => {
    exportService({ runningPolls: 3 });
    const p = plan({ logGroups: [APP_GROUP] });
    await expect(runBackfill({ ...deps(), wait: async () => Promise.reject(new Error('killed while waiting')) }, run(p, 'waiting.json'))).rejects.toThrow('killed while waiting');
    const left = JSON.parse(readFileSync(join(dir, 'waiting.json'), 'utf8')) as BackfillState;
    expect(left.groups![APP_GROUP]).toMatchObject({ status: 'exporting', taskId: expect.any(String) });

    const summary = await runBackfill(deps(), run(p, 'waiting.json'));
    expect(created).toHaveLength(1);
    expect(cwl.commandCalls(DescribeExportTasksCommand).filter((c) => c.args[0].input.taskId === left.groups![APP_GROUP]!.taskId).length).toBeGreaterThan(1);
    expect(summary.logGroups[0]).toMatchObject({ status: 'done', taskId: left.groups![APP_GROUP]!.taskId, objects: 1 });
  }, 60_000);

  it('a relative --from names the same backfill on a re-run, which keeps the range first resolved', async () => {
    exportService();
    const first = plan({ fromText: '4y', from: new Date('2022-05-01T10:00:00Z'), toText: 'now', to: new Date('2026-05-01T10:00:00Z') });
    const later = { ...first, from: new Date('2022-05-01T11:30:00Z'), to: new Date('2026-05-01T11:30:00Z') };
    expect(defaultStateFile(later)).toBe(defaultStateFile(first));
    // Killed while the first group's objects are read: the second group's task is created by the re-run.
    await expect(runBackfill(deps((key) => key.includes('_CloudTrail_')), run(first, 'relative.json'))).rejects.toThrow('killed');
    const summary = await runBackfill(deps(), run(later, 'relative.json'));
    expect(summary.logGroups.map((g) => g.status)).toEqual(['done', 'done']);
    const range = [Date.parse('2022-05-01T10:00:00Z'), Date.parse('2026-05-01T10:00:00Z')];
    expect(created.map((c) => [c.logGroupName, c.from, c.to])).toEqual([
      [TRAIL_GROUP, ...range],
      [APP_GROUP, ...range],
    ]);
  }, 60_000);

  it('adopts a task created just before a kill, before its id was recorded', async () => {
    const tasks = exportService({ runningPolls: 2 });
    const p = plan({ logGroups: [APP_GROUP] });
    const file = new BackfillStateFile(join(dir, 'adopt.json'));
    await expect(runBackfill({ ...deps(), wait: async () => Promise.reject(new Error('killed')) }, run(p, 'adopt.json'))).rejects.toThrow('killed');
    // As if the kill came between CreateExportTask and the state write: the task runs, the state has no id.
    const state = file.load(p);
    const taskId = state.groups![APP_GROUP]!.taskId!;
    state.groups![APP_GROUP] = { taskName: state.groups![APP_GROUP]!.taskName, status: 'pending', objects: {} };
    file.save(state);
    const summary = await runBackfill(deps(), run(p, 'adopt.json'));
    expect(created).toHaveLength(1);
    expect(tasks.size).toBe(1);
    expect(summary.logGroups[0]).toMatchObject({ taskId, status: 'done', objects: 1 });
  }, 60_000);

  it('a log group prefix is resolved with DescribeLogGroups, and a state file of another backfill is refused', async () => {
    exportService();
    cwl.on(DescribeLogGroupsCommand).resolvesOnce({ logGroups: [{ logGroupName: APP_GROUP }], nextToken: 't1' }).resolvesOnce({ logGroups: [] });
    const summary = await runBackfill(deps(), run(plan({ logGroups: undefined, logGroupPrefix: '/aws/lambda/' }), 'prefix.json'));
    expect(summary.logGroups.map((g) => g.logGroup)).toEqual([APP_GROUP]);
    expect(cwl.commandCalls(DescribeLogGroupsCommand).map((c) => c.args[0].input)).toEqual([{ logGroupNamePrefix: '/aws/lambda/' }, { logGroupNamePrefix: '/aws/lambda/', nextToken: 't1' }]);
    await expect(runBackfill(deps(), run(plan(), 'prefix.json'))).rejects.toThrow(/belongs to another backfill/);
  }, 60_000);
});
