import {
  CreateExportTaskCommand,
  DescribeExportTasksCommand,
  DescribeLogGroupsCommand,
  type CloudWatchLogsClient,
  type ExportTask,
} from '@aws-sdk/client-cloudwatch-logs';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../../consumers/backoff.ts';
import type { Client } from '@opensearch-project/opensearch';
import { ConfigError, documentOptions, type DocumentRules } from '../../consumers/index.ts';
import { ObjectIngest, type ExportOrigin, type ObjectCreated, type ObjectOutcome } from '../../consumers/s3-ingest/index.ts';
import { BulkSink, DeadLetterSink } from '../../consumers/sinks/index.ts';
import { exportObjectKey } from '../../processors/index.ts';
import { planRecord, shortHash, type BackfillPlan, type BackfillState, type BackfillStateFile, type GroupState, type ObjectProgress } from './backfill-state.ts';
import { DEFAULT_RETRY, withRetry } from './cwl.ts';

export { BackfillStateFile, defaultStateFile, type BackfillPlan, type BackfillState, type GroupState, type ObjectProgress } from './backfill-state.ts';

/**
 * The S3 path's object ingest with the consumer's document rules (log group sources, flow
 * formats, aggregator accounts), its index window around each event's own time as for a replay.
 */
export function backfillObjectIngest(
  s3: S3Client,
  opensearch: Client,
  o: { rules: DocumentRules; indexPrefix: string; batchBytes: number; deadLetterBucket: string; deadLetterPrefix: string },
): ObjectIngest {
  return new ObjectIngest(s3, new BulkSink(opensearch, { maxRequestBytes: o.batchBytes }), new DeadLetterSink(s3, o.deadLetterBucket, o.deadLetterPrefix), {
    batchBytes: o.batchBytes,
    documents: documentOptions(o.rules, o.indexPrefix, true),
  });
}

export interface BackfillDeps {
  logs: CloudWatchLogsClient;
  s3: S3Client;
  /** Ingests one export object as the events of its log group and stream (ObjectIngest.ingestExport). */
  ingest: (object: ObjectCreated, origin: ExportOrigin, signal?: AbortSignal) => Promise<ObjectProgress & Pick<ObjectOutcome, 'unreadable'>>;
  /** The account the log groups belong to (the exported events' owner). */
  owner: () => Promise<string>;
  /** Waits; tests pass one that does not. */
  wait?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface BackfillRun {
  plan: BackfillPlan;
  state: BackfillStateFile;
  /** Between DescribeExportTasks polls. */
  pollMs: number;
  /** First wait when another export task is running (LimitExceededException); doubles up to maxWaitMs. */
  limitWaitMs: number;
  maxWaitMs: number;
  signal?: AbortSignal;
  onStage?: (logGroup: string, stage: string) => void;
  onObjects?: (logGroup: string, total: number, alreadyDone: number) => void;
  onObject?: (logGroup: string, key: string, progress: ObjectProgress) => void;
}

export interface BackfillSummary {
  logGroups: Array<{ logGroup: string; taskId?: string; status: GroupState['status']; reason?: string; objects: number } & ObjectProgress>;
  failed: number;
}

const TERMINAL_FAILURES = new Set(['FAILED', 'CANCELLED']);

/**
 * Exports each log group's range to S3 (one export task at a time, as CloudWatch Logs allows per
 * account), waits for the task, then ingests its objects. Every step is recorded in the state file
 * first, so a re-run continues: it waits on a task already started and skips objects already
 * ingested. A failed or cancelled task fails its group only; the others go on.
 */
export async function runBackfill(deps: BackfillDeps, run: BackfillRun): Promise<BackfillSummary> {
  const wait = deps.wait ?? ((ms: number, signal?: AbortSignal) => sleep(ms, undefined, { signal }));
  const state = run.state.load(run.plan);
  const plan: BackfillPlan = { ...run.plan, from: new Date(state.range.from), to: new Date(state.range.to) };
  run = { ...run, plan };
  if (!state.groups) {
    const names = run.plan.logGroups ?? (await logGroupsWithPrefix(deps.logs, run.plan.logGroupPrefix!, run.signal));
    if (names.length === 0) throw new ConfigError(`--log-group-prefix ${run.plan.logGroupPrefix}: no log group has this prefix in this account and region`);
    state.groups = Object.fromEntries(names.map((g) => [g, { taskName: taskName(run.plan, g), status: 'pending', objects: {} } satisfies GroupState]));
    run.state.save(state);
  }
  const owner = await deps.owner();
  for (const [logGroup, group] of Object.entries(state.groups)) {
    if (group.status === 'done' || group.status === 'failed') continue;
    const save = () => run.state.save(state);
    if (!group.taskId) {
      run.onStage?.(logGroup, 'starting export task');
      group.taskId = (await runningTaskNamed(deps.logs, group.taskName, run.signal)) ?? (await createExportTask(deps.logs, run, logGroup, group.taskName, wait));
      group.status = 'exporting';
      save();
    }
    const task = await awaitTask(deps.logs, group.taskId, run, logGroup, wait);
    if (TERMINAL_FAILURES.has(task.status?.code ?? '')) {
      group.status = 'failed';
      group.reason = `export task ${group.taskId} ${task.status?.code}: ${task.status?.message ?? 'no reason given'}`;
      run.onStage?.(logGroup, group.reason);
      save();
      continue;
    }
    group.status = 'ingesting';
    save();
    const keys = await exportObjects(deps.s3, run.plan, group.taskId, run.signal);
    run.onObjects?.(logGroup, keys.length, keys.filter((k) => group.objects[k.key]).length);
    for (const object of keys) {
      if (group.objects[object.key]) continue;
      const parts = exportObjectKey(object.key, run.plan.prefix, group.taskId)!;
      const outcome = await deps.ingest({ bucket: run.plan.bucket, key: object.key, size: object.size, eventTime: object.lastModified }, { owner, logGroup, logStream: parts.logStream }, run.signal);
      const progress: ObjectProgress = { events: outcome.events, created: outcome.created, duplicates: outcome.duplicates, deadLettered: outcome.deadLettered };
      group.objects[object.key] = progress;
      save();
      run.onObject?.(logGroup, object.key, progress);
    }
    group.status = 'done';
    save();
  }
  return summarise(state);
}

function summarise(state: BackfillState): BackfillSummary {
  const logGroups = Object.entries(state.groups ?? {}).map(([logGroup, g]) => {
    const all = Object.values(g.objects);
    const sum = (k: keyof ObjectProgress) => all.reduce((n, o) => n + o[k], 0);
    return { logGroup, taskId: g.taskId, status: g.status, reason: g.reason, objects: all.length, events: sum('events'), created: sum('created'), duplicates: sum('duplicates'), deadLettered: sum('deadLettered') };
  });
  return { logGroups, failed: logGroups.filter((g) => g.status === 'failed').length };
}

/** One name per log group and plan: a task started before a kill is found again by it. */
function taskName(plan: BackfillPlan, logGroup: string): string {
  return `centralog-backfill-${shortHash(JSON.stringify([planRecord(plan), logGroup]))}`;
}

async function logGroupsWithPrefix(logs: CloudWatchLogsClient, prefix: string, signal?: AbortSignal): Promise<string[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const res = await withRetry(() => logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: prefix, nextToken }), { abortSignal: signal }), DEFAULT_RETRY, undefined, signal);
    for (const g of res.logGroups ?? []) if (g.logGroupName) names.push(g.logGroupName);
    nextToken = res.nextToken;
  } while (nextToken);
  return names;
}

