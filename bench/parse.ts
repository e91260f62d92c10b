import { CloudWatchLogsSimulator, type SimulatedSource } from '../local/index.ts';
import { decodeCwlRecord, toDocument, type CwlEnvelope, type CwlLogEvent } from '../processors/index.ts';
import { compare, type BenchResult } from './measure.ts';

export function eventsOf(source: SimulatedSource, count: number): Array<{ envelope: CwlEnvelope; event: CwlLogEvent }> {
  const simulator = new CloudWatchLogsSimulator({ accounts: 3 });
  const out: Array<{ envelope: CwlEnvelope; event: CwlLogEvent }> = [];
  while (out.length < count) {
    for (const r of simulator.buildRecords(2000)) {
      if (r.source !== source) continue;
      const d = decodeCwlRecord(r.data);
      if (d.kind === 'data') for (const event of d.envelope.logEvents) out.push({ envelope: d.envelope, event });
    }
  }
  return out.slice(0, count);
}

/**
 * Documents per second per source on one core: detect + parse + normalise to ECS + id +
 * index name (what the consumer and `centralog parse` run per event). Baseline: the
 * least any parser does, JSON.parse of the message (split on spaces for flow lines).
 */
export function benchParse(): BenchResult[] {
  const results: BenchResult[] = [];
  let sink = 0;
  for (const source of ['cloudtrail', 'vpcflow', 'guardduty'] as const) {
    const events = eventsOf(source, 2000);
    const floor =
      source === 'vpcflow'
        ? () => {
            for (const { event } of events) sink += event.message.split(' ').length;
          }
        : () => {
            for (const { event } of events) sink += Object.keys(JSON.parse(event.message) as object).length;
          };
    results.push(
      compare(
        `parse_${source}_docs_per_s`,
        'docs/s',
        events.length,
        () => {
          for (const { envelope, event } of events) sink += toDocument(envelope, event).id.length;
        },
        floor,
      ),
    );
  }
  if (sink === 0) throw new Error('benchmark produced nothing');
  return results;
}
