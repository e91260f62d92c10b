import {
  DescribeLogGroupsCommand,
  DescribeSubscriptionFiltersCommand,
  PutSubscriptionFilterCommand,
  type CloudWatchLogsClient,
  type SubscriptionFilter,
} from '@aws-sdk/client-cloudwatch-logs';
import { awsReason, withRetry, type RetryPolicy } from './cwl.ts';

/** CloudWatch Logs allows 2 subscription filters per log group. */
export const MAX_FILTERS_PER_GROUP = 2;

export type Outcome = 'subscribed' | 'updated' | 'already subscribed' | 'would subscribe' | 'would update' | 'skipped' | 'failed';

export interface OnboardResult {
  region: string;
  /** Empty for a failure of the whole region. */
  logGroup: string;
  outcome: Outcome;
  reason?: string;
}

export interface OnboardOptions {
  regions: string[];
  /** Log group name prefixes; with `patterns`, a group matching any is taken. */
  prefixes: string[];
  /** Case-insensitive substrings of the name (CloudWatch Logs' logGroupNamePattern). */
  patterns: string[];
  /** Names (or `*` patterns) never subscribed, on top of centralog's own groups. */
  exclude: string[];
  /** The destination ARN for a region. */
  destinationArn: (region: string) => string;
  filterName: string;
  filterPattern: string;
  /** The sender-account role, needed when the destination's policy is organisation-wide. */
  roleArn?: string;
  dryRun: boolean;
  retry: RetryPolicy;
  signal?: AbortSignal;
  onResult?: (r: OnboardResult) => void;
  onRetry?: (region: string, err: Error) => void;
}

/** centralog's own log groups (its Lambda, consumer tasks, Firehose errors): subscribing them would loop its logs into itself. */
export function isCentralogGroup(name: string): boolean {
  return /centralog/i.test(name);
}

