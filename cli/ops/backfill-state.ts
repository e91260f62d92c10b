import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../../consumers/index.ts';

/** What is backfilled: the log groups (or a prefix naming them), the time range, where exports go. */
export interface BackfillPlan {
  logGroups?: string[];
  logGroupPrefix?: string;
  from: Date;
  to: Date;
  /** --from and --to as given: `30d` names the same backfill on every run, resolved once (see BackfillState.range). */
  fromText?: string;
  toText?: string;
  bucket: string;
  /** Key prefix of the export objects, without its trailing `/`. */
  prefix: string;
}

export interface ObjectProgress {
  events: number;
  created: number;
  duplicates: number;
  deadLettered: number;
}

/** One log group's way through: an export task, then its objects ingested one by one. */
export interface GroupState {
  taskName: string;
  taskId?: string;
  status: 'pending' | 'exporting' | 'ingesting' | 'done' | 'failed';
  reason?: string;
  /** Export objects already ingested, by key: a re-run skips them. */
  objects: Record<string, ObjectProgress>;
}

export interface BackfillState {
  version: 1;
  plan: { logGroups?: string[]; logGroupPrefix?: string; from: string; to: string; bucket: string; prefix: string };
  /** The range as first resolved: a re-run of `--from 30d` continues the same range, not one shifted by the time since. */
  range: { from: string; to: string };
  /** The groups a prefix named when first resolved, so a re-run works through the same list. */
  groups?: Record<string, GroupState>;
}

/** The plan as the state file records it; its hash names the default state file. */
export function planRecord(plan: BackfillPlan): BackfillState['plan'] {
  return {
    logGroups: plan.logGroups,
    logGroupPrefix: plan.logGroupPrefix,
    from: plan.fromText ?? plan.from.toISOString(),
    to: plan.toText ?? plan.to.toISOString(),
    bucket: plan.bucket,
    prefix: plan.prefix,
  };
}

export const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

/** `.centralog-backfill-<hash of the plan>.json`: the same command line finds its own state again. */
export function defaultStateFile(plan: BackfillPlan): string {
  return `.centralog-backfill-${shortHash(JSON.stringify(planRecord(plan)))}.json`;
}

/** The resume record, rewritten whole (temporary file + rename) after every step, so a kill never leaves half a file. */
export class BackfillStateFile {
  constructor(readonly path: string) {}

  load(plan: BackfillPlan): BackfillState {
    const record = planRecord(plan);
    if (!existsSync(this.path)) return { version: 1, plan: record, range: { from: plan.from.toISOString(), to: plan.to.toISOString() } };
    let state: BackfillState;
    try {
      state = JSON.parse(readFileSync(this.path, 'utf8')) as BackfillState;
    } catch (err) {
      throw new ConfigError(`--state-file ${this.path}: not a backfill state file (${(err as Error).message})`);
    }
    if (state.version !== 1 || JSON.stringify(state.plan) !== JSON.stringify(record)) {
      throw new ConfigError(`--state-file ${this.path} belongs to another backfill (${JSON.stringify(state.plan)}); give this one its own --state-file or remove it`);
    }
    return state;
  }

  save(state: BackfillState): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 1)}\n`);
    renameSync(tmp, this.path);
  }
}
