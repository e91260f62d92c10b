import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { alertDocument, alertId, alertIndex, detectionInput, publishInput } from '../../consumers/alerts/index.ts';
import type { BulkDocument } from '../../consumers/sinks/opensearch-bulk.ts';
import { findMotoServer } from '../../local/moto.ts';
import { toDocuments, type CwlEnvelope, type LogGroupSources } from '../../processors/index.ts';
import type { RuleMatch } from '../../processors/detections/index.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
// Real events (see the fixtures' READMEs): a StopLogging call and an EventBridge GuardDuty finding.
const trailStop = JSON.stringify((JSON.parse(readFileSync(join(FIXTURES, 'cloudtrail', 'stratus-red-team', 'aws.defense-evasion.cloudtrail-stop.json'), 'utf8')) as unknown[])[0]);
const finding = JSON.stringify(JSON.parse(readFileSync(join(FIXTURES, 'iam-duty-event.json'), 'utf8')));

/** The document the consumer indexes for one event, with the origin the batch attaches to it. */
function indexed(owner: string, logGroup: string, message: string, sources?: LogGroupSources): BulkDocument {
  const envelope: CwlEnvelope = { messageType: 'DATA_MESSAGE', owner, logGroup, logStream: 's', subscriptionFilters: ['f'], logEvents: [{ id: '1', timestamp: Date.parse('2024-07-31T13:07:00Z'), message }] };
  const doc: BulkDocument = toDocuments(envelope, { indexPrefix: 'p', logGroupSources: sources })[0]!;
  doc.origin = { record: { envelope: { owner, logGroup, logStream: 's' }, sequenceNumber: '1' }, event: envelope.logEvents[0]! };
  return doc;
}

const match: RuleMatch = {
  rule: { id: 'r-1', title: 'Trail stopped — ünïcode and a title long enough to pass the one hundred characters SNS allows a subject', level: 'high', author: 'someone', tags: ['attack.t1562'], logsource: { product: 'aws', service: 'cloudtrail' } },
};

describe('what detections see', () => {
  const sources: LogGroupSources = { 'aws-cloudtrail-logs-*': 'cloudtrail', '/aws/events/guardduty': 'guardduty', '/ops/forwarder': 'trusted' };

  it("gives a mapped group's CloudTrail event to the rules as raw CloudTrail, with the envelope's facts under centralog", () => {
    const input = detectionInput(indexed('143434273843', 'aws-cloudtrail-logs-143434273843', trailStop, sources), sources)!;
    expect(input.service).toBe('cloudtrail');
    expect(input.event).toMatchObject({ eventName: 'StopLogging', eventSource: 'cloudtrail.amazonaws.com', userIdentity: { type: 'IAMUser' } });
    expect(input.event.centralog).toEqual({ account_mismatch: false, owner: '143434273843', log_group: 'aws-cloudtrail-logs-143434273843' });
  });

  it('marks an event naming another account than its group owner as account_mismatch', () => {
    const input = detectionInput(indexed('999999999999', 'aws-cloudtrail-logs-x', trailStop, sources), sources)!;
    expect(input.event.centralog).toMatchObject({ account_mismatch: true, owner: '999999999999' });
  });

  it("gives a mapped GuardDuty group's finding itself (the EventBridge detail), and a trusted group's events as the payload says", () => {
    const gd = detectionInput(indexed('123456789012', '/aws/events/guardduty', finding, sources), sources)!;
    expect(gd.service).toBe('guardduty');
    expect(gd.event).toHaveProperty('severity');
    expect(gd.event).toHaveProperty('type');
    expect(gd.event).not.toHaveProperty('detail-type');
    expect(detectionInput(indexed('143434273843', '/ops/forwarder', trailStop, sources), sources)?.service).toBe('cloudtrail');
  });

  it('evaluates the record the document was parsed from, not a second parse of its message', () => {
    const doc = indexed('143434273843', 'aws-cloudtrail-logs-143434273843', trailStop, sources);
    expect(doc.raw).toMatchObject({ eventName: 'StopLogging' });
    doc.raw!.eventName = 'SeenWithoutParsing';
    expect(detectionInput(doc, sources)!.event.eventName).toBe('SeenWithoutParsing');
    // The finding itself, not the EventBridge event around it.
    expect(indexed('123456789012', '/aws/events/guardduty', finding, sources).raw).not.toHaveProperty('detail-type');
    // A generic document has no record, and its message is not the group's source: nothing to evaluate.
    const text = indexed('143434273843', 'aws-cloudtrail-logs-143434273843', 'plain text', sources);
    expect(text.raw).toBeUndefined();
    expect(detectionInput(text, sources)).toBeUndefined();
  });

  it('never evaluates an unmapped group, nor any group when no map is given (the payload alone would decide)', () => {
    expect(detectionInput(indexed('143434273843', '/app/forged', trailStop, sources), sources)).toBeUndefined();
    const unbound = indexed('143434273843', 'aws-cloudtrail-logs-143434273843', trailStop);
    expect(unbound.source).toBe('cloudtrail');
    expect(detectionInput(unbound, undefined)).toBeUndefined();
  });
});

