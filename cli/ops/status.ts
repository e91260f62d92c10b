import { DescribeDeliveryStreamCommand, type FirehoseClient } from '@aws-sdk/client-firehose';
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@opensearch-project/opensearch';
import { setTimeout as sleep } from 'node:timers/promises';
import { listShards } from '../../consumers/index.ts';
import { LeaseTable, SHARD_END, TRIM_HORIZON, type Lease } from '../../consumers/leases/index.ts';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { utcParts } from '../../processors/index.ts';
import { HOUR_MS } from './archive.ts';
import { listDeadLetterObjects, readDeadLetterObject, reasonKind } from './dead-letters.ts';
import { forEachLimit } from './s3.ts';

/** A section that could not be read says why instead of failing the whole screen. */
export type Section<T> = { ok: true; value: T } | { ok: false; error: string };

async function section<T>(read: () => Promise<T>): Promise<Section<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (err) {
    const e = err as { name?: string; message?: string };
    return { ok: false, error: `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message ?? String(err)}` };
  }
}

export interface ShardStatus {
  shardId: string;
  /** open, closed (resharded, still being read) or finished (closed and checkpointed at its end). */
  state: 'open' | 'closed' | 'finished';
  owner?: string;
  /** The owner renewed the lease while we watched. */
  ownerAlive?: boolean;
  checkpoint: string;
  /** Now minus the arrival time of the checkpointed record (ms). */
  checkpointAgeMs?: number;
  /** Now minus the arrival time of the oldest record not yet checkpointed; 0 when caught up (ms). */
  lagMs: number;
}

export interface WorkerStatus {
  workerId: string;
  leases: number;
  alive: boolean;
}

/** Reads one record at an iterator position: its arrival time, or undefined if there is none yet. */
async function firstArrival(kinesis: KinesisClient, streamName: string, shardId: string, type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER' | 'TRIM_HORIZON', sequenceNumber?: string): Promise<Date | undefined> {
  const it = await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: type, StartingSequenceNumber: sequenceNumber }));
  let iterator = it.ShardIterator;
  // Kinesis may answer empty before the data of a position: a few calls, within its 5 reads/s.
  for (let i = 0; i < 3 && iterator; i++) {
    const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1 }));
    const record = out.Records?.[0];
    if (record) return record.ApproximateArrivalTimestamp;
    if (!out.MillisBehindLatest) return undefined;
    iterator = out.NextShardIterator;
    await sleep(200);
  }
  return undefined;
}

/**
 * Each shard with its lease: owner (alive if its counter moved during `sampleMs`),
 * checkpoint, the checkpoint's age and the lag behind the stream.
 */
export async function readShards(
  kinesis: KinesisClient,
  dynamodb: DynamoDBClient,
  streamName: string,
  leaseTable: string,
  sampleMs: number,
): Promise<{ shards: ShardStatus[]; workers: WorkerStatus[]; sampledMs: number }> {
  const table = new LeaseTable(dynamodb, leaseTable);
  const [shards, first] = await Promise.all([listShards(kinesis, streamName), table.list()]);
  // Workers renew every failoverTime/3: a counter that moves while we watch is a live owner.
  const owned = first.some((l) => l.leaseOwner);
  const second = owned && sampleMs > 0 ? (await sleep(sampleMs), await table.list()) : first;
  const before = new Map(first.map((l) => [l.leaseKey, l]));
  const leases = new Map(second.map((l) => [l.leaseKey, l]));
  const now = Date.now();
  const result: ShardStatus[] = [];
  await forEachLimit(shards, 4, async (shard) => {
    const id = shard.ShardId!;
    const lease: Lease | undefined = leases.get(id);
    const checkpoint = lease?.checkpoint ?? TRIM_HORIZON;
    const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
    const status: ShardStatus = { shardId: id, state: checkpoint === SHARD_END ? 'finished' : closed ? 'closed' : 'open', owner: lease?.leaseOwner, checkpoint, lagMs: 0 };
    if (lease?.leaseOwner) status.ownerAlive = sampleMs > 0 ? before.get(id)?.leaseCounter !== lease.leaseCounter : undefined;
    if (checkpoint !== SHARD_END) {
      const seq = checkpoint === TRIM_HORIZON ? undefined : checkpoint;
      if (seq) {
        const at = await firstArrival(kinesis, streamName, id, 'AT_SEQUENCE_NUMBER', seq).catch(() => undefined);
        if (at) status.checkpointAgeMs = now - at.getTime();
      }
      const next = await firstArrival(kinesis, streamName, id, seq ? 'AFTER_SEQUENCE_NUMBER' : 'TRIM_HORIZON', seq);
      status.lagMs = next ? Math.max(0, now - next.getTime()) : 0;
    }
    result.push(status);
  });
  result.sort((a, b) => a.shardId.localeCompare(b.shardId));
  const byOwner = new Map<string, WorkerStatus>();
  for (const s of result) {
    if (!s.owner) continue;
    const w = byOwner.get(s.owner) ?? { workerId: s.owner, leases: 0, alive: false };
    w.leases++;
    w.alive ||= s.ownerAlive === true;
    byOwner.set(s.owner, w);
  }
  return { shards: result, workers: [...byOwner.values()], sampledMs: owned ? sampleMs : 0 };
}

export interface DeliveryStreamStatus {
  name: string;
  status: string;
  source?: string;
  destination?: string;
  failure?: string;
}

