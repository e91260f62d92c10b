import { compileRules, shippedRuleFiles } from '../processors/detections/index.ts';
import { toDocument } from '../processors/index.ts';
import { compare, type BenchResult } from './measure.ts';
import { eventsOf } from './parse.ts';

/**
 * CloudTrail events per second on one core through every shipped rule (the events already
 * parsed, as the consumer has them), against the parse baseline: the same events through
 * detect + parse + ECS + id + index name. Then the same as microseconds per event, by the
 * clock and by CPU time (the process's own, so a busy machine does not inflate it); the budget
 * is 5 µs.
 */
export function benchDetect(): BenchResult[] {
  const rules = compileRules(shippedRuleFiles());
  if (rules.errors.length > 0) throw new Error(`shipped rules refused: ${JSON.stringify(rules.errors)}`);
  const events = eventsOf('cloudtrail', 2000);
  const records = events.map(({ event }) => JSON.parse(event.message) as Record<string, unknown>);
  let sink = 0;
  let matches = 0;
  const rate = compare(
    `detect_cloudtrail_events_per_s_${rules.rules.length}_rules`,
    'events/s',
    records.length,
    () => {
      for (const record of records) matches += rules.match(record, 'cloudtrail').length;
    },
    () => {
      for (const { envelope, event } of events) sink += toDocument(envelope, event).id.length;
    },
  );
  if (sink === 0 || matches === 0) throw new Error('benchmark produced nothing');
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const us = (perSecond: number) => round(1e6 / perSecond);
  const cpu = cpuMicrosPerItem(records.length, () => {
    for (const record of records) matches += rules.match(record, 'cloudtrail').length;
  });
  const cpuBaseline = cpuMicrosPerItem(events.length, () => {
    for (const { envelope, event } of events) sink += toDocument(envelope, event).id.length;
  });
  return [
    rate,
    { name: 'detect_cloudtrail_us_per_event', value: us(rate.value), unit: 'µs/event', baseline: us(rate.baseline), ratio: round(rate.baseline / rate.value) },
    { name: 'detect_cloudtrail_cpu_us_per_event', value: round(cpu), unit: 'µs/event', baseline: round(cpuBaseline), ratio: round(cpu / cpuBaseline) },
  ];
}

/** CPU microseconds (user + system, this process) per item of `fn`, run for about `ms` after a warm-up. */
function cpuMicrosPerItem(items: number, fn: () => void, ms = 1500): number {
  for (const until = performance.now() + 300; performance.now() < until; ) fn();
  const start = process.cpuUsage();
  let calls = 0;
  for (const until = performance.now() + ms; performance.now() < until; calls++) fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / (calls * items);
}
