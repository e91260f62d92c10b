import { DescribeDestinationsCommand, PutDestinationPolicyCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { awsReason, withRetry, type RetryPolicy } from './cwl.ts';

/** CloudWatch Logs refuses a destination access policy larger than this. */
export const MAX_POLICY_BYTES = 5120;
const ACCOUNTS_SID = 'centralog-accounts';
const ORGANIZATION_SID = 'centralog-organization';

interface Statement {
  Sid?: string;
  Effect: string;
  Principal: unknown;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface AccessPolicy {
  Version: string;
  Statement: Statement[];
}

export interface DestinationView {
  region: string;
  name: string;
  arn?: string;
  targetArn?: string;
  roleArn?: string;
  /** Accounts the policy lets subscribe. */
  accounts: string[];
  /** Organisations whose every account may subscribe (aws:PrincipalOrgID). */
  organizations: string[];
  policy?: AccessPolicy;
  policyBytes: number;
  error?: string;
}

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/** An account id from a principal: `111122223333` or `arn:aws:iam::111122223333:root`. */
function principalAccount(p: string): string | undefined {
  return /^\d{12}$/.test(p) ? p : /^arn:aws[a-z-]*:iam::(\d{12}):root$/.exec(p)?.[1];
}

/** Who a policy lets subscribe: listed accounts and organisation ids. */
export function readPolicy(policy: AccessPolicy | undefined): { accounts: string[]; organizations: string[] } {
  const accounts = new Set<string>();
  const organizations = new Set<string>();
  for (const s of policy?.Statement ?? []) {
    if (s.Effect !== 'Allow') continue;
    const principal = s.Principal as { AWS?: unknown } | string;
    const aws = typeof principal === 'string' ? [principal] : asList(principal?.AWS);
    for (const p of aws) {
      const account = principalAccount(p);
      if (account) accounts.add(account);
    }
    for (const org of asList(s.Condition?.StringEquals?.['aws:PrincipalOrgID'])) organizations.add(org);
  }
  return { accounts: [...accounts].sort(), organizations: [...organizations].sort() };
}

/**
 * The policy with our statements set to these accounts and organisation; statements
 * written by others are kept as they are.
 */
export function buildPolicy(destinationArn: string, current: AccessPolicy | undefined, accounts: string[], organizations: string[]): AccessPolicy {
  const ours = new Map<string, Statement>();
  if (accounts.length > 0) {
    ours.set(ACCOUNTS_SID, { Sid: ACCOUNTS_SID, Effect: 'Allow', Principal: { AWS: [...accounts].sort() }, Action: 'logs:PutSubscriptionFilter', Resource: destinationArn });
  }
  if (organizations.length > 0) {
    // Organisation-wide: each sender's subscription filter then has to pass a role of its own account.
    ours.set(ORGANIZATION_SID, { Sid: ORGANIZATION_SID, Effect: 'Allow', Principal: '*', Action: 'logs:PutSubscriptionFilter', Resource: destinationArn, Condition: { StringEquals: { 'aws:PrincipalOrgID': [...organizations].sort() } } });
  }
  // Ours replaced where they stand (an unchanged policy stays byte for byte the same), new ones last.
  const statements: Statement[] = [];
  for (const s of current?.Statement ?? []) {
    if (s.Sid !== ACCOUNTS_SID && s.Sid !== ORGANIZATION_SID) statements.push(s);
    else if (ours.has(s.Sid)) {
      statements.push(ours.get(s.Sid)!);
      ours.delete(s.Sid);
    }
  }
  return { Version: '2012-10-17', Statement: [...statements, ...ours.values()] };
}

export function policyBytes(policy: AccessPolicy): number {
  return Buffer.byteLength(JSON.stringify(policy));
}

/** A policy CloudWatch Logs would refuse for its size: stopped before any call. */
export class PolicyTooLargeError extends Error {
  override readonly name = 'PolicyTooLargeError';
}

/** The named destination of a region, with who may use it. */
export async function describeDestination(client: CloudWatchLogsClient, region: string, name: string, retry: RetryPolicy, signal?: AbortSignal): Promise<DestinationView> {
  try {
    const out = await withRetry(() => client.send(new DescribeDestinationsCommand({ DestinationNamePrefix: name }), { abortSignal: signal }), retry, undefined, signal);
    const d = (out.destinations ?? []).find((x) => x.destinationName === name);
    if (!d) return { region, name, accounts: [], organizations: [], policyBytes: 0, error: `no destination named ${name} in ${region}` };
    const policy = d.accessPolicy ? (JSON.parse(d.accessPolicy) as AccessPolicy) : undefined;
    return { region, name, arn: d.arn, targetArn: d.targetArn, roleArn: d.roleArn, ...readPolicy(policy), policy, policyBytes: d.accessPolicy ? Buffer.byteLength(d.accessPolicy) : 0 };
  } catch (err) {
    if (signal?.aborted) throw err;
    return { region, name, accounts: [], organizations: [], policyBytes: 0, error: awsReason(err) };
  }
}

export interface PolicyChange {
  addAccounts?: string[];
  removeAccounts?: string[];
  /** Replaces the organisation ids; an empty list removes the organisation statement. */
  organizations?: string[];
}

export interface PolicyUpdate {
  region: string;
  before: { accounts: string[]; organizations: string[] };
  after: { accounts: string[]; organizations: string[] };
  policyBytes: number;
  changed: boolean;
  applied: boolean;
  error?: string;
  /** The policy to put (not printed with the result). */
  policy?: AccessPolicy;
}

/** What one region's destination policy would become; reads only. */
export async function planPolicyUpdate(client: CloudWatchLogsClient, region: string, name: string, change: PolicyChange, retry: RetryPolicy, signal?: AbortSignal): Promise<PolicyUpdate> {
  const current = await describeDestination(client, region, name, retry, signal);
  const before = { accounts: current.accounts, organizations: current.organizations };
  if (current.error || !current.arn) return { region, before, after: before, policyBytes: 0, changed: false, applied: false, error: current.error ?? 'no ARN' };
  // Only our own statements change; accounts that other statements allow stay as they are.
  const ours = readPolicy({ Version: '2012-10-17', Statement: (current.policy?.Statement ?? []).filter((x) => x.Sid === ACCOUNTS_SID || x.Sid === ORGANIZATION_SID) });
  const accounts = new Set(ours.accounts);
  for (const a of change.addAccounts ?? []) accounts.add(a);
  for (const a of change.removeAccounts ?? []) accounts.delete(a);
  const policy = buildPolicy(current.arn, current.policy, [...accounts], change.organizations ?? ours.organizations);
  const changed = JSON.stringify(policy) !== JSON.stringify(current.policy);
  return { region, before, after: readPolicy(policy), policyBytes: policyBytes(policy), changed, applied: false, policy };
}

/**
 * Changes who may subscribe, in every region: every new policy is checked against the
 * 5,120-byte limit before the first call that changes anything, so no region is left
 * half-updated by a policy CloudWatch Logs would refuse.
 */
export async function updateDestinationPolicies(
  clientFor: (region: string) => CloudWatchLogsClient,
  regions: string[],
  name: string,
  change: PolicyChange,
  options: { dryRun: boolean; retry: RetryPolicy; signal?: AbortSignal },
): Promise<PolicyUpdate[]> {
  const plans: PolicyUpdate[] = [];
  for (const region of regions) plans.push(await planPolicyUpdate(clientFor(region), region, name, change, options.retry, options.signal));
  const tooLarge = plans.filter((p) => p.policyBytes > MAX_POLICY_BYTES);
  if (tooLarge.length > 0) {
    throw new PolicyTooLargeError(
      tooLarge.map((p) => `${p.region}: the access policy would be ${p.policyBytes} bytes (${p.after.accounts.length} accounts)`).join('; ') +
        `, over CloudWatch Logs' ${MAX_POLICY_BYTES}-byte limit; nothing was changed. An organisation-wide policy stays small: centralog destination set-org <o-...>`,
    );
  }
  for (const plan of plans) {
    if (plan.error || !plan.changed || options.dryRun) continue;
    try {
      await withRetry(
        () => clientFor(plan.region).send(new PutDestinationPolicyCommand({ destinationName: name, accessPolicy: JSON.stringify(plan.policy) }), { abortSignal: options.signal }),
        options.retry,
        undefined,
        options.signal,
      );
      plan.applied = true;
    } catch (err) {
      if (options.signal?.aborted) throw err;
      plan.error = awsReason(err);
    }
  }
  return plans;
}