export async function readDeliveryStream(firehose: FirehoseClient, name: string): Promise<DeliveryStreamStatus> {
  const out = await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }));
  const d = out.DeliveryStreamDescription!;
  const dest = d.Destinations?.[0];
  const bucket = dest?.ExtendedS3DestinationDescription?.BucketARN ?? dest?.S3DestinationDescription?.BucketARN;
  return {
    name,
    status: d.DeliveryStreamStatus ?? 'UNKNOWN',
    source: d.Source?.KinesisStreamSourceDescription?.KinesisStreamARN,
    destination: bucket,
    failure: d.FailureDescription ? `${d.FailureDescription.Type}: ${d.FailureDescription.Details}` : undefined,
  };
}

export interface DeadLetterStatus {
  lastHour: number;
  lastDay: number;
  /** Records (objects) in the last day; letters are counted from up to `readLimit` of them. */
  objectsLastDay: number;
  /** Counted from every object (false: from the most recent ones only). */
  complete: boolean;
  reasons: Array<{ reason: string; count: number }>;
}

/** Dead letters written in the last hour and day (by when they were written), with their main reasons. */
export async function readDeadLetterCounts(s3: S3Client, bucket: string, prefix: string, readLimit = 500): Promise<DeadLetterStatus> {
  const now = Date.now();
  const objects = (await listDeadLetterObjects(s3, bucket, prefix, { from: new Date(now - 25 * HOUR_MS), to: new Date(now + HOUR_MS) }))
    .filter((o) => o.lastModified.getTime() >= now - 24 * HOUR_MS)
    .sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime());
  const status: DeadLetterStatus = { lastHour: 0, lastDay: 0, objectsLastDay: objects.length, complete: objects.length <= readLimit, reasons: [] };
  const reasons = new Map<string, number>();
  await forEachLimit(objects.slice(0, readLimit), 8, async (o) => {
    const letters = await readDeadLetterObject(s3, bucket, o.key);
    status.lastDay += letters.length;
    if (o.lastModified.getTime() >= now - HOUR_MS) status.lastHour += letters.length;
    for (const l of letters) reasons.set(reasonKind(l.reason), (reasons.get(reasonKind(l.reason)) ?? 0) + 1);
  });
  status.reasons = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([reason, count]) => ({ reason, count }));
  return status;
}

/** Documents per index family in today's (UTC) indices. */
export async function readDocumentsToday(client: Client, indexPrefix: string): Promise<Record<string, number>> {
  const p = utcParts(new Date());
  const res = await client.cat.indices({ index: `${indexPrefix}-aws.*-${p.year}.${p.month}.${p.day}`, format: 'json', h: 'index,docs.count', expand_wildcards: 'open' } as never);
  const rows = res.body as unknown as Array<{ index: string; 'docs.count': string }>;
  const families: Record<string, number> = {};
  for (const r of rows) {
    const family = r.index.slice(indexPrefix.length + 1).replace(/-\d{4}\.\d\d\.\d\d$/, '');
    families[family] = (families[family] ?? 0) + Number(r['docs.count'] ?? 0);
  }
  return families;
}

export interface LagRow {
  account: string;
  logGroup: string;
  documents: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const LAG_SCRIPT = "doc['event.ingested'].value.toInstant().toEpochMilli() - doc['@timestamp'].value.toInstant().toEpochMilli()";

/** Lag (event.ingested - @timestamp) per account and log group over documents ingested in the last `minutes`. */
export async function readLag(client: Client, indexPrefix: string, minutes = 15): Promise<LagRow[]> {
  const body = {
    size: 0,
    query: { range: { 'event.ingested': { gte: `now-${minutes}m` } } },
    aggs: {
      account: {
        terms: { field: 'aws.cloudwatch.owner', size: 50 },
        aggs: {
          group: {
            terms: { field: 'aws.cloudwatch.log_group', size: 20 },
            aggs: { lag: { percentiles: { script: { source: LAG_SCRIPT }, percents: [50, 99] } }, max: { max: { script: { source: LAG_SCRIPT } } } },
          },
        },
      },
    },
  };
  const res = await client.search({ index: `${indexPrefix}-aws.*`, allow_no_indices: true, ignore_unavailable: true, body: body as never });
  type Bucket<T> = { key: string; doc_count: number } & T;
  const aggs = (res.body as unknown as {
    aggregations?: { account: { buckets: Array<Bucket<{ group: { buckets: Array<Bucket<{ lag: { values: Record<string, number | null> }; max: { value: number | null } }>> } }>> } };
  }).aggregations;
  const rows: LagRow[] = [];
  for (const a of aggs?.account.buckets ?? []) {
    for (const g of a.group.buckets) {
      rows.push({ account: a.key, logGroup: g.key, documents: g.doc_count, p50Ms: g.lag.values['50.0'] ?? 0, p99Ms: g.lag.values['99.0'] ?? 0, maxMs: g.max.value ?? 0 });
    }
  }
  return rows.sort((x, y) => y.p99Ms - x.p99Ms);
}

export interface AlertRow {
  rule: string;
  count: number;
}

/** Alerts raised in the last day, by rule; an empty list when there is no alerts index. */
export async function readAlerts(client: Client, indexPrefix: string): Promise<AlertRow[]> {
  const res = await client.search({
    index: `${indexPrefix}-alerts-*`,
    allow_no_indices: true,
    ignore_unavailable: true,
    body: { size: 0, query: { range: { '@timestamp': { gte: 'now-1d' } } }, aggs: { rule: { terms: { field: 'rule.name', size: 20 } } } } as never,
  });
  const buckets = (res.body as unknown as { aggregations?: { rule: { buckets: Array<{ key: string; doc_count: number }> } } }).aggregations?.rule.buckets ?? [];
  return buckets.map((b) => ({ rule: b.key, count: b.doc_count }));
}

export { section };
