import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  archiveLine,
  encodeCwlRecord,
  firehoseTransformHandler,
  planFirehoseTransform,
  type ArchiveLine,
  type CwlEnvelope,
  type FirehoseTransformationEvent,
  type FirehoseTransformationRecord,
} from '../../processors/index.ts';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
const fixtureJson = <T = unknown>(name: string): T => JSON.parse(fixture(name).toString('utf8')) as T;

/** The real Kinesis-source Firehose transformation event shape (powertools-python test event). */
const template = fixtureJson<FirehoseTransformationEvent>('powertools-py_kinesisFirehoseKinesisEvent.json');

const [trailEvent] = fixtureJson<Record<string, unknown>[]>('aws.defense-evasion.cloudtrail-stop.json');
const vpcLine = '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK';

/** A CloudTrail log-group batch as CloudWatch Logs would deliver it (2 events, one log stream). */
const dataEnvelope: CwlEnvelope = {
  messageType: 'DATA_MESSAGE',
  owner: '143434273843',
  logGroup: 'aws-cloudtrail-logs-143434273843',
  logStream: '143434273843_CloudTrail_eu-west-1',
  subscriptionFilters: ['centralog-to-destination'],
  logEvents: [
    { id: '38412650493938491274838740372947238910291045812839472128', timestamp: Date.UTC(2024, 6, 31, 13, 11, 2, 345), message: JSON.stringify(trailEvent) },
    {
      id: '38412650493938491274838740372947238910291045812839472129',
      timestamp: Date.UTC(2024, 6, 31, 13, 11, 3, 0),
      message: JSON.stringify({ ...trailEvent, eventName: 'StartLogging' }),
      extractedFields: { '@aws.account': '143434273843', '@aws.region': 'eu-west-1' },
    },
  ],
};

const b64 = (buf: Buffer): string => buf.toString('base64');

const realCapture = fixtureJson<{ Records: { kinesis: { data: string; partitionKey: string; sequenceNumber: string } }[] }>(
  'powertools-py_kinesisStreamCloudWatchLogsEvent.json',
);

function record(
  i: number,
  data: string,
  kinesis: { partitionKey?: string; sequenceNumber?: string } = {},
): FirehoseTransformationRecord {
  const base = template.records[i % template.records.length]!;
  const arrival = 1722431463000 + i * 17;
  return {
    recordId: `49651535427862034516472834950197934186271468913627963394000000000000000${i}`,
    approximateArrivalTimestamp: arrival,
    data,
    kinesisRecordMetadata: {
      ...base.kinesisRecordMetadata!,
      partitionKey: kinesis.partitionKey ?? base.kinesisRecordMetadata!.partitionKey,
      sequenceNumber: kinesis.sequenceNumber ?? `4965153542786203451647283495019793418627146891362796339${i}`,
      approximateArrivalTimestamp: arrival,
      subsequenceNumber: 0,
    },
  };
}

const corruptData = (() => {
  const bytes = encodeCwlRecord(dataEnvelope);
  for (let i = 12; i < 40; i++) bytes[i] = 0x00;
  return b64(bytes);
})();

const event: FirehoseTransformationEvent = {
  invocationId: template.invocationId,
  deliveryStreamArn: template.deliveryStreamArn,
  sourceKinesisStreamArn: template.sourceKinesisStreamArn,
  region: template.region,
  records: [
    record(0, b64(encodeCwlRecord(dataEnvelope))),
    record(1, b64(gzipSync(fixture('valid_cloudwatch_log_control.json')))),
    record(2, corruptData),
    // A real captured Kinesis record, passed through untouched.
    record(3, realCapture.Records[0]!.kinesis.data, {
      partitionKey: realCapture.Records[0]!.kinesis.partitionKey,
      sequenceNumber: realCapture.Records[0]!.kinesis.sequenceNumber,
    }),
  ],
};

function ndjson(data: string): ArchiveLine[] {
  const text = Buffer.from(data, 'base64').toString('utf8');
  expect(text.endsWith('\n')).toBe(true); // Firehose concatenates records: each must end its last line
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as ArchiveLine);
}

