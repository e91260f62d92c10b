import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_VPC_FLOW_FORMAT, SOURCE_TYPES, detectSource } from '../../processors/index.ts';

const fixtureText = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const fixtureJson = <T = unknown>(name: string): T => JSON.parse(fixtureText(name)) as T;

type Obj = Record<string, unknown>;

/** All v2 (default-format) record lines from the AWS VPC user guide examples. */
function defaultFlowLines(): string[] {
  const blocks = fixtureJson<{ kind: string; lines: string[] }[]>('awsdocs_vpc-user-guide_flow-logs-records-examples.json');
  return blocks.filter((b) => b.kind === 'records').flatMap((b) => b.lines.filter((l) => l.startsWith('2 ')));
}

/** The line whose action and log-status fields (13th and 14th) are exactly these. */
function flowLine(action: string, status: string): string {
  const line = defaultFlowLines().find((l) => l.endsWith(` ${action} ${status}`));
  if (!line) throw new Error(`no ${action} ${status} line in the fixture`);
  return line;
}

describe('detectSource: CloudTrail', () => {
  it('detects a real stratus-red-team CloudTrail event (as CloudWatch Logs delivers it, compact JSON) as cloudtrail', () => {
    const [event] = fixtureJson<Obj[]>('aws.defense-evasion.cloudtrail-stop.json');
    const detected = detectSource(JSON.stringify(event));
    expect(detected.source).toBe('cloudtrail');
    if (detected.source !== 'cloudtrail') return;
    expect(detected.record).toEqual(event);
    expect(detected.record.eventName).toBe('StopLogging');
  });

  it('detects the same event pretty-printed with leading whitespace as cloudtrail', () => {
    const [event] = fixtureJson<Obj[]>('aws.defense-evasion.cloudtrail-stop.json');
    const detected = detectSource(`  \n${JSON.stringify(event, null, 2)}\n`);
    expect(detected.source).toBe('cloudtrail');
  });

  it('unwraps an EventBridge "AWS API Call via CloudTrail" envelope to cloudtrail with record = detail', () => {
    const envelope = fixtureJson<Obj>('event-cloud-trail-s3.json');
    const detected = detectSource(JSON.stringify(envelope));
    expect(detected.source).toBe('cloudtrail');
    if (detected.source !== 'cloudtrail') return;
    expect(detected.record).toEqual(envelope.detail);
    expect(detected.record.eventName).toBe('CreateBucket');
    expect(detected.record.eventSource).toBe('s3.amazonaws.com');
  });

  it('does not treat JSON with eventVersion but no eventSource as cloudtrail', () => {
    const detected = detectSource('{"eventVersion":"1.03","userIdentity":{"type":"Root"}}');
    expect(detected).toEqual({ source: 'cloudwatch_logs', json: { eventVersion: '1.03', userIdentity: { type: 'Root' } } });
  });

  it('does not take an S3 event notification a Lambda logged (eventVersion + eventSource "aws:s3") for cloudtrail', () => {
    // The record shape of the S3 event notification documentation: not a CloudTrail event.
    const notification = '{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-11-30T12:00:00.000Z","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}';
    expect(detectSource(notification).source).toBe('cloudwatch_logs');
    expect(detectSource(notification.replace('"aws:s3"', '"s3.amazonaws.com"')).source).toBe('cloudtrail');
  });
});

describe('detectSource: GuardDuty', () => {
  it('detects an EventBridge "GuardDuty Finding" envelope as guardduty with finding = detail and the envelope kept', () => {
    const envelope = fixtureJson<Obj>('iam-duty-event.json');
    const detected = detectSource(JSON.stringify(envelope));
    expect(detected.source).toBe('guardduty');
    if (detected.source !== 'guardduty') return;
    expect(detected.finding).toEqual(envelope.detail);
    expect(detected.finding.type).toBe('UnauthorizedAccess:IAMUser/TorIPCaller');
    expect(detected.envelope).toEqual(envelope);
  });

  it('detects every bare finding line of the panther GuardDuty sample as guardduty, without an envelope', () => {
    const lines = fixtureText('panther-analysis_guardduty_rule_test_logs.ndjson')
      .split('\n')
      .filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(8);
    for (const line of lines) {
      const finding = JSON.parse(line) as Obj;
      const detected = detectSource(line);
      expect(detected.source).toBe('guardduty');
      if (detected.source !== 'guardduty') continue;
      expect(detected.finding).toEqual(finding);
      expect(detected.envelope).toBeUndefined();
    }
  });

  it('does not call an aws.guardduty EventBridge event of another detail-type a GuardDuty finding', () => {
    const envelope = fixtureJson<Obj>('iam-duty-event.json');
    const other = { ...envelope, 'detail-type': 'GuardDuty Malware Protection Object Scan Result' };
    expect(detectSource(JSON.stringify(other)).source).toBe('cloudwatch_logs');
  });
});

