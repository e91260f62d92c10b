import { setTimeout as sleep } from 'node:timers/promises';
import { LeaseObservations, planLeaseTaking } from './lease-taker.ts';
import type { Lease, LeaseTable } from './lease-table.ts';

export interface LeaseCoordinatorOptions {
  /** A lease not renewed for this long is taken by another worker (KCL's failoverTimeMillis). */
  failoverTimeMs?: number;
  /** How often held leases are renewed; failoverTime / 3 leaves two chances to spare. */
  renewIntervalMs?: number;
  /** How often the table is scanned for leases to take; bounds how late a dead worker is noticed. */
  takeIntervalMs?: number;
  maxLeasesForWorker?: number;
}

export type LeaseEvent =
  | { type: 'acquired'; lease: Lease; how: 'unowned' | 'expired' | 'stolen' | 'reclaimed'; from?: string }
  | { type: 'lost'; leaseKey: string; reason: string };

/** A lease this worker holds; `lost` fires the moment it stops being ours. */
export interface HeldLease {
  lease: Lease;
  lost: AbortController;
  /** Last successful renewal or checkpoint, by this worker's clock. */
  confirmedAt: number;
  /** Writes to one lease run one at a time: renewal and checkpoint both move the counter. */
  writes: Promise<unknown>;
}

/**
 * Holds, renews, takes and balances this worker's leases. Every write is conditional, so
 * a lease taken by someone else is noticed at the next write (renewal at the latest) and
 * reported as lost at once.
 */
export class LeaseCoordinator {
  readonly held = new Map<string, HeldLease>();
  private readonly observations = new LeaseObservations();
  private readonly stopping = new AbortController();
  private readonly stoppingTakes = new AbortController();
  private loops: Promise<void>[] = [];
  readonly failoverTimeMs: number;
  /** When the lease table was last read (0: never): a worker that cannot read it cannot keep or take leases. */
  lastScanAt = 0;
  private readonly renewIntervalMs: number;
  private readonly takeIntervalMs: number;
  private readonly maxLeases: number;

  constructor(
    private readonly table: LeaseTable,
    readonly workerId: string,
    private readonly onEvent: (event: LeaseEvent) => void,
    private readonly onError: (what: string, err: unknown) => void,
    options: LeaseCoordinatorOptions = {},
  ) {
    this.failoverTimeMs = options.failoverTimeMs ?? 10_000;
    this.renewIntervalMs = options.renewIntervalMs ?? Math.floor(this.failoverTimeMs / 3);
    this.takeIntervalMs = options.takeIntervalMs ?? Math.max(200, Math.floor(this.failoverTimeMs / 10));
    this.maxLeases = options.maxLeasesForWorker ?? Number.POSITIVE_INFINITY;
  }

  start(): void {
    this.loops = [
      this.every(this.renewIntervalMs, () => this.renewAll(), 'lease renewal', this.stopping.signal),
      this.every(this.takeIntervalMs, () => this.takeLeases(), 'lease taking', this.stoppingTakes.signal),
    ];
  }

  /** Takes no more leases; held ones are still renewed (a shutdown finishing its batches). */
  stopTaking(): void {
    this.stoppingTakes.abort();
  }

  /** Stops renewing and taking; held leases stay held until released or expired. */
  async stop(): Promise<void> {
    this.stoppingTakes.abort();
    this.stopping.abort();
    await Promise.all(this.loops);
  }

  private async every(intervalMs: number, task: () => Promise<void>, what: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await task();
      } catch (err) {
        this.onError(what, err);
      }
      try {
        await sleep(intervalMs, undefined, { signal });
      } catch {
        return;
      }
    }
  }

  /** Runs one write on a held lease after the ones before it. */
  private serial<T>(held: HeldLease, write: () => Promise<T>): Promise<T> {
    const next = held.writes.then(write, write);
    held.writes = next.catch(() => undefined);
    return next;
  }

  /** Drops a lease from the held set and stops its processing. */
  private lose(leaseKey: string, reason: string): void {
    const held = this.held.get(leaseKey);
    if (!held) return;
    this.held.delete(leaseKey);
    held.lost.abort(new Error(`lease ${leaseKey} lost: ${reason}`));
    this.onEvent({ type: 'lost', leaseKey, reason });
  }

  private async renewAll(): Promise<void> {
    await Promise.all(
      [...this.held.values()].map(async (held) => {
        try {
          const ok = await this.serial(held, () => this.table.renew(held.lease));
          if (ok) held.confirmedAt = Date.now();
          else this.lose(held.lease.leaseKey, 'renewal refused: another worker holds it now');
        } catch (err) {
          // Unable to reach DynamoDB: once failoverTime passes, others may have taken it.
          if (Date.now() - held.confirmedAt > this.failoverTimeMs) {
            this.lose(held.lease.leaseKey, `not renewed for ${this.failoverTimeMs} ms (${String(err)})`);
          } else this.onError(`renewing ${held.lease.leaseKey}`, err);
        }
      }),
    );
  }

  private async takeLeases(): Promise<void> {
    const leases = await this.table.list();
    const now = Date.now();
    this.lastScanAt = now;
    this.observations.update(leases, now);
    // A held lease whose owner changed in the table was taken from us.
    for (const l of leases) {
      const held = this.held.get(l.leaseKey);
      if (held && l.leaseOwner !== this.workerId) this.lose(l.leaseKey, `taken by ${l.leaseOwner ?? 'nobody (released)'}`);
    }
    const plan = planLeaseTaking({
      leases,
      observations: this.observations,
      workerId: this.workerId,
      held: new Set(this.held.keys()),
      now,
      failoverTimeMs: this.failoverTimeMs,
      maxLeasesForWorker: this.maxLeases,
    });
    const wanted = plan.steal ? [plan.steal] : plan.take;
    for (const lease of wanted) {
      if (this.stoppingTakes.signal.aborted) return;
      const how =
        lease === plan.steal ? 'stolen' : lease.leaseOwner === undefined ? 'unowned' : lease.leaseOwner === this.workerId ? 'reclaimed' : 'expired';
      const taken = await this.table.take(lease, this.workerId);
      if (!taken) continue;
      this.held.set(taken.leaseKey, { lease: taken, lost: new AbortController(), confirmedAt: Date.now(), writes: Promise.resolve() });
      this.onEvent({ type: 'acquired', lease: taken, how, from: lease.leaseOwner });
    }
  }

  /**
   * Checkpoints a held lease. Returns false (and reports the lease lost) if it is no
   * longer ours; throws only when DynamoDB cannot be reached.
   */
  async checkpoint(leaseKey: string, sequenceNumber: string, subSequenceNumber = 0): Promise<boolean> {
    const held = this.held.get(leaseKey);
    if (!held || held.lost.signal.aborted) return false;
    const ok = await this.serial(held, () => this.table.checkpoint(held.lease, sequenceNumber, subSequenceNumber));
    if (ok) held.confirmedAt = Date.now();
    else this.lose(leaseKey, 'checkpoint refused: another worker holds it now');
    return ok;
  }

  /** Stops tracking a lease whose shard is finished (no renewals needed: nobody takes SHARD_END leases). */
  forget(leaseKey: string): void {
    this.held.delete(leaseKey);
  }

  /** Gives a held lease back so another worker can take it without waiting for expiry. */
  async release(leaseKey: string): Promise<boolean> {
    const held = this.held.get(leaseKey);
    if (!held) return false;
    this.held.delete(leaseKey);
    return this.serial(held, () => this.table.release(held.lease));
  }
}
