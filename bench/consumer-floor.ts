// The consumer benchmark's floor, run as its own process with the worker's node flags:
// `node <flags> --import tsx bench/consumer-floor.ts <records.json> <index prefix>` prints
// {"cpuMicrosPerEvent": n}. Its own process, so the floor carries neither the local stack
// (kinesalite, dynalite and s3rver live in the benchmark's process) nor a heap holding every
// document of the run at once, which the worker never has either.
import type { _Record } from '@aws-sdk/client-kinesis';
import { readFileSync } from 'node:fs';
import { prepareBatch } from '../consumers/index.ts';
import { CloudWatchLogsSimulator } from '../local/cwl-simulator.ts';

const [file, indexPrefix] = process.argv.slice(2);
if (!file || !indexPrefix) throw new Error('usage: consumer-floor.ts <records.json> <index prefix>');
const saved = JSON.parse(readFileSync(file, 'utf8')) as Array<{ data: string; partitionKey: string }>;
const records: _Record[] = saved.map((r, i) => ({ Data: Buffer.from(r.data, 'base64'), PartitionKey: r.partitionKey, SequenceNumber: String(i) }));
/** The worker's default slice: NDJSON bytes per batch (--batch-bytes). */
const BATCH_BYTES = 5 * 1024 * 1024;

/** Decode, parse, ECS and serialisation of every record, in the worker's slices; returns the events. */
function pass(): number {
  let events = 0;
  for (let from = 0; from < records.length; ) {
    const batch = prepareBatch(records, { streamName: 'bench', shardId: 'shardId-000000000000', indexPrefix, from, maxBytes: BATCH_BYTES, logGroupSources: CloudWatchLogsSimulator.LOG_GROUP_SOURCES, indexWindow: {} });
    from += batch.records;
    events += batch.documents.length;
  }
  return events;
}

pass(); // warm-up: compile the hot paths first, as a worker running for hours has
const perEvent: number[] = [];
for (let i = 0; i < 3; i++) {
  const before = process.cpuUsage();
  const events = pass();
  const used = process.cpuUsage(before);
  perEvent.push((used.user + used.system) / events);
}
perEvent.sort((a, b) => a - b);
process.stdout.write(`${JSON.stringify({ cpuMicrosPerEvent: perEvent[1] })}\n`);