describe('detectSource: VPC flow logs (default v2 format)', () => {
  it.each([
    ['ACCEPT', 'OK'],
    ['REJECT', 'OK'],
    ['-', 'NODATA'],
    ['-', 'SKIPDATA'],
  ])('detects the AWS example line with action %s and log-status %s as vpcflow with its 14 fields', (action, status) => {
    const line = flowLine(action, status);
    const detected = detectSource(line);
    expect(detected.source).toBe('vpcflow');
    if (detected.source !== 'vpcflow') return;
    expect(detected.line).toBe(line);
    expect(detected.format).toEqual(DEFAULT_VPC_FLOW_FORMAT);
    expect(detected.format).toHaveLength(14);
  });

  it('detects every default-format example line (IPv6 and ICMP included) as vpcflow', () => {
    const lines = defaultFlowLines();
    expect(lines.length).toBeGreaterThanOrEqual(7);
    expect(lines.map((l) => detectSource(l).source)).toEqual(lines.map(() => 'vpcflow'));
  });

  it('detects a flow line with a trailing newline as vpcflow, without an empty 15th field', () => {
    const detected = detectSource(`${flowLine('ACCEPT', 'OK')}\n`);
    expect(detected.source).toBe('vpcflow');
    if (detected.source === 'vpcflow') expect(detected.line).toBe(flowLine('ACCEPT', 'OK'));
  });

  it('does not call a line with 13 fields, a non-12-digit account or an unknown log-status vpcflow', () => {
    const line = flowLine('ACCEPT', 'OK');
    const fields = line.split(' ');
    expect(detectSource(fields.slice(0, 13).join(' ')).source).toBe('cloudwatch_logs');
    expect(detectSource([fields[0], '12345', ...fields.slice(2)].join(' ')).source).toBe('cloudwatch_logs');
    expect(detectSource([...fields.slice(0, 13), 'MAYBE'].join(' ')).source).toBe('cloudwatch_logs');
    expect(detectSource(['3', ...fields.slice(1)].join(' ')).source).toBe('cloudwatch_logs');
  });
});

describe('detectSource: generic cloudwatch_logs fallback', () => {
  it('falls back to cloudwatch_logs without json for plain text', () => {
    expect(detectSource('START RequestId: 06e46194-f277-454e-88d3-1dd7e3860eaa Version: $LATEST\n')).toEqual({
      source: 'cloudwatch_logs',
    });
    expect(detectSource('')).toEqual({ source: 'cloudwatch_logs' });
  });

  it('falls back to cloudwatch_logs keeping the parsed object for non-matching JSON', () => {
    const message = '{"level":"info","msg":"listening","port":8080}';
    expect(detectSource(message)).toEqual({
      source: 'cloudwatch_logs',
      json: { level: 'info', msg: 'listening', port: 8080 },
    });
  });

  it('falls back to cloudwatch_logs without json for invalid JSON (the truncated otel sample message)', () => {
    expect(detectSource('{"eventVersion":"1.03","userIdentity":{"type":"Root"}')).toEqual({ source: 'cloudwatch_logs' });
  });

  it('falls back to cloudwatch_logs for JSON arrays and for an EventBridge envelope of another service', () => {
    expect(detectSource('[{"eventVersion":"1.08","eventSource":"s3.amazonaws.com"}]')).toEqual({ source: 'cloudwatch_logs' });
    const ec2State = {
      version: '0',
      source: 'aws.ec2',
      'detail-type': 'EC2 Instance State-change Notification',
      detail: { 'instance-id': 'i-0123456789abcdef0', state: 'running' },
    };
    expect(detectSource(JSON.stringify(ec2State))).toEqual({ source: 'cloudwatch_logs', json: ec2State });
  });

  it('declares exactly the five source families in SOURCE_TYPES', () => {
    expect([...SOURCE_TYPES].sort()).toEqual(['cloudtrail', 'cloudwatch_logs', 'elb', 'guardduty', 'vpcflow']);
  });
});
