import { gunzipSync } from 'node:zlib';
import { CloudWatchLogsSimulator } from '../local/index.ts';
import { planFirehoseTransform, type FirehoseTransformationEvent } from '../processors/index.ts';
import { compare, type BenchResult } from './measure.ts';

/**
 * Firehose transform throughput on a realistic mixed batch (simulated VPC flow,
 * CloudTrail and GuardDuty records, about 1 MB of gzip like Firehose's default buffer).
 * Baseline: the floor any transform pays, gunzip + JSON.parse of each record's envelope.
 */
export function benchTransform(): BenchResult[] {
  const simulator = new CloudWatchLogsSimulator({ accounts: 3 });
  const records = [];
  let bytes = 0;
  while (bytes < 1_000_000) {
    for (const r of simulator.buildRecords(200)) {
      records.push(r);
      bytes += r.data.length;
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
  let sink = 0;
  return [
    compare(
      'transform_mixed_batch_events_per_s',
      'events/s',
      events,
      () => {
        sink += planFirehoseTransform(event).stats.logEvents;
      },
      () => {
        for (const r of event.records) sink += (JSON.parse(gunzipSync(Buffer.from(r.data, 'base64')).toString('utf8')) as { logEvents: unknown[] }).logEvents.length;
      },
    ),
  ];
}
