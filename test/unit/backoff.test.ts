import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../consumers/backoff.ts';

const policy = { baseMs: 100, maxMs: 5000 };
const lowest = () => 0;
const highest = () => 0.999_999_999;

describe('backoffDelay', () => {
  it('waits between half and all of the nominal delay (equal jitter)', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const nominal = Math.min(policy.baseMs * 2 ** (attempt - 1), policy.maxMs);
      expect(backoffDelay(attempt, policy, lowest)).toBe(nominal / 2);
      expect(backoffDelay(attempt, policy, highest)).toBeCloseTo(nominal, 3);
      for (let i = 0; i < 200; i++) {
        const wait = backoffDelay(attempt, policy);
        expect(wait).toBeGreaterThanOrEqual(nominal / 2);
        expect(wait).toBeLessThanOrEqual(nominal);
      }
    }
  });

  it('doubles with each attempt, so until the cap a later wait is never shorter than an earlier one', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, policy, lowest))).toEqual([50, 100, 200, 400, 800]);
    // Equal jitter: the least wait of attempt n+1 is the most of attempt n (100 x 2^5 < 5000 < 100 x 2^6).
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect(backoffDelay(attempt + 1, policy, lowest)).toBeGreaterThanOrEqual(backoffDelay(attempt, policy, highest) - 1e-6);
    }
  });

  it('stops growing at maxMs', () => {
    expect(backoffDelay(7, policy, highest)).toBeCloseTo(5000, 3);
    expect(backoffDelay(8, policy, lowest)).toBe(2500);
    expect(backoffDelay(20, policy, highest)).toBeLessThanOrEqual(5000);
  });

  it('stays finite and capped for huge attempt counts', () => {
    for (const attempt of [31, 1024, 1e6, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY]) {
      const wait = backoffDelay(attempt, policy);
      expect(Number.isFinite(wait)).toBe(true);
      expect(wait).toBeGreaterThanOrEqual(2500);
      expect(wait).toBeLessThanOrEqual(5000);
    }
    // Even a cap above 2^30 x base is reached and never passed.
    const wide = { baseMs: 1, maxMs: Number.MAX_SAFE_INTEGER };
    expect(Number.isFinite(backoffDelay(1e9, wide, highest))).toBe(true);
    // No delay at all stays no delay (0 x 2^huge would be NaN).
    expect(backoffDelay(5000, { baseMs: 0, maxMs: 1000 })).toBe(0);
  });

  it('treats attempt 0 or less as the first attempt', () => {
    expect(backoffDelay(0, policy, lowest)).toBe(50);
    expect(backoffDelay(-3, policy, highest)).toBeCloseTo(100, 3);
  });
});
