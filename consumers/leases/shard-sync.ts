import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';
import { listShards } from '../retrieval/list-shards.ts';
import { SHARD_END, TRIM_HORIZON, type Lease, type LeaseTable } from './lease-table.ts';

export interface ShardSyncResult {
  shards: number;
  created: string[];
  /** Finished parent leases deleted because all their children have started. */
  cleaned: string[];
}

function parentsOf(shard: Shard): string[] {
  return [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => typeof p === 'string');
}

/**
 * Shards in an order where every parent comes before its children, so a child's lease
 * is never created before its parents' (a child with no parent lease counts its parents
 * as finished and cleaned up).
 */
function parentsFirst(shards: Shard[]): Shard[] {
  const byId = new Map(shards.map((s) => [s.ShardId!, s]));
  const ordered: Shard[] = [];
  const placed = new Set<string>();
  const place = (s: Shard): void => {
    if (placed.has(s.ShardId!)) return;
    placed.add(s.ShardId!);
    for (const p of parentsOf(s)) {
      const parent = byId.get(p);
      if (parent) place(parent);
    }
    ordered.push(s);
  };
  shards.forEach(place);
  return ordered;
}

/** A child may be read once each parent is checkpointed at SHARD_END (or its lease was cleaned up after that). */
export function parentsFinished(lease: Lease, leases: ReadonlyMap<string, Lease | undefined>): boolean {
  return lease.parentShardIds.every((p) => {
    const parent = leases.get(p);
    return parent === undefined || parent.checkpoint === SHARD_END;
  });
}

/**
 * Makes the lease table match the stream: a lease for every shard that needs reading,
 * created unowned (conditional put, so workers syncing at once never clash), and
 * finished parents removed once every child has started.
 *
 * A closed shard whose children already have leases is not given a new lease: its
 * lease was cleaned up after it finished, and reading it again would only replay it.
 */
export async function syncShardLeases(kinesis: KinesisClient, streamName: string, table: LeaseTable): Promise<ShardSyncResult> {
  const shards = parentsFirst(await listShards(kinesis, streamName));
  const leases = new Map((await table.list()).map((l) => [l.leaseKey, l]));
  const children = new Map<string, string[]>();
  for (const s of shards) for (const p of parentsOf(s)) children.set(p, [...(children.get(p) ?? []), s.ShardId!]);

  const created: string[] = [];
  for (const shard of shards) {
    const id = shard.ShardId!;
    if (leases.has(id)) continue;
    const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
    if (closed && (children.get(id) ?? []).some((c) => leases.has(c))) continue;
    const parents = parentsOf(shard);
    if (await table.create(id, parents)) created.push(id);
    leases.set(id, { leaseKey: id, leaseCounter: 0, checkpoint: TRIM_HORIZON, checkpointSubSequenceNumber: 0, ownerSwitchesSinceCheckpoint: 0, parentShardIds: parents });
  }

  const cleaned: string[] = [];
  for (const lease of leases.values()) {
    if (lease.checkpoint !== SHARD_END) continue;
    const kids = children.get(lease.leaseKey) ?? [];
    const started = kids.length > 0 && kids.every((c) => {
      const child = leases.get(c);
      return child !== undefined && child.checkpoint !== TRIM_HORIZON;
    });
    if (started && (await table.deleteFinished(lease.leaseKey))) cleaned.push(lease.leaseKey);
  }
  return { shards: shards.length, created, cleaned };
}
