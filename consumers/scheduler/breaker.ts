import type { RejectedDocument } from '../sinks/opensearch-bulk.ts';
import type { SystemicRefusal } from '../sinks/refusals.ts';

export interface BreakerOptions {
  /** false: every refused document is dead-lettered, however many. Default true. */
  enabled?: boolean;
  /** A batch counts when more than this share of its documents is refused with one error type and field. Default 0.5. */
  share?: number;
  /** Consecutive counting batches of a shard, the last one included, before it pauses. Default 3. */
  batches?: number;
}

interface Streak {
  signature: string;
  batches: number;
}

/**
 * Tells a flood of one document error (a deleted or changed index template makes every
 * document conflict on the same field) from scattered bad documents, before the flood is
 * dead-lettered. Counted per shard: a shard's batches come one after another, and a
 * healthy shard must not reset the count of one that is flooding.
 */
export class RefusalBreaker {
  private readonly enabled: boolean;
  private readonly share: number;
  private readonly batches: number;
  private readonly streaks = new Map<string, Streak>();

  constructor(options: BreakerOptions = {}) {
    this.enabled = options.enabled ?? true;
    this.share = options.share ?? 0.5;
    this.batches = options.batches ?? 3;
  }

  /**
   * Looks at one batch's refused documents (every attempt at it, so a held batch stays
   * held while the flood lasts); returns the refusal to pause with, or undefined to
   * dead-letter them as usual.
   */
  observe(shardId: string, documents: number, rejected: RejectedDocument[]): SystemicRefusal | undefined {
    if (!this.enabled || documents === 0) return undefined;
    const bySignature = new Map<string, { n: number; example: RejectedDocument }>();
    for (const r of rejected) {
      const key = r.signature ?? r.reason;
      const seen = bySignature.get(key);
      bySignature.set(key, { n: (seen?.n ?? 0) + 1, example: seen?.example ?? r });
    }
    const [signature, top] = [...bySignature].sort((a, b) => b[1].n - a[1].n)[0] ?? [];
    if (!signature || !top || top.n / documents <= this.share) {
      this.streaks.delete(shardId);
      return undefined;
    }
    const before = this.streaks.get(shardId);
    // Retries of a held batch do not make the flood look longer than it was.
    const streak = { signature, batches: before?.signature === signature ? Math.min(before.batches + 1, this.batches) : 1 };
    this.streaks.set(shardId, streak);
    if (streak.batches < this.batches) return undefined;
    const index = top.example.document.index;
    return {
      cause: 'breaker',
      index,
      reason:
        `${top.n} of ${documents} documents refused with ${signature} in ${streak.batches} consecutive batches ` +
        `(over ${Math.round(this.share * 100)}%), e.g. ${top.example.status} ${top.example.reason}`,
      advice:
        `the index template or the mapping of ${index} looks missing or changed: compare GET _index_template and GET ${index}/_mapping ` +
        'with what centralog ships, reinstall with centralog bootstrap and fix or delete the index; if these documents really are bad, ' +
        'restart with --breaker false to dead-letter them',
    };
  }
}