describe('planFirehoseTransform', () => {
  const result = planFirehoseTransform(event).response;

  it('answers every recordId exactly once and in input order', () => {
    expect(result.records.map((r) => r.recordId)).toEqual(event.records.map((r) => r.recordId));
    expect(new Set(result.records.map((r) => r.recordId)).size).toBe(event.records.length);
  });

  it('marks the DATA record Ok, the CONTROL record Dropped and the corrupt record ProcessingFailed', () => {
    expect(result.records.map((r) => r.result)).toEqual(['Ok', 'Dropped', 'ProcessingFailed', 'Ok']);
  });

  it('writes one NDJSON line per log event with the raw message, its envelope fields and detected source', () => {
    const lines = ndjson(result.records[0]!.data);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEqual({
      source: 'aws.cloudtrail',
      owner: '143434273843',
      logGroup: 'aws-cloudtrail-logs-143434273843',
      logStream: '143434273843_CloudTrail_eu-west-1',
      id: '38412650493938491274838740372947238910291045812839472128',
      timestamp: Date.UTC(2024, 6, 31, 13, 11, 2, 345),
      message: JSON.stringify(trailEvent),
    });
    expect(lines[1]?.message).toBe(dataEnvelope.logEvents[1]!.message);
    expect(lines[1]?.extractedFields).toEqual({ '@aws.account': '143434273843', '@aws.region': 'eu-west-1' });
    expect(lines.map((l) => l.id)).toEqual(dataEnvelope.logEvents.map((e) => e.id));
  });

  it('partitions the Ok record by source, account and the UTC year/month/day/hour of its first event', () => {
    expect(result.records[0]!.metadata).toEqual({
      partitionKeys: { source: 'aws.cloudtrail', account: '143434273843', year: '2024', month: '07', day: '31', hour: '13' },
    });
  });

  it('archives the real Kinesis capture as cloudwatch_logs lines, keeping multi-line messages intact', () => {
    const ok = result.records[3]!;
    const lines = ndjson(ok.data);
    expect(lines.map((l) => l.id)).toEqual([
      '37199717562907174288355125807040114704837640994633613312',
      '37199717563107880995141901415313936169291476248187437057',
      '37199717563107880995141901415313936169291476248187437058',
    ]);
    expect(lines.every((l) => l.source === 'aws.cloudwatch_logs' && l.owner === '231436140809')).toBe(true);
    expect(lines[2]?.message).toBe(
      'REPORT RequestId: 06e46194-f277-454e-88d3-1dd7e3860eaa\tDuration: 9.14 ms\tBilled Duration: 10 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\tInit Duration: 190.62 ms\t\nXRAY TraceId: 1-636d1462-33ef10600061cad86dab71c8\tSegmentId: 7ccb4860675ee485\tSampled: true\t\n',
    );
    // 1668093027015 = 2022-11-10T15:10:27.015Z
    expect(ok.metadata?.partitionKeys).toEqual({
      source: 'aws.cloudwatch_logs',
      account: '231436140809',
      year: '2022',
      month: '11',
      day: '10',
      hour: '15',
    });
  });

  it('drops the CONTROL record with empty data and no partition keys', () => {
    expect(result.records[1]).toEqual({ recordId: event.records[1]!.recordId, result: 'Dropped', data: '' });
  });

  it('returns the corrupt record ProcessingFailed with its original data and no partition keys', () => {
    expect(result.records[2]).toEqual({ recordId: event.records[2]!.recordId, result: 'ProcessingFailed', data: corruptData });
  });

  it('answers an event with no records with no records', () => {
    expect(planFirehoseTransform({ ...event, records: [] }).response).toEqual({ records: [] });
  });

  it('keeps order and one answer per recordId across a larger mixed batch', () => {
    const kinds = Array.from({ length: 60 }, (_, i) => i % 3);
    const big: FirehoseTransformationEvent = {
      ...event,
      records: kinds.map((k, i) => ({ ...event.records[k]!, recordId: `r-${String(i).padStart(3, '0')}` })),
    };
    const out = planFirehoseTransform(big).response;
    expect(out.records.map((r) => r.recordId)).toEqual(big.records.map((r) => r.recordId));
    expect(out.records.map((r) => r.result)).toEqual(kinds.map((k) => ['Ok', 'Dropped', 'ProcessingFailed'][k]));
  });
});

describe('firehoseTransformHandler', () => {
  it('answers every record as the contract says: data records Ok with one archive line per event, CONTROL Dropped, corrupt ProcessingFailed', async () => {
    const out = await firehoseTransformHandler(event);
    expect(out.records.map((r) => [r.recordId, r.result])).toEqual(event.records.map((r, i) => [r.recordId, ['Ok', 'Dropped', 'ProcessingFailed', 'Ok'][i]]));
    const lines = Buffer.from(out.records[0]!.data!, 'base64').toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string; source: string });
    // The two event ids of the fixture envelope, in order, labelled as CloudTrail.
    expect(lines.map((l) => [l.id, l.source])).toEqual([
      ['38412650493938491274838740372947238910291045812839472128', 'aws.cloudtrail'],
      ['38412650493938491274838740372947238910291045812839472129', 'aws.cloudtrail'],
    ]);
    expect(out.records[1]!.data ?? '').toBe('');
  });
});

describe('archiveLine', () => {
  it('omits extractedFields when the log event has none and tags the detected source', () => {
    const line = archiveLine(dataEnvelope, { id: '7', timestamp: 1418530070000, message: vpcLine });
    expect(line).toEqual({
      source: 'aws.vpcflow',
      owner: '143434273843',
      logGroup: 'aws-cloudtrail-logs-143434273843',
      logStream: '143434273843_CloudTrail_eu-west-1',
      id: '7',
      timestamp: 1418530070000,
      message: vpcLine,
    });
    expect('extractedFields' in line).toBe(false);
  });
});
