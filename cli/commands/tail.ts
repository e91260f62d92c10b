import type { Command } from 'commander';
import { z } from 'zod';
import { DocumentRulesSchema, optionFields } from '../../consumers/index.ts';
import { operatorClients } from '../ops/clients.ts';
import { operatorCommand } from '../ops/command.ts';
import { accountId, connectionSchema, jsonOption, list, parseTime, source } from '../ops/options.ts';
import { tailStream, type TailEvent, type TailStart } from '../ops/tail.ts';

const { bool, int } = optionFields;

const start = z
  .string()
  .default('10m')
  .transform((text, ctx): TailStart => {
    const t = text.trim().toLowerCase();
    if (t === 'trim-horizon') return { type: 'TRIM_HORIZON' };
    if (t === 'latest') return { type: 'LATEST' };
    const time = parseTime(text);
    if (time) return { type: 'AT_TIMESTAMP', time };
    ctx.addIssue({ code: 'custom', message: 'expected trim-horizon, latest, an ISO time or a duration ago (10m, 2h)' });
    return z.NEVER;
  });

const TailOwnSchema = z.object({
  ...jsonOption,
  from: start.meta({ description: 'where to start: trim-horizon | latest | ISO time | a duration ago (default 10m)', arg: 'position' }),
  follow: bool.default(false).meta({ description: 'keep reading new records until Ctrl-C (otherwise stop once caught up)' }),
  source: list(source).meta({ description: 'only these sources, comma-separated: vpcflow, cloudtrail, guardduty, cloudwatch_logs', arg: 'list' }),
  account: list(accountId).meta({ description: 'only these member accounts, comma-separated', arg: 'list' }),
  logGroup: list(z.string().min(1)).meta({ description: 'only these log groups, comma-separated; * matches any characters', arg: 'list' }),
  limit: int(1, 10_000_000).optional().meta({ description: 'stop after this many events', arg: 'n' }),
});
// With the consumer's rules (its CENTRALOG_* variables), events come back with the ids, sources and indices it gave them.
const TailConnection = connectionSchema(['kinesisEndpoint', 'streamName', 'indexPrefix']).extend(DocumentRulesSchema.shape);
const TailOptionsSchema = TailOwnSchema.extend(TailConnection.shape);

type Doc = Record<string, any>;

/** The few fields that say what happened, per source. */
export function summarize(e: TailEvent): string {
  const d = e.document as Doc;
  const ev = (d.event ?? {}) as Doc;
  const endpoint = (x: Doc | undefined) => (x?.ip ? `${x.ip}${x.port !== undefined ? `:${x.port}` : ''}` : '-');
  switch (e.source) {
    case 'vpcflow':
      if (!ev.action && d.aws?.vpcflow?.log_status) return `${d.aws.vpcflow.log_status} ${d.aws.vpcflow.interface_id ?? ''}`.trimEnd();
      return `${ev.action ?? d.aws?.vpcflow?.action ?? '-'} ${d.network?.transport ?? '-'} ${endpoint(d.source)} -> ${endpoint(d.destination)} ${d.network?.bytes ?? 0} B ${d.network?.packets ?? 0} pkt${d.cloud?.instance?.id ? ` ${d.cloud.instance.id}` : ''}`;
    case 'cloudtrail': {
      const who = d.user?.name ?? d.aws?.cloudtrail?.user_identity?.arn ?? d.user?.id ?? '-';
      const err = d.aws?.cloudtrail?.error_code ?? ev.reason;
      return `${ev.provider ?? '-'} ${ev.action ?? '-'} by ${who} from ${d.source?.ip ?? d.source?.address ?? '-'} ${ev.outcome ?? ''}${err ? ` (${err})` : ''}`.trimEnd();
    }
    case 'guardduty':
      return `severity ${ev.severity ?? '-'} ${d.rule?.name ?? '-'}: ${d.message ?? ''}`;
    default: {
      const message = e.message.replace(/\s+/g, ' ');
      return message.length > 200 ? `${message.slice(0, 197)}...` : message;
    }
  }
}

export function tailLine(e: TailEvent): string {
  return `${new Date(e.timestamp).toISOString()} ${e.owner} ${e.logGroup} [${e.source}] ${summarize(e)}`;
}

/** `centralog tail`: decoded events straight from the stream. */
export function tailCommand(): Command {
  return operatorCommand({
    name: 'tail',
    description:
      'Print decoded, readable events straight from the central Kinesis stream, one line per event (time, account, log group, source, what happened), ' +
      'or one JSON object per event with --json (the raw event, its envelope and the ECS document it becomes). Reads each shard at most twice a second, ' +
      'leaving the rest of the read limit to the consumers and Firehose.',
    own: TailOwnSchema,
    connection: TailConnection,
    schema: TailOptionsSchema,
    examples: ['centralog tail --from trim-horizon --limit 20', 'centralog tail --follow --from latest --source cloudtrail --account 111122223333', 'centralog tail --log-group "/aws/vpc/*" --json | jq .document.source.ip'],
    run: async (o, io, signal) => {
      const clients = operatorClients(o);
      const counts = await tailStream(clients.kinesis(), {
        streamName: o.streamName,
        start: o.from,
        follow: o.follow,
        sources: o.source,
        accounts: o.account,
        logGroups: o.logGroup,
        limit: o.limit,
        indexPrefix: o.indexPrefix,
        rules: o,
        signal,
        onEvent: (e) => io.out(o.json ? JSON.stringify(e) : tailLine(e)),
        onProblem: (m) => io.err(`tail: ${m}`),
      });
      io.err(`tail: ${counts.shown} event(s) shown of ${counts.events} read from ${counts.records} record(s)${counts.controlMessages ? `, ${counts.controlMessages} CONTROL_MESSAGE record(s) skipped` : ''}${counts.undecodable ? `, ${counts.undecodable} undecodable` : ''}`);
      return 0;
    },
  });
}