/** A pending or running task of ours with this name: created just before a kill, before its id was recorded. */
async function runningTaskNamed(logs: CloudWatchLogsClient, name: string, signal?: AbortSignal): Promise<string | undefined> {
  for (const statusCode of ['RUNNING', 'PENDING'] as const) {
    let nextToken: string | undefined;
    do {
      const res = await withRetry(() => logs.send(new DescribeExportTasksCommand({ statusCode, nextToken }), { abortSignal: signal }), DEFAULT_RETRY, undefined, signal);
      const found = res.exportTasks?.find((t) => t.taskName === name);
      if (found?.taskId) return found.taskId;
      nextToken = res.nextToken;
    } while (nextToken);
  }
  return undefined;
}

/** Creates the export task, waiting (with back-off) while another task of the account runs. */
async function createExportTask(logs: CloudWatchLogsClient, run: BackfillRun, logGroup: string, name: string, wait: NonNullable<BackfillDeps['wait']>): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await withRetry(
        () =>
          logs.send(
            new CreateExportTaskCommand({
              taskName: name,
              logGroupName: logGroup,
              from: run.plan.from.getTime(),
              to: run.plan.to.getTime(),
              destination: run.plan.bucket,
              destinationPrefix: run.plan.prefix,
            }),
            { abortSignal: run.signal },
          ),
        DEFAULT_RETRY,
        undefined,
        run.signal,
      );
      if (!res.taskId) throw new Error(`CreateExportTask for ${logGroup} returned no task id`);
      return res.taskId;
    } catch (err) {
      // One active export task per account: another (ours or anyone's) is still running.
      if ((err as Error).name !== 'LimitExceededException') throw err;
      run.onStage?.(logGroup, 'waiting: another export task of this account is running');
      await wait(backoffDelay(attempt, { baseMs: run.limitWaitMs, maxMs: run.maxWaitMs }), run.signal);
    }
  }
}

async function awaitTask(logs: CloudWatchLogsClient, taskId: string, run: BackfillRun, logGroup: string, wait: NonNullable<BackfillDeps['wait']>): Promise<ExportTask> {
  let last = '';
  for (;;) {
    const res = await withRetry(() => logs.send(new DescribeExportTasksCommand({ taskId }), { abortSignal: run.signal }), DEFAULT_RETRY, undefined, run.signal);
    const task = res.exportTasks?.[0];
    if (!task) throw new Error(`export task ${taskId} of ${logGroup} is not known to CloudWatch Logs (tasks are listed for a limited time; remove the group's taskId from the state file to export again)`);
    const code = task.status?.code ?? 'PENDING';
    if (code === 'COMPLETED' || TERMINAL_FAILURES.has(code)) return task;
    if (code !== last) run.onStage?.(logGroup, `export task ${taskId} ${code.toLowerCase()}`);
    last = code;
    await wait(run.pollMs, run.signal);
  }
}

/** The part objects of one task (not the bucket's write-test object), in key order. */
async function exportObjects(s3: S3Client, plan: BackfillPlan, taskId: string, signal?: AbortSignal): Promise<Array<{ key: string; size?: number; lastModified: number }>> {
  const objects: Array<{ key: string; size?: number; lastModified: number }> = [];
  let ContinuationToken: string | undefined;
  const Prefix = `${plan.prefix}/${taskId}/`.replace(/^\//, '');
  do {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: plan.bucket, Prefix, ContinuationToken }), { abortSignal: signal });
    for (const o of res.Contents ?? []) {
      if (o.Key && exportObjectKey(o.Key, plan.prefix, taskId)) objects.push({ key: o.Key, size: o.Size, lastModified: o.LastModified?.getTime() ?? Date.now() });
    }
    ContinuationToken = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
