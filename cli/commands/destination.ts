import { Command } from 'commander';
import { z } from 'zod';
import { optionFields } from '../../consumers/index.ts';
import { table, type CommandIO } from '../io.ts';
import { operatorCommand } from '../ops/command.ts';
import { cloudWatchLogsEndpoint, CloudWatchLogsEndpointSchema } from '../ops/clients.ts';
import { cloudWatchLogsClients, DEFAULT_RETRY } from '../ops/cwl.ts';
import { describeDestination, MAX_POLICY_BYTES, updateDestinationPolicies, type PolicyChange, type PolicyUpdate } from '../ops/destination.ts';
import { accountId, connectionSchema, jsonOption, list } from '../ops/options.ts';
import { useProfile } from '../io.ts';
import { regionName } from './onboard.ts';

const { bool } = optionFields;

const Common = z.object({
  ...jsonOption,
  regions: list(regionName).meta({ description: 'regions of the destinations, comma-separated (default: --region)', arg: 'list' }),
  name: z.string().min(1).max(512).default('centralog').meta({ description: "the destination's name in every region", arg: 'name' }),
});
const Connection = connectionSchema([]).extend(CloudWatchLogsEndpointSchema.shape);
const Change = Common.extend({ dryRun: bool.default(false).meta({ description: 'print the new policies; change nothing' }) });

const accounts = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
  z.array(accountId, { error: 'required: account ids, comma-separated' }).min(1, 'required: at least one account id'),
);
const AccountsSchema = Change.extend({ accounts: accounts.meta({ description: 'member account ids, comma-separated (required)', arg: 'list' }) });
const OrgSchema = Change.extend({
  organization: z
    .string({ error: 'required: the organization id (o-...), or none to remove it' })
    .regex(/^(o-[a-z0-9]{10,32}|none)$/, 'expected an organization id such as o-a1b2c3d4e5, or none')
    .meta({ description: 'the AWS Organizations id (o-...) whose accounts may all subscribe; none removes it (required)', arg: 'id' }),
});

function printUpdates(io: CommandIO, updates: PolicyUpdate[], dryRun: boolean): void {
  io.out('');
  const rows = updates.map((u) => [
    u.region,
    u.error ? 'FAILED' : !u.changed ? 'unchanged' : u.applied ? 'updated' : dryRun ? 'would update' : 'not applied',
    u.after.accounts.join(', ') || '-',
    u.after.organizations.join(', ') || '-',
    u.policyBytes ? `${u.policyBytes}/${MAX_POLICY_BYTES}` : '-',
    u.error ?? '',
  ]);
  for (const line of table([['region', 'policy', 'accounts', 'organization', 'bytes', 'error'], ...rows])) io.out(`  ${line}`);
}

function changeCommand(name: string, description: string, schema: typeof AccountsSchema | typeof OrgSchema, change: (o: any) => PolicyChange, examples: string[]): Command {
  const full = (schema as z.ZodObject<z.ZodRawShape>).extend(Connection.shape);
  return operatorCommand({
    name,
    description,
    own: schema,
    connection: Connection,
    schema: full,
    examples,
    run: async (o: any, io, signal) => {
      useProfile(o);
      const updates = await updateDestinationPolicies(cloudWatchLogsClients(cloudWatchLogsEndpoint(o)), o.regions ?? [o.region], o.name, change(o), { dryRun: o.dryRun, retry: DEFAULT_RETRY, signal });
      if (o.json) io.out(JSON.stringify({ dryRun: o.dryRun, updates: updates.map(({ policy, ...u }) => (o.dryRun ? { ...u, policy } : u)) }));
      else {
        printUpdates(io, updates, o.dryRun);
        if (o.dryRun) for (const u of updates.filter((x) => x.changed)) io.out(`\n  ${u.region}: ${JSON.stringify(u.policy)}`);
      }
      return updates.some((u) => u.error) ? 1 : 0;
    },
  });
}

/** `centralog destination`: the central CloudWatch Logs destinations and who may use them. */
export function destinationCommand(): Command {
  const show = operatorCommand({
    name: 'show',
    description: "Show each region's destination: its ARN, target stream, role, and the accounts and organisation its access policy lets subscribe.",
    own: Common,
    connection: Connection,
    schema: Common.extend(Connection.shape),
    examples: ['centralog destination show --profile central --regions eu-west-1,us-east-1'],
    run: async (o, io, signal) => {
      useProfile(o);
      const clientFor = cloudWatchLogsClients(cloudWatchLogsEndpoint(o));
      const views = [];
      for (const region of o.regions ?? [o.region]) views.push(await describeDestination(clientFor(region), region, o.name, DEFAULT_RETRY, signal));
      if (o.json) {
        io.out(JSON.stringify({ destinations: views }));
      } else {
        for (const v of views) {
          io.out('');
          if (v.error) {
            io.out(`  ${v.region}: ${v.error}`);
            continue;
          }
          io.out(`  ${v.region}: ${v.arn}`);
          io.out(`    target        ${v.targetArn}`);
          io.out(`    role          ${v.roleArn}`);
          io.out(`    accounts      ${v.accounts.join(', ') || '-'}`);
          io.out(`    organization  ${v.organizations.join(', ') || '-'}`);
          io.out(`    policy        ${v.policyBytes}/${MAX_POLICY_BYTES} bytes: ${JSON.stringify(v.policy)}`);
        }
      }
      return views.some((v) => v.error) ? 1 : 0;
    },
  });
  return new Command('destination')
    .description(
      "Run in the central account: show each region's CloudWatch Logs destination and its access policy; add or remove member accounts or set the organisation id. " +
        `Account ids are validated, and a policy over CloudWatch Logs' ${MAX_POLICY_BYTES}-byte limit is refused before any change.`,
    )
    .addCommand(show)
    .addCommand(
      changeCommand('add-accounts', 'Let these member accounts subscribe to the destination of each region.', AccountsSchema, (o) => ({ addAccounts: o.accounts }), [
        'centralog destination add-accounts --accounts 111122223333,444455556666 --regions eu-west-1,us-east-1',
      ]),
    )
    .addCommand(
      changeCommand('remove-accounts', 'Stop these member accounts from subscribing (existing filters stop delivering).', AccountsSchema, (o) => ({ removeAccounts: o.accounts }), [
        'centralog destination remove-accounts --accounts 111122223333 --regions eu-west-1 --dry-run',
      ]),
    )
    .addCommand(
      changeCommand(
        'set-org',
        "Let every account of an AWS organisation subscribe (Principal * with aws:PrincipalOrgID); each member's filter must then pass a role of its own account (onboard --role-arn).",
        OrgSchema,
        (o) => ({ organizations: o.organization === 'none' ? [] : [o.organization] }),
        ['centralog destination set-org --organization o-a1b2c3d4e5 --regions eu-west-1,us-east-1'],
      ),
    )
    .addHelpText('after', '\nExamples:\n  centralog destination show --regions eu-west-1\n  centralog destination add-accounts --accounts 111122223333 --regions eu-west-1,us-east-1\n');
}
