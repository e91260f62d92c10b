import { FirehoseClient } from '@aws-sdk/client-firehose';
import type { Command } from 'commander';
import { z } from 'zod';
import { optionFields } from '../../consumers/index.ts';
import { table, type CommandIO } from '../io.ts';
import { operatorClients } from '../ops/clients.ts';
import { operatorCommand } from '../ops/command.ts';
import { connectionSchema, jsonOption } from '../ops/options.ts';
import {
  readAlerts,
  readDeadLetterCounts,
  readDeliveryStream,
  readDocumentsToday,
  readLag,
  readShards,
  section,
  type DeliveryStreamStatus,
  type Section,
} from '../ops/status.ts';
import { fmt } from './replay.ts';

const { int } = optionFields;

const StatusOwnSchema = z.object({
  ...jsonOption,
  sampleMs: int(0, 60_000)
    .default(4000)
    .meta({ description: 'how long to watch the lease table to tell live workers from dead ones (workers renew every failoverTime/3); 0 skips it', arg: 'ms' }),
  lagMinutes: int(1, 1440).default(15).meta({ description: 'the window of the lag per account and log group', arg: 'minutes' }),
});
const StatusConnection = connectionSchema([
  'kinesisEndpoint',
  'dynamodbEndpoint',
  's3Endpoint',
  'opensearchUrl',
  'opensearchAuth',
  'indexPrefix',
  'streamName',
  'leaseTable',
  'deadLetterBucket',
  'deadLetterPrefix',
  'deliveryStream',
]);
const StatusOptionsSchema = StatusOwnSchema.extend(StatusConnection.shape);

/** 1.2 s, 3 min 4 s, 2 h 5 min: a duration as an operator reads it. */
export function age(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

function print<T>(io: CommandIO, title: string, s: Section<T>, render: (value: T) => string[]): void {
  io.out('');
  io.out(title);
  const lines = s.ok ? render(s.value) : [`unavailable: ${s.error}`];
  for (const l of lines) io.out(`  ${l}`);
}

/** `centralog status`: the pipeline on one screen. */
export function statusCommand(): Command {
  return operatorCommand({
    name: 'status',
    description:
      'The pipeline on one screen: per shard the lease owner, checkpoint age and lag; workers alive; the Firehose delivery stream; dead letters in the last hour and day; ' +
      'documents per index family today; lag per account and log group (event.ingested - @timestamp) over the last 15 minutes; alerts raised. ' +
      'A part that cannot be read says why; the exit code is then 1.',
    own: StatusOwnSchema,
    connection: StatusConnection,
    schema: StatusOptionsSchema,
    examples: ['centralog status', 'centralog status --stream-name central-logs --lease-table centralog-leases --delivery-stream centralog-archive --json'],
    run: async (o, io) => {
      const clients = operatorClients(o);
      io.err(`status: stream ${o.streamName}, lease table ${o.leaseTable}, ${o.opensearchUrl} (${o.indexPrefix}-*), s3://${o.deadLetterBucket}/${o.deadLetterPrefix}`);
      const [shards, firehose, deadLetters, documents, lag, alerts] = await Promise.all([
        section(() => readShards(clients.kinesis(), clients.dynamodb(), o.streamName, o.leaseTable, o.sampleMs)),
        o.deliveryStream ? section(() => readDeliveryStream(new FirehoseClient({ region: o.region }), o.deliveryStream!)) : Promise.resolve(undefined),
        section(() => readDeadLetterCounts(clients.s3(), o.deadLetterBucket, o.deadLetterPrefix)),
        section(() => readDocumentsToday(clients.opensearch(), o.indexPrefix)),
        section(() => readLag(clients.opensearch(), o.indexPrefix, o.lagMinutes)),
        section(() => readAlerts(clients.opensearch(), o.indexPrefix)),
      ]);
      const parts = { shards, firehose, deadLetters, documents, lag, alerts };
      const failed = Object.values(parts).some((p) => p !== undefined && !p.ok);
      if (o.json) {
        io.out(JSON.stringify(Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, v === undefined ? null : v.ok ? v.value : { error: v.error }]))));
        return failed ? 1 : 0;
      }
      print(io, `shards of ${o.streamName}`, shards, (v) => [
        ...table([
          ['shard', 'state', 'lease owner', 'checkpoint age', 'lag'],
          ...v.shards.map((s) => [
            s.shardId,
            s.state,
            s.owner ? `${s.owner}${s.ownerAlive === false ? ' (not renewing)' : ''}` : '(none)',
            s.state === 'finished' ? 'SHARD_END' : s.checkpoint === 'TRIM_HORIZON' ? 'none yet' : age(s.checkpointAgeMs),
            s.state === 'finished' ? '-' : s.lagMs === 0 ? 'caught up' : age(s.lagMs),
          ]),
        ]),
      ]);
      print(io, 'workers', shards, (v) =>
        v.workers.length === 0
          ? ['none holds a lease: no consumer is running']
          : [
              ...table([['worker', 'leases', v.sampledMs > 0 ? `alive (renewed within ${age(v.sampledMs)})` : 'alive'], ...v.workers.map((w) => [w.workerId, String(w.leases), v.sampledMs > 0 ? (w.alive ? 'yes' : 'NO') : '?'])]),
            ],
      );
      const delivery: Section<DeliveryStreamStatus | undefined> = firehose ?? { ok: true, value: undefined };
      print(io, 'Firehose delivery stream', delivery, (v) =>
        v ? [`${v.name}: ${v.status}${v.destination ? ` -> ${v.destination}` : ''}${v.failure ? `  failure: ${v.failure}` : ''}`] : ['not checked (give --delivery-stream; the local stack has no Firehose control plane)'],
      );
      print(io, 'dead letters', deadLetters, (v) => [
        `last hour ${fmt(v.lastHour)}, last day ${fmt(v.lastDay)}${v.complete ? '' : ` (letters counted from the latest ${fmt(500)} of ${fmt(v.objectsLastDay)} records)`}`,
        ...v.reasons.map((r) => `${String(r.count).padStart(8)}  ${r.reason.length > 140 ? `${r.reason.slice(0, 137)}...` : r.reason}`),
      ]);
      print(io, 'documents today (UTC), per index family', documents, (v) =>
        Object.keys(v).length === 0 ? ['no index of today yet'] : table(Object.entries(v).sort().map(([family, n]) => [family, fmt(n)])),
      );
      print(io, `lag per account and log group, last ${o.lagMinutes} minutes (event.ingested - @timestamp)`, lag, (v) =>
        v.length === 0
          ? [`no document ingested in the last ${o.lagMinutes} minutes (by event.ingested)`]
          : table([['account', 'log group', 'documents', 'p50', 'p99', 'max'], ...v.slice(0, 20).map((r) => [r.account, r.logGroup, fmt(r.documents), age(r.p50Ms), age(r.p99Ms), age(r.maxMs)])]),
      );
      print(io, 'alerts, last day', alerts, (v) => (v.length === 0 ? ['none'] : table([['rule', 'alerts'], ...v.map((a) => [a.rule, fmt(a.count)])])));
      return failed ? 1 : 0;
    },
  });
}