function globMatcher(patterns: string[]): (name: string) => boolean {
  const res = patterns.map((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  return (name) => res.some((r) => r.test(name));
}

/** Every log group of a region whose name starts with one of the prefixes or contains one of the patterns. */
export async function findLogGroups(client: CloudWatchLogsClient, prefixes: string[], patterns: string[], retry: RetryPolicy, onRetry?: (err: Error) => void, signal?: AbortSignal): Promise<string[]> {
  const names = new Set<string>();
  // The API takes a prefix or a pattern, not both: one listing each.
  const queries = [...prefixes.map((p) => ({ logGroupNamePrefix: p })), ...patterns.map((p) => ({ logGroupNamePattern: p }))];
  for (const query of queries.length > 0 ? queries : [{}]) {
    let nextToken: string | undefined;
    do {
      const out = await withRetry(() => client.send(new DescribeLogGroupsCommand({ ...query, nextToken }), { abortSignal: signal }), retry, onRetry, signal);
      for (const g of out.logGroups ?? []) if (g.logGroupName) names.add(g.logGroupName);
      nextToken = out.nextToken;
    } while (nextToken);
  }
  return [...names].sort();
}

function sameFilter(f: SubscriptionFilter, want: { filterName: string; filterPattern: string; destinationArn: string; roleArn?: string }): boolean {
  return f.filterName === want.filterName && (f.filterPattern ?? '') === want.filterPattern && f.destinationArn === want.destinationArn && (f.roleArn ?? undefined) === want.roleArn;
}

/**
 * One log group: left alone when an identical filter exists; our filter updated in place
 * when it differs; skipped (never touching another filter) when the group already has 2.
 */
export async function subscribeGroup(client: CloudWatchLogsClient, region: string, logGroup: string, o: OnboardOptions): Promise<OnboardResult> {
  const destinationArn = o.destinationArn(region);
  const want = { filterName: o.filterName, filterPattern: o.filterPattern, destinationArn, roleArn: o.roleArn };
  const onRetry = (err: Error) => o.onRetry?.(region, err);
  try {
    const out = await withRetry(() => client.send(new DescribeSubscriptionFiltersCommand({ logGroupName: logGroup }), { abortSignal: o.signal }), o.retry, onRetry, o.signal);
    const filters = out.subscriptionFilters ?? [];
    const ours = filters.find((f) => f.destinationArn === destinationArn || f.filterName === o.filterName);
    if (ours && sameFilter(ours, want)) return { region, logGroup, outcome: 'already subscribed' };
    if (!ours && filters.length >= MAX_FILTERS_PER_GROUP) {
      return { region, logGroup, outcome: 'skipped', reason: `already has ${filters.length} subscription filters (the limit): ${filters.map((f) => f.filterName).join(', ')}; none is removed` };
    }
    if (o.dryRun) return { region, logGroup, outcome: ours ? 'would update' : 'would subscribe', reason: ours ? `filter ${ours.filterName} differs` : undefined };
    // Our own filter (same name) is replaced in place: PutSubscriptionFilter overwrites a filter of the same name.
    const filterName = ours?.filterName ?? o.filterName;
    await withRetry(
      () =>
        client.send(
          new PutSubscriptionFilterCommand({ logGroupName: logGroup, filterName, filterPattern: o.filterPattern, destinationArn, ...(o.roleArn ? { roleArn: o.roleArn } : {}) }),
          { abortSignal: o.signal },
        ),
      o.retry,
      onRetry,
      o.signal,
    );
    return { region, logGroup, outcome: ours ? 'updated' : 'subscribed', reason: ours ? `filter ${ours.filterName} differed` : undefined };
  } catch (err) {
    const e = err as Error;
    if (e.name === 'LimitExceededException') return { region, logGroup, outcome: 'skipped', reason: `at the limit of ${MAX_FILTERS_PER_GROUP} subscription filters (${e.message}); none is removed` };
    if (e.name === 'ResourceNotFoundException') return { region, logGroup, outcome: 'failed', reason: `${e.message} (the log group is gone, or destination ${destinationArn} does not exist or does not allow this account)` };
    if (e.name === 'AbortError' || o.signal?.aborted) throw err;
    return { region, logGroup, outcome: 'failed', reason: awsReason(err) };
  }
}

/** One region: find the log groups, leave out centralog's own and the excluded, subscribe the rest. */
export async function onboardRegion(client: CloudWatchLogsClient, region: string, o: OnboardOptions, seen?: Set<string>): Promise<OnboardResult[]> {
  const excluded = globMatcher(o.exclude);
  let groups: string[];
  try {
    groups = await findLogGroups(client, o.prefixes, o.patterns, o.retry, (err) => o.onRetry?.(region, err), o.signal);
  } catch (err) {
    if (o.signal?.aborted) throw err;
    const r: OnboardResult = { region, logGroup: '', outcome: 'failed', reason: awsReason(err) };
    o.onResult?.(r);
    return [r];
  }
  const results: OnboardResult[] = [];
  for (const logGroup of groups) {
    if (seen?.has(`${region}|${logGroup}`)) continue;
    seen?.add(`${region}|${logGroup}`);
    const r: OnboardResult = isCentralogGroup(logGroup)
      ? { region, logGroup, outcome: 'skipped', reason: "centralog's own log group: never subscribed" }
      : excluded(logGroup)
        ? { region, logGroup, outcome: 'skipped', reason: 'excluded (--exclude)' }
        : await subscribeGroup(client, region, logGroup, o);
    results.push(r);
    o.onResult?.(r);
  }
  return results;
}

/** Every region, one after the other: a region that fails is reported and the others go on. */
export async function onboard(clientFor: (region: string) => CloudWatchLogsClient, o: OnboardOptions, seen?: Set<string>): Promise<OnboardResult[]> {
  const results: OnboardResult[] = [];
  for (const region of o.regions) results.push(...(await onboardRegion(clientFor(region), region, o, seen)));
  return results;
}
