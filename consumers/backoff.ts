/**
 * The one retry policy of the consumer: exponential back-off with "equal jitter"
 * (half fixed, half random), so retries of many shards or items spread out instead of
 * arriving together, while a retry never comes sooner than half the nominal wait.
 */
export interface BackoffPolicy {
  /** Nominal wait before the second attempt. */
  baseMs: number;
  /** The nominal wait never grows past this. */
  maxMs: number;
}

/** Wait before attempt `attempt + 1`, after `attempt` (1-based) failed attempts. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  // Capping the exponent first keeps 2 ** n finite for any attempt count.
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(policy.baseMs * 2 ** exponent, policy.maxMs);
  return ceiling / 2 + random() * (ceiling / 2);
}
