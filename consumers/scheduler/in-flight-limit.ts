/**
 * A counting semaphore for batches in flight. A shard takes a slot before GetRecords and
 * gives it back after its checkpoint, so when OpenSearch slows down, slots stay taken and
 * reading slows with it: memory is bounded by the slot count, not by the stream.
 */
export class InFlightLimit {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`slots must be a positive integer, got ${slots}`);
  }

  /** Waits for a free slot; rejects with the signal's reason if aborted first. */
  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.used < this.slots) {
      this.used++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter, so `used` stays the same.
    if (next) next();
    else this.used--;
  }
}
