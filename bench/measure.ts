/** One benchmark result: throughput next to a baseline measured in the same run. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
}

/**
 * Runs `fn` (which handles `items` items per call) repeatedly for about `ms`
 * milliseconds after a warm-up, and returns items per second.
 */
export function throughput(items: number, fn: () => void, ms = 1500): number {
  const warmUntil = performance.now() + Math.min(300, ms / 4);
  while (performance.now() < warmUntil) fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    fn();
    calls++;
    now = performance.now();
  }
  return (items * calls) / ((now - start) / 1000);
}

/** Measures candidate and baseline interleaved (A B A B A B) and keeps each one's median, to tame noisy machines. */
export function compare(
  name: string,
  unit: string,
  items: number,
  candidate: () => void,
  baseline: () => void,
  rounds = 3,
): BenchResult {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < rounds; i++) {
    a.push(throughput(items, candidate));
    b.push(throughput(items, baseline));
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const value = Math.round(median(a));
  const base = Math.round(median(b));
  return { name, value, unit, baseline: base, ratio: Math.round((value / base) * 1000) / 1000 };
}

export function report(results: BenchResult[], json: boolean): void {
  for (const r of results) {
    if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else {
      process.stdout.write(
        `${r.name.padEnd(36)} ${r.value.toLocaleString('en-US').padStart(12)} ${r.unit.padEnd(10)} baseline ${r.baseline.toLocaleString('en-US').padStart(12)}  ratio ${r.ratio.toFixed(3)}\n`,
      );
    }
  }
}