describe('alert documents and messages', () => {
  const source = indexed('143434273843', 'aws-cloudtrail-logs-143434273843', trailStop, { 'aws-cloudtrail-logs-*': 'cloudtrail' });

  it('keys an alert by rule and document, so the same match always has the same id', () => {
    expect(alertId('r-1', 'doc')).toBe(alertId('r-1', 'doc'));
    expect(alertId('r-1', 'doc')).not.toBe(alertId('r-2', 'doc'));
    expect(alertId('r-1', 'doc')).not.toBe(alertId('r-1', 'doc2'));
    expect(alertDocument(match, source, { indexPrefix: 'p', workerId: 'w' }).id).toBe(alertId('r-1', source.id));
  });

  it("files an alert under its source index's month, which is bounded like every index", () => {
    expect(alertIndex('p', 'p-aws.cloudtrail-2024.07.31', '2024-07-31T13:06:24Z')).toBe('p-alerts-2024.07');
    // An event time out of the window went to the ingest day's index: so does its alert.
    expect(alertIndex('p', 'p-aws.cloudtrail-2026.12.02', '1999-01-01T00:00:00Z')).toBe('p-alerts-2026.12');
  });

  it('carries the fields dashboards read, unpublished and claimed by its creator', () => {
    const alert = alertDocument(match, source, { indexPrefix: 'p', workerId: 'w-1', now: new Date('2026-12-02T00:00:00Z') });
    expect(alert.index).toBe('p-alerts-2024.07');
    expect(alert.body).toMatchObject({
      event: { kind: 'signal', severity: 73, action: 'StopLogging', created: '2026-12-02T00:00:00.000Z' },
      rule: { id: 'r-1', author: 'someone', ruleset: 'sigma' },
      tags: ['attack.t1562'],
      cloud: { account: { id: '143434273843' } },
      source: { ip: '86.245.153.234' },
      aws: { cloudwatch: { log_group: 'aws-cloudtrail-logs-143434273843', event_id: '1' } },
      centralog: { alert: { level: 'high', published: false, claimed_by: 'w-1', claimed_at: '2026-12-02T00:00:00.000Z', source: { id: source.id, index: source.index } } },
    });
    expect(alert.body['@timestamp']).toBe(source.body['@timestamp']);
  });

  it('publishes JSON with level and rule as message attributes, a subject SNS accepts, and the alert id as FIFO dedup id', () => {
    const alert = alertDocument(match, source, { indexPrefix: 'p', workerId: 'w' });
    const input = publishInput('arn:aws:sns:us-east-1:123456789012:alerts', alert);
    expect(input.MessageAttributes).toEqual({ level: { DataType: 'String', StringValue: 'high' }, rule: { DataType: 'String', StringValue: 'r-1' }, account: { DataType: 'String', StringValue: '143434273843' } });
    expect(input.Subject!.length).toBeLessThanOrEqual(100);
    expect(input.Subject).toMatch(/^\[high\] Trail stopped \? \?n\?code/);
    expect(input.Subject).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(input.Message!)).toMatchObject({ rule: { id: 'r-1', level: 'high', author: 'someone' }, account: '143434273843', eventName: 'StopLogging', source: { id: source.id } });
    expect(input.MessageDeduplicationId).toBeUndefined();
    const fifo = publishInput('arn:aws:sns:us-east-1:123456789012:alerts.fifo', alert);
    expect(fifo).toMatchObject({ MessageDeduplicationId: alert.id, MessageGroupId: 'r-1' });
  });
});

describe('the local SNS launcher', () => {
  it('says what to install when python3 is missing, and what to run when moto is', () => {
    expect(() => findMotoServer('/nonexistent-venv', '/nonexistent-bin')).toThrow(/python3 was not found on PATH.*apt-get install python3 python3-venv.*bash scripts\/python-venvs\.sh moto/);
    expect(() => findMotoServer('/nonexistent-venv')).toThrow("moto's server is not installed in /nonexistent-venv: run bash scripts/python-venvs.sh moto");
  });
});
