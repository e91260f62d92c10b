import { compileRules, shippedRuleFiles } from '../processors/detections/index.ts';
import { toDocument } from '../processors/index.ts';
import { compare, type BenchResult } from './measure.ts';
import { eventsOf } from './parse.ts';

/**
 * CloudTrail events per second on one core through every shipped rule (the events already
 * parsed, as the consumer has them), against the parse baseline: the same events through
 * detect + parse + ECS + id + index name. Then the same as microseconds per event; the
 * budget is 5 µs.
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
  const us = (perSecond: number) => Math.round((1e6 / perSecond) * 1000) / 1000;
  return [
    rate,
    { name: 'detect_cloudtrail_us_per_event', value: us(rate.value), unit: 'µs/event', baseline: us(rate.baseline), ratio: Math.round((rate.baseline / rate.value) * 1000) / 1000 },
  ];
}
