import { describe, expect, it } from 'vitest';
import { LeaseObservations, planLeaseTaking, SHARD_END, type Lease } from '../../consumers/leases/index.ts';

function lease(n: number, owner?: string, extra: Partial<Lease> = {}): Lease {
  return {
    leaseKey: `shardId-${String(n).padStart(12, '0')}`,
    leaseOwner: owner,
    leaseCounter: 1,
    checkpoint: '4960',
    checkpointSubSequenceNumber: 0,
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    ...extra,
  };
}

const FAILOVER = 10_000;

function plan(leases: Lease[], me: string, options: { held?: string[]; now?: number; seenAt?: number; max?: number } = {}) {
  const observations = new LeaseObservations();
  observations.update(leases, options.seenAt ?? 0);
  return planLeaseTaking({
    leases,
    observations,
    workerId: me,
    held: new Set(options.held ?? leases.filter((l) => l.leaseOwner === me).map((l) => l.leaseKey)),
    now: options.now ?? 1000,
    failoverTimeMs: FAILOVER,
    maxLeasesForWorker: options.max ?? Number.POSITIVE_INFINITY,
    random: () => 0,
  });
}

describe('lease taking and balancing', () => {
  it('takes every unowned lease when it is the only worker', () => {
    const p = plan([1, 2, 3, 4].map((n) => lease(n)), 'a');
    expect(p.workers).toBe(1);
    expect(p.target).toBe(4);
    expect(p.take).toHaveLength(4);
    expect(p.steal).toBeUndefined();
  });

  it('aims at ceil(leases / workers) and steals one lease per cycle from the most loaded worker', () => {
    const leases = [...[1, 2, 3, 4, 5, 6].map((n) => lease(n, 'a')), lease(7, 'b'), lease(8, 'b')];
    const p = plan(leases, 'c');
    expect(p.workers).toBe(3);
    expect(p.target).toBe(3);
    expect(p.take).toEqual([]);
    expect(p.steal?.leaseOwner).toBe('a');
  });

  it('does not steal when the most loaded worker holds only its fair share and this one is one short (3/3/2)', () => {
    const leases = [1, 2, 3].map((n) => lease(n, 'a')).concat([4, 5, 6].map((n) => lease(n, 'b')), [7, 8].map((n) => lease(n, 'c')));
    const p = plan(leases, 'c');
    expect(p.target).toBe(3);
    expect(p.take).toEqual([]);
    expect(p.steal).toBeUndefined();
  });

  it('steals from a worker at its share when this one is two or more short', () => {
    const leases = [1, 2, 3].map((n) => lease(n, 'a')).concat([4, 5, 6].map((n) => lease(n, 'b')), [lease(7, 'c')]);
    const p = plan(leases, 'c');
    expect(p.target).toBe(3);
    expect(p.steal).toBeDefined();
  });

  it('treats a lease whose counter has not moved for failoverTime as expired, and its owner as gone', () => {
    const leases = [1, 2, 3, 4].map((n) => lease(n, 'dead')).concat([5, 6, 7, 8].map((n) => lease(n, 'b')));
    const fresh = plan(leases, 'c', { seenAt: 0, now: FAILOVER });
    expect(fresh.take).toEqual([]);
    const observations = new LeaseObservations();
    observations.update(leases, 0);
    // b renews (its counters move); dead does not.
    const later = leases.map((l) => (l.leaseOwner === 'b' ? { ...l, leaseCounter: 2 } : l));
    observations.update(later, FAILOVER);
    const p = planLeaseTaking({
      leases: later,
      observations,
      workerId: 'c',
      held: new Set(),
      now: FAILOVER + 1,
      failoverTimeMs: FAILOVER,
      maxLeasesForWorker: Number.POSITIVE_INFINITY,
      random: () => 0,
    });
    expect(p.workers).toBe(2);
    expect(p.target).toBe(4);
    expect(p.take.map((l) => l.leaseOwner)).toEqual(['dead', 'dead', 'dead', 'dead']);
  });

  it('ignores finished (SHARD_END) leases and respects maxLeasesForWorker', () => {
    const leases = [lease(1, undefined, { checkpoint: SHARD_END }), lease(2), lease(3), lease(4)];
    const p = plan(leases, 'a', { max: 2 });
    expect(p.target).toBe(2);
    expect(p.take.map((l) => l.leaseKey)).not.toContain('shardId-000000000001');
    expect(p.take).toHaveLength(2);
  });

  it('takes back a lease the table says is its own but that it is not processing (a restart under the same id)', () => {
    const leases = [lease(1, 'a'), lease(2, 'b')];
    const p = plan(leases, 'a', { held: [] });
    expect(p.take.map((l) => l.leaseKey)).toEqual(['shardId-000000000001']);
  });
});
