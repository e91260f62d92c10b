import { SHARD_END, type Lease } from './lease-table.ts';

/**
 * When each lease's counter was last seen to change, by this worker's own clock. A lease
 * whose counter has not moved for failoverTime belongs to a dead worker. Clocks of
 * different hosts are never compared.
 */
export class LeaseObservations {
  private readonly seen = new Map<string, { counter: number; owner: string | undefined; changedAt: number }>();

  /** Folds in a fresh scan; a lease seen for the first time counts as just changed. */
  update(leases: Lease[], now: number): void {
    const keys = new Set<string>();
    for (const l of leases) {
      keys.add(l.leaseKey);
      const before = this.seen.get(l.leaseKey);
      if (!before || before.counter !== l.leaseCounter || before.owner !== l.leaseOwner) {
        this.seen.set(l.leaseKey, { counter: l.leaseCounter, owner: l.leaseOwner, changedAt: now });
      }
    }
    for (const key of this.seen.keys()) if (!keys.has(key)) this.seen.delete(key);
  }

  changedAt(leaseKey: string): number | undefined {
    return this.seen.get(leaseKey)?.changedAt;
  }
}

export interface LeasePlanInput {
  leases: Lease[];
  observations: LeaseObservations;
  workerId: string;
  /** Shards this worker is processing right now. */
  held: ReadonlySet<string>;
  now: number;
  failoverTimeMs: number;
  maxLeasesForWorker: number;
  random?: () => number;
}

export interface LeasePlan {
  /** Unowned or expired leases to take, in order. */
  take: Lease[];
  /** At most one lease to take from the most loaded worker. */
  steal?: Lease;
  /** Live workers seen, this one included. */
  workers: number;
  /** Leases this worker aims to hold. */
  target: number;
}

function shuffled<T>(items: T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * Decides which leases to take this cycle: aim at a fair share (ceil(leases / workers));
 * take unowned and expired leases first; only when there are none, steal one lease from
 * the most loaded worker, and only if it holds more than the fair share (or exactly the
 * share while this worker is two or more short), so stealing never just moves the
 * imbalance around. Finished (SHARD_END) leases are nobody's work and are ignored.
 */
export function planLeaseTaking(input: LeasePlanInput): LeasePlan {
  const { workerId, held, now, failoverTimeMs } = input;
  const random = input.random ?? Math.random;
  const active = input.leases.filter((l) => l.checkpoint !== SHARD_END);

  const available: Lease[] = [];
  const perOwner = new Map<string, Lease[]>();
  for (const l of active) {
    const owner = l.leaseOwner;
    const mine = owner === workerId;
    if (mine && held.has(l.leaseKey)) continue;
    const changedAt = input.observations.changedAt(l.leaseKey) ?? now;
    const expired = owner === undefined || now - changedAt > failoverTimeMs;
    // Ours in the table but not being processed (a restart with the same id): take it back.
    if (expired || mine) available.push(l);
    else perOwner.set(owner, [...(perOwner.get(owner) ?? []), l]);
  }
  perOwner.delete(workerId);
  const workers = perOwner.size + 1;
  const target = Math.min(Math.ceil(active.length / workers), input.maxLeasesForWorker);
  const need = target - held.size;
  if (need <= 0) return { take: [], workers, target };

  if (available.length > 0) {
    return { take: shuffled(available, random).slice(0, need), workers, target };
  }
  let mostLoaded: Lease[] = [];
  for (const leases of perOwner.values()) if (leases.length > mostLoaded.length) mostLoaded = leases;
  const worthStealing = mostLoaded.length > target || (mostLoaded.length === target && need > 1);
  if (!worthStealing) return { take: [], workers, target };
  return { take: [], steal: mostLoaded[Math.floor(random() * mostLoaded.length)], workers, target };
}
