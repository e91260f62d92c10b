import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { archiveLine, decodeCwlRecord, toDocuments, type CwlEnvelope } from '../../processors/index.ts';
import { allSamples, sampleEnvelope } from '../samples.ts';

/**
 * The archive partitions each event by the Firehose transform's cheap sniffSource; the
 * consumer indexes it by full detection and parsing. A replay of one source's partition
 * must find exactly the events that source's documents came from, so the two must agree on
 * every event we have: the document's source, or the source whose parser failed on it
 * (tagged `<source>_parse_failure`, so a replay after a parser fix retries it).
 */

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const read = (p: string) => readFileSync(join(FIXTURES, p), 'utf8');

function envelopeOf(message: string, logGroup = '/fixtures/whole-file'): CwlEnvelope {
  return { messageType: 'DATA_MESSAGE', owner: '123456789012', logGroup, logStream: 's', subscriptionFilters: [], logEvents: [{ id: '1', timestamp: 1_700_000_000_000, message }] };
}

function jsonFiles(dir = FIXTURES): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsonFiles(join(dir, e.name)) : e.name.endsWith('.json') ? [relative(FIXTURES, join(dir, e.name))] : [],
  );
}

/** Every event the fixtures hold, each in the envelope (and VPC flow format) it would arrive in. */
function fixtureEvents(): Array<{ origin: string; envelope: CwlEnvelope; format?: string[] }> {
  const out: Array<{ origin: string; envelope: CwlEnvelope; format?: string[] }> = allSamples().map((s, i) => ({
    origin: s.origin,
    envelope: sampleEnvelope(s, i),
    format: s.vpcFormat,
  }));
  // CloudWatch Logs deliveries as they are, plain or base64-compressed.
  const deliveries = ['valid_cloudwatch_log.json', 'vpcflow/valid_vpc_flow_cw.json', 'vpcflow/valid_vpc_flow_cw_custom.json', 'vpcflow/valid_tgw_flow_cw.json'];
  for (const f of deliveries) out.push({ origin: f, envelope: JSON.parse(read(f)) as CwlEnvelope });
  read('multiple_json_objects.json')
    .split(/\n(?=\{)/)
    .forEach((t, i) => out.push({ origin: `multiple_json_objects.json#${i}`, envelope: JSON.parse(t) as CwlEnvelope }));
  const compressed = [
    ...(JSON.parse(read('powertools-py_kinesisStreamCloudWatchLogsEvent.json')) as { Records: { kinesis: { data: string } }[] }).Records.map((r) => r.kinesis.data),
    (JSON.parse(read('powertools-py_cloudWatchLogEventWithPolicyLevel.json')) as { awslogs: { data: string } }).awslogs.data,
  ];
  compressed.forEach((data, i) => {
    const decoded = decodeCwlRecord(Buffer.from(data, 'base64'));
    if (decoded.kind === 'data') out.push({ origin: `powertools#${i}`, envelope: decoded.envelope });
  });
  // Each JSON fixture file, and each element of a JSON array file, as one pretty-printed message:
  // what a forwarder that writes whole objects or files to a log group delivers.
  for (const f of jsonFiles()) {
    const text = read(f);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      continue; // not one JSON document (concatenated deliveries, handled above)
    }
    out.push({ origin: f, envelope: envelopeOf(text) });
    if (Array.isArray(json)) json.forEach((x, i) => out.push({ origin: `${f}[${i}]`, envelope: envelopeOf(JSON.stringify(x, null, 2)) }));
  }
  return out;
}

