import { describe, expect, it } from 'vitest';
import { documentId, guardDutyDocumentId, logGroupSourceOf, LogGroupSourcesSchema, toDocuments, type CwlEnvelope, type LogGroupSources } from '../../processors/index.ts';

/**
 * Source detection bound to the log group: only a group mapped to CloudTrail or GuardDuty
 * (or listed as trusted) feeds those indices; an application group's look-alike lines stay
 * generic documents, tagged with what they look like, never dropped.
 */

const OWNER = '111122223333';
const T = Date.parse('2026-06-15T12:00:00Z');
const SOURCES: LogGroupSources = {
  '/aws/cloudtrail/org': 'cloudtrail',
  '/aws/events/guardduty': 'guardduty',
  '/aws/vpc/flow': 'vpcflow',
  '/ops/forwarder': 'trusted',
};

const cloudTrail = JSON.stringify({ eventVersion: '1.08', eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', eventTime: '2026-06-15T11:00:00Z', awsRegion: 'eu-west-1', eventID: 'e', recipientAccountId: OWNER });
const finding = JSON.stringify({
  version: '0',
  id: 'evt',
  'detail-type': 'GuardDuty Finding',
  source: 'aws.guardduty',
  account: OWNER,
  time: '2026-06-15T11:00:00Z',
  region: 'eu-west-1',
  detail: { schemaVersion: '2.0', accountId: OWNER, region: 'eu-west-1', id: 'real-finding-id', type: 'Recon:EC2/PortProbeUnprotectedPort', severity: 2, createdAt: '2026-06-15T10:00:00Z', updatedAt: '2026-06-15T11:00:00.000Z' },
});
const flow = `2 ${OWNER} eni-1 1.1.1.1 2.2.2.2 1 2 6 1 1 ${T / 1000 - 120} ${T / 1000 - 60} ACCEPT OK`;

function envelope(logGroup: string, ...messages: string[]): CwlEnvelope {
  return { messageType: 'DATA_MESSAGE', owner: OWNER, logGroup, logStream: 's', subscriptionFilters: [], logEvents: messages.map((message, i) => ({ id: String(i), timestamp: T, message })) };
}
const tags = (d: { body: Record<string, unknown> }) => d.body.tags;

describe('source bound to the log group', () => {
  it("indexes an unmapped group's CloudTrail and GuardDuty look-alikes as generic documents tagged looks_like_<source>, message kept", () => {
    const docs = toDocuments(envelope('/app/web', cloudTrail, finding, flow, 'plain'), { logGroupSources: SOURCES });
    expect(docs.map((d) => d.source)).toEqual(['cloudwatch_logs', 'cloudwatch_logs', 'vpcflow', 'cloudwatch_logs']);
    expect(docs.map((d) => d.index.replace(/-\d{4}\.\d\d\.\d\d$/, ''))).toEqual([
      'centralog-aws.cloudwatch_logs',
      'centralog-aws.cloudwatch_logs',
      'centralog-aws.vpcflow',
      'centralog-aws.cloudwatch_logs',
    ]);
    expect(docs.map(tags)).toEqual([['looks_like_cloudtrail'], ['looks_like_guardduty'], undefined, undefined]);
    expect(docs[0]!.body.message).toBe(cloudTrail);
    // The forged account claims nothing: the account is the log group owner's.
    expect((docs[1]!.body.cloud as { account: { id: string } }).account.id).toBe(OWNER);
  });

  it("parses a mapped group's events only as its source", () => {
    const trail = toDocuments(envelope('/aws/cloudtrail/org', cloudTrail, finding, flow), { logGroupSources: SOURCES });
    expect(trail.map((d) => d.source)).toEqual(['cloudtrail', 'cloudwatch_logs', 'cloudwatch_logs']);
    expect(trail.map(tags)).toEqual([undefined, ['looks_like_guardduty'], ['looks_like_vpcflow']]);
    const gd = toDocuments(envelope('/aws/events/guardduty', finding, cloudTrail), { logGroupSources: SOURCES });
    expect(gd.map((d) => d.source)).toEqual(['guardduty', 'cloudwatch_logs']);
    const vpc = toDocuments(envelope('/aws/vpc/flow', flow, cloudTrail), { logGroupSources: SOURCES });
    expect(vpc.map((d) => d.source)).toEqual(['vpcflow', 'cloudwatch_logs']);
  });

  it('lets the payload decide in a trusted group, and without any map (the unbound default)', () => {
    expect(toDocuments(envelope('/ops/forwarder', cloudTrail, finding), { logGroupSources: SOURCES }).map((d) => d.source)).toEqual(['cloudtrail', 'guardduty']);
    expect(toDocuments(envelope('/app/web', cloudTrail, finding)).map((d) => d.source)).toEqual(['cloudtrail', 'guardduty']);
  });

  it("keys GuardDuty documents by finding id only for a mapped GuardDuty group: a forged finding cannot take a real finding's id", () => {
    const real = toDocuments(envelope('/aws/events/guardduty', finding), { logGroupSources: SOURCES })[0]!;
    expect(real.id).toBe(guardDutyDocumentId('real-finding-id', '2026-06-15T11:00:00.000Z'));
    const forged = envelope('/app/web', finding);
    expect(toDocuments(forged, { logGroupSources: SOURCES })[0]!.id).toBe(documentId(forged, '0'));
    const trusted = envelope('/ops/forwarder', finding);
    const viaTrusted = toDocuments(trusted, { logGroupSources: SOURCES })[0]!;
    expect(viaTrusted.source).toBe('guardduty');
    expect(viaTrusted.id).toBe(documentId(trusted, '0'));
  });

  it('does not take a group named like an object property as mapped', () => {
    const docs = toDocuments(envelope('constructor', cloudTrail, flow), { logGroupSources: SOURCES });
    expect(docs.map((d) => d.source)).toEqual(['cloudwatch_logs', 'vpcflow']);
  });
});

describe('CloudTrail account claims', () => {
  const claim = (account: string) => JSON.stringify({ eventVersion: '1.08', eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', eventTime: '2026-06-15T11:00:00Z', awsRegion: 'eu-west-1', eventID: 'e', recipientAccountId: account });
  it("tags an event whose recipientAccountId is not the log group owner's account_mismatch, and tells the caller", () => {
    let told = 0;
    const docs = toDocuments(envelope('/aws/cloudtrail/org', claim('999999999999'), claim(OWNER)), { logGroupSources: SOURCES, onAccountMismatch: () => told++ });
    expect(docs.map(tags)).toEqual([['account_mismatch'], undefined]);
    expect(told).toBe(1);
  });
  it('leaves an aggregator account (an organisation trail) untagged', () => {
    const docs = toDocuments(envelope('/aws/cloudtrail/org', claim('999999999999')), { logGroupSources: SOURCES, aggregatorAccounts: [OWNER] });
    expect(tags(docs[0]!)).toBeUndefined();
  });
});

describe('log group patterns', () => {
  it('maps every group a pattern ending in * is a prefix of; exact names and longer patterns win', () => {
    const sources = { 'aws-cloudtrail-logs-*': 'cloudtrail', 'aws-cloudtrail-logs-ops*': 'trusted', 'aws-cloudtrail-logs-111122223333': 'vpcflow' } as const;
    expect(logGroupSourceOf(sources, 'aws-cloudtrail-logs-999988887777')).toBe('cloudtrail');
    expect(logGroupSourceOf(sources, 'aws-cloudtrail-logs-ops-eu')).toBe('trusted');
    expect(logGroupSourceOf(sources, 'aws-cloudtrail-logs-111122223333')).toBe('vpcflow');
    expect(logGroupSourceOf(sources, 'aws-cloudtrail-log')).toBeUndefined();
    expect(logGroupSourceOf({ '*': 'trusted' }, '/any/group')).toBe('trusted');
  });

  it('parses a pattern-mapped group as its source and leaves the rest generic', () => {
    const docs = toDocuments(envelope('aws-cloudtrail-logs-444455556666', cloudTrail), { logGroupSources: { 'aws-cloudtrail-logs-*': 'cloudtrail' } });
    expect(docs[0]!.source).toBe('cloudtrail');
    const other = toDocuments(envelope('/app/aws-cloudtrail-logs-x', cloudTrail), { logGroupSources: { 'aws-cloudtrail-logs-*': 'cloudtrail' } });
    expect(other[0]!.source).toBe('cloudwatch_logs');
  });

  it('refuses a * anywhere but at the end of a key, naming it', () => {
    expect(() => LogGroupSourcesSchema.parse({ '/aws/*/flow': 'vpcflow' })).toThrow(/prefix ending in \*/);
    expect(LogGroupSourcesSchema.parse({ '/aws/vpc/*': 'vpcflow' })).toEqual({ '/aws/vpc/*': 'vpcflow' });
  });
});
