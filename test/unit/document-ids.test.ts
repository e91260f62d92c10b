import { describe, expect, it } from 'vitest';
import { toDocument, type CwlEnvelope } from '../../processors/index.ts';

/**
 * The document id scheme, pinned as literals. Every replay and retry relies on an event
 * mapping to the _id it was first indexed under: a change here re-indexes the whole archive
 * as duplicates. If this test fails, the change is not a refactoring; it needs a migration.
 */

const OWNER = '111122223333';
const RECEIVED = Date.parse('2024-08-01T00:00:10Z');

function envelope(logGroup: string, logStream: string): CwlEnvelope {
  return { messageType: 'DATA_MESSAGE', owner: OWNER, logGroup, logStream, subscriptionFilters: ['centralog'], logEvents: [] };
}

const guardDutyFinding = JSON.stringify({
  version: '0',
  id: 'c8c4daa7-a20c-2f03-0070-b7393dd542ad',
  'detail-type': 'GuardDuty Finding',
  source: 'aws.guardduty',
  account: OWNER,
  time: '2024-07-30T12:00:00Z',
  region: 'eu-west-1',
  detail: {
    schemaVersion: '2.0',
    accountId: OWNER,
    region: 'eu-west-1',
    id: '16afba5c5c43e07c9e3e5e2e544e95df',
    type: 'Recon:EC2/PortProbeUnprotectedPort',
    severity: 2,
    createdAt: '2024-07-29T10:00:00.000Z',
    updatedAt: '2024-07-30T11:59:00.123Z',
    title: 'Unprotected port on EC2 instance is being probed.',
  },
});

const cases = [
  {
    source: 'cloudtrail',
    envelope: envelope('aws-cloudtrail-logs-111122223333', '111122223333_CloudTrail_eu-west-1'),
    eventId: '37199717562907174288355125807040114704837640994633613312',
    message: JSON.stringify({
      eventVersion: '1.09',
      eventTime: '2024-07-31T23:59:58Z',
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'StopLogging',
      awsRegion: 'eu-west-1',
      eventID: '10163ed2-2253-469d-a5ee-cbc6651f8934',
      recipientAccountId: OWNER,
    }),
    id: 'UtDhjgA5xn81Uq0EtKY4Ohq5QqTVQWT214UrjS__gTk',
    index: 'centralog-aws.cloudtrail-2024.07.31',
  },
  {
    source: 'vpcflow',
    envelope: envelope('/aws/vpc/flowlogs', 'eni-1235b8ca123456789-all'),
    eventId: '38401520473190457823958493610027473826542810562813337600',
    message: '2 111122223333 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1722470340 1722470400 ACCEPT OK',
    id: 'OVN-4xnEi7O63ofZ_CDwrYQoLkvx7gJ9yMvSbmOkfew',
    index: 'centralog-aws.vpcflow-2024.08.01',
  },
  {
    source: 'guardduty',
    envelope: envelope('/aws/events/guardduty', 'c8c4daa7-a20c-2f03-0070-b7393dd542ad'),
    eventId: '38399871240561290389153744180394839023850137491537362944',
    message: guardDutyFinding,
    id: 'wmTAYIERBwGJx9ie3ngbXxh-lrZXsDlslGMr32wSGZs',
    index: 'centralog-aws.guardduty-2024.07.30',
  },
  {
    source: 'cloudwatch_logs',
    envelope: envelope('/aws/lambda/orders', '2024/08/01/[$LATEST]26b6a45d574f442ea28438923cbf7bf7'),
    eventId: '38401520473190457823958493610027473826542810562813337601',
    message: 'START RequestId: 06e46194-f277-454e-88d3-1dd7e3860eaa Version: $LATEST',
    id: '-yx8F9LVCcona2UXvr8Dra6CmLRl4UhC2Xx0CkvZcPg',
    index: 'centralog-aws.cloudwatch_logs-2024.08.01',
  },
] as const;

describe('document ids and index names are pinned', () => {
  it.each(cases)('a $source event keeps _id $id in $index', (c) => {
    const doc = toDocument(c.envelope, { id: c.eventId, timestamp: RECEIVED, message: c.message });
    expect(doc.source).toBe(c.source);
    expect(doc.id).toBe(c.id);
    expect(doc.index).toBe(c.index);
  });

  it('keys a GuardDuty finding update by finding id and updatedAt, whatever envelope carried it', () => {
    const doc = toDocument(envelope('/other/group', 'other-stream'), { id: '1', timestamp: RECEIVED, message: guardDutyFinding });
    expect(doc.id).toBe('wmTAYIERBwGJx9ie3ngbXxh-lrZXsDlslGMr32wSGZs');
  });
});
