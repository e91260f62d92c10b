import { gunzipSync } from 'node:zlib';
import { CloudWatchLogsSimulator } from '../local/index.ts';
import { planFirehoseTransform, TRANSFORM_PROCESSOR_BUFFER_MB, type FirehoseTransformationEvent, type TransformOptions } from '../processors/index.ts';
import { compare, type BenchResult } from './measure.ts';

/** One Firehose invocation of simulated records holding about `bytes` of record data. */
function invocation(simulator: CloudWatchLogsSimulator, bytes: number): { event: FirehoseTransformationEvent; events: number } {
  const records = [];
  let total = 0;
  while (total < bytes) {
    for (const r of simulator.buildRecords(50)) {
      records.push(r);
      total += r.data.length;
    }
  }
  const events = records.reduce((n, r) => n + r.keys.length, 0);
  const event: FirehoseTransformationEvent = {
    invocationId: 'bench',
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/bench',
    sourceKinesisStreamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/bench',
    region: 'us-east-1',
    records: records.map((r, i) => ({
      recordId: String(i),
      approximateArrivalTimestamp: Date.now(),
      data: r.data.toString('base64'),
      kinesisRecordMetadata: {
        shardId: 'shardId-000000000000',
        partitionKey: r.partitionKey,
        approximateArrivalTimestamp: Date.now(),
        sequenceNumber: String(i),
        subsequenceNumber: 0,
      },
    })),
  };
  return { event, events };
}

/**
 * Firehose transform throughput on a realistic mixed batch (simulated VPC flow, CloudTrail
 * and GuardDuty records). Baseline: the floor any transform pays, gunzip + JSON.parse of each
 * record's envelope. First at the processor buffer the infra sets (all output fits the
 * response), then at Firehose's default 1 MB, where part of the output overflows and is
 * re-gzipped back into the stream; both with the log group map the infra sets. Last,
 * without the map.
 */
export function benchTransform(): BenchResult[] {
  const simulator = new CloudWatchLogsSimulator({ accounts: 3 });
  let sink = 0;
  // The infra gives the Lambda the consumer's log group map, as the simulator's groups are mapped here.
  const deployed = { logGroupSources: CloudWatchLogsSimulator.LOG_GROUP_SOURCES };
  const measure = (name: string, bytes: number, options: TransformOptions = deployed): BenchResult => {
    const { event, events } = invocation(simulator, bytes);
    return compare(
      name,
      'events/s',
      events,
      () => {
        sink += planFirehoseTransform(event, options).stats.logEvents;
      },
      () => {
        for (const r of event.records) sink += (JSON.parse(gunzipSync(Buffer.from(r.data, 'base64')).toString('utf8')) as { logEvents: unknown[] }).logEvents.length;
      },
    );
  };
  return [
    measure('transform_mixed_batch_events_per_s', TRANSFORM_PROCESSOR_BUFFER_MB * 1_000_000),
    measure('transform_1mb_overflow_events_per_s', 1_000_000),
    // Without the map (too long for the Lambda's environment, or none given) every CloudTrail and GuardDuty message is parsed for its label.
    measure('transform_unmapped_batch_events_per_s', TRANSFORM_PROCESSOR_BUFFER_MB * 1_000_000, {}),
  ];
}