describe('the archive label agrees with the document', () => {
  const events = fixtureEvents();

  it('covers every fixture event', () => {
    expect(events.length).toBeGreaterThan(1000);
  });

  it('labels each fixture event with its document source, or the source whose parser failed on it', () => {
    const disagreements: string[] = [];
    let parseFailures = 0;
    for (const { origin, envelope, format } of events) {
      const formats = format ? { [envelope.logGroup]: format } : undefined;
      const docs = toDocuments(envelope, { vpcFlowFormats: formats });
      envelope.logEvents.forEach((event, i) => {
        const label = archiveLine(envelope, event, { vpcFlowFormats: formats }).source;
        const doc = docs[i]!;
        if (label === `aws.${doc.source}`) return;
        const failed = doc.source === 'cloudwatch_logs' && (doc.body.tags as string[] | undefined)?.includes(`${label.slice(4)}_parse_failure`);
        if (failed) parseFailures++;
        else disagreements.push(`${origin}#${i}: archived as ${label}, indexed as aws.${doc.source}`);
      });
    }
    expect(disagreements).toEqual([]);
    // the truncated Bedrock record and the panther fragments with placeholder times
    expect(parseFailures).toBeGreaterThan(0);
  });

  it('labels a mapped group\'s events with the mapped source without parsing them, agreeing with the documents on every fixture', () => {
    const disagreements: string[] = [];
    let mapped = 0;
    for (const { origin, envelope, format } of events) {
      const formats = format ? { [envelope.logGroup]: format } : undefined;
      const docs = toDocuments(envelope, { vpcFlowFormats: formats });
      envelope.logEvents.forEach((event, i) => {
        const source = docs[i]!.source;
        if (source !== 'cloudtrail' && source !== 'guardduty') return;
        const logGroupSources = { [envelope.logGroup]: source };
        const [doc] = toDocuments({ ...envelope, logEvents: [event] }, { vpcFlowFormats: formats, logGroupSources });
        const label = archiveLine(envelope, event, { vpcFlowFormats: formats, logGroupSources }).source;
        mapped++;
        if (label !== `aws.${doc!.source}`) disagreements.push(`${origin}#${i}: archived as ${label}, indexed as aws.${doc!.source}`);
      });
    }
    expect(disagreements).toEqual([]);
    expect(mapped).toBeGreaterThan(500);
  });

  it('in a mapped group, a line without the source\'s keys is labelled as sniffed; one with them is labelled with the group\'s source', () => {
    const trail = { 'aws-cloudtrail-logs-1': 'cloudtrail' } as const;
    const line = (message: string) => archiveLine({ ...envelopeOf(message), logGroup: 'aws-cloudtrail-logs-1' }, { id: '1', timestamp: 1, message }, { logGroupSources: trail }).source;
    expect(line('2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 1 40 1700000000 1700000060 ACCEPT OK')).toBe('aws.vpcflow');
    expect(line('{"level":"info","msg":"started"}')).toBe('aws.cloudwatch_logs');
    // Truncated: the consumer makes a generic document of it, which a replay of the group's source finds.
    expect(line('{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObj')).toBe('aws.cloudtrail');
    const finding = (message: string) => archiveLine({ ...envelopeOf(message), logGroup: '/aws/events/guardduty' }, { id: '1', timestamp: 1, message }, { logGroupSources: { '/aws/events/guardduty': 'guardduty' } }).source;
    expect(finding('{"schemaVersion":"2.0","type":"Recon:EC2/PortProbeUnprotectedPort","severity":2}')).toBe('aws.guardduty');
    expect(finding('{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2024-01-01T00:00:00Z"}')).toBe('aws.cloudtrail');
    expect(finding('{"level":"warn","msg":"slow"}')).toBe('aws.cloudwatch_logs');
  });

  it.each([
    ['a CloudTrail record logged inside an application log', '{"level":"info","event":{"eventVersion":"1.08","eventSource":"s3.amazonaws.com"}}'],
    ['a GuardDuty finding quoted by a rule log', '{"msg":"matched","rule":{"source":"aws.guardduty","detail-type":"GuardDuty Finding"}}'],
    ['a truncated CloudTrail record', '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObj'],
    ['a key spelled with an escape', '{"\\u0065ventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2024-01-01T00:00:00Z"}'],
    ['a GuardDuty source spelled with an escape', '{"source":"aws.guard\\u0064uty","detail-type":"GuardDuty Finding","detail":{"id":"f","updatedAt":"2024-01-01T00:00:00Z"}}'],
  ])('labels %s as it indexes it', (_what, message) => {
    const envelope = envelopeOf(message);
    const [doc] = toDocuments(envelope);
    expect(archiveLine(envelope, envelope.logEvents[0]!).source).toBe(`aws.${doc!.source}`);
  });
});
