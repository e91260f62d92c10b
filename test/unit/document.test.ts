import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_INDEX_PREFIX,
  documentId,
  guardDutyDocumentId,
  indexName,
  toDocument,
  type CwlEnvelope,
  type CwlLogEvent,
} from '../../processors/index.ts';

const fixtureText = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const fixtureJson = <T = unknown>(name: string): T => JSON.parse(fixtureText(name)) as T;

type Obj = Record<string, unknown>;

function envelope(overrides: Partial<CwlEnvelope> = {}): CwlEnvelope {
  return {
    messageType: 'DATA_MESSAGE',
    owner: '999988887777',
    logGroup: 'aws-cloudtrail-logs-org',
    logStream: 'o-abc123_999988887777_CloudTrail_eu-west-1',
    subscriptionFilters: ['centralog'],
    logEvents: [],
    ...overrides,
  };
}

function logEvent(message: string, overrides: Partial<CwlLogEvent> = {}): CwlLogEvent {
  return { id: '37199717562907174288355125807040114704837640994633613312', timestamp: Date.parse('2024-08-01T00:00:10Z'), message, ...overrides };
}

/** A nested value of a document body, e.g. at(body, 'cloud', 'account', 'id'). */
function at(obj: unknown, ...path: string[]): unknown {
  let cur = obj;
  for (const key of path) cur = (cur as Obj | undefined)?.[key];
  return cur;
}

const guardDutyFindings = (): Obj[] =>
  fixtureText('panther-analysis_guardduty_rule_test_logs.ndjson')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Obj);

const flowLines = (): string[] =>
  fixtureJson<{ kind: string; lines: string[] }[]>('awsdocs_vpc-user-guide_flow-logs-records-examples.json')
    .filter((b) => b.kind === 'records')
    .flatMap((b) => b.lines.filter((l) => l.startsWith('2 ')));

describe('documentId', () => {
  const base = { owner: '231436140809', logGroup: '/aws/lambda/fn', logStream: '2022/11/10/[$LATEST]26b6a45d' };
  const eventId = '37199717562907174288355125807040114704837640994633613312';

  it('is the same for equal inputs, including separately built envelopes', () => {
    const a = documentId(base, eventId);
    expect(documentId({ ...base }, `${eventId}`)).toBe(a);
    expect(documentId(envelope(base), eventId)).toBe(a);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/); // sha-256, base64url, no padding: safe as an OpenSearch _id
  });

  it('differs when any one of owner, logGroup, logStream or event id differs', () => {
    const a = documentId(base, eventId);
    const variants = [
      documentId({ ...base, owner: '231436140808' }, eventId),
      documentId({ ...base, logGroup: '/aws/lambda/fn2' }, eventId),
      documentId({ ...base, logStream: '2022/11/10/[$LATEST]26b6a45e' }, eventId),
      documentId(base, '37199717562907174288355125807040114704837640994633613313'),
    ];
    for (const v of variants) expect(v).not.toBe(a);
    expect(new Set([a, ...variants]).size).toBe(5);
  });

  it('is sha-256 of owner|logGroup|logStream|event id in base64url, as ids already indexed were made', () => {
    // Computed once from that definition (node -e with createHash), not by this code.
    expect(documentId(envelope(), '37199717562907174288355125807040114704837640994633613312')).toBe('2mCYtkiE5bFOpUOgkY5AWquAD84TNRwwc2GPG13aNHY');
  });

  it('does not collide when text moves between adjacent fields', () => {
    expect(documentId({ owner: '1', logGroup: '23', logStream: 's' }, 'e')).not.toBe(
      documentId({ owner: '12', logGroup: '3', logStream: 's' }, 'e'),
    );
  });
});

describe('indexName', () => {
  it("names the index <prefix>-aws.<source>-YYYY.MM.DD from the UTC day", () => {
    expect(indexName('centralog', 'cloudtrail', new Date('2024-03-05T23:59:59Z'))).toBe('centralog-aws.cloudtrail-2024.03.05');
  });

  it('uses the UTC day, not the local one, for times given with an offset', () => {
    expect(indexName('centralog', 'vpcflow', new Date('2024-03-05T23:59:59-05:00'))).toBe('centralog-aws.vpcflow-2024.03.06');
    expect(indexName('logs', 'guardduty', new Date('2024-12-31T00:30:00+01:00'))).toBe('logs-aws.guardduty-2024.12.30');
  });

  it('zero-pads month and day', () => {
    expect(indexName('p', 'cloudwatch_logs', new Date('2025-01-02T00:00:00Z'))).toBe('p-aws.cloudwatch_logs-2025.01.02');
  });

  it('puts the last and first millisecond of a day in their own days, before 1970 too', () => {
    expect(indexName('p', 'vpcflow', new Date('2024-02-29T00:00:00.000Z'))).toBe('p-aws.vpcflow-2024.02.29');
    expect(indexName('p', 'vpcflow', new Date('2024-02-28T23:59:59.999Z'))).toBe('p-aws.vpcflow-2024.02.28');
    expect(indexName('p', 'vpcflow', new Date('2024-02-29T23:59:59.999Z'))).toBe('p-aws.vpcflow-2024.02.29');
    expect(indexName('p', 'vpcflow', new Date('1969-12-31T23:59:59.999Z'))).toBe('p-aws.vpcflow-1969.12.31');
    expect(indexName('p', 'vpcflow', new Date('1970-01-01T00:00:00.000Z'))).toBe('p-aws.vpcflow-1970.01.01');
  });
});

describe('toDocument: CloudTrail', () => {
  const [trailEvent] = fixtureJson<Obj[]>('aws.defense-evasion.cloudtrail-stop.json');
  const message = JSON.stringify(trailEvent);
  const env = envelope();
  // CloudWatch Logs ingested the event the next UTC day: the index must follow eventTime, not this.
  const event = logEvent(message);
  const doc = toDocument(env, event);

  it('uses eventTime for @timestamp and for the index day', () => {
    expect(doc.body['@timestamp']).toBe('2024-07-31T13:06:24.000Z');
    expect(doc.index).toBe('centralog-aws.cloudtrail-2024.07.31');
    expect(doc.eventTimestamp).toBe(event.timestamp); // the CWL time is kept for lag
  });

  it('uses recipientAccountId, not the log group owner, for cloud.account.id', () => {
    expect(at(doc.body, 'cloud', 'account', 'id')).toBe('143434273843');
    expect(at(doc.body, 'aws', 'cloudwatch', 'owner')).toBe('999988887777');
  });

  it('maps eventName to event.action, with eventSource, eventID, awsRegion and the dataset', () => {
    expect(doc.source).toBe('cloudtrail');
    expect(at(doc.body, 'event', 'action')).toBe('StopLogging');
    expect(at(doc.body, 'event', 'provider')).toBe('cloudtrail.amazonaws.com');
    expect(at(doc.body, 'event', 'id')).toBe('10163ed2-2253-469d-a5ee-cbc6651f8934');
    expect(at(doc.body, 'event', 'dataset')).toBe('aws.cloudtrail');
    expect(at(doc.body, 'event', 'kind')).toBe('event');
    expect(at(doc.body, 'cloud', 'region')).toBe('apiso-centralnorth-2r');
    expect(at(doc.body, 'cloud', 'provider')).toBe('aws');
    // The raw event lives in the S3 archive; the document holds the parsed fields.
    expect(doc.body.message).toBeUndefined();
  });

  it('uses the envelope document id (owner | logGroup | logStream | event id)', () => {
    expect(doc.id).toBe(documentId(env, event.id));
  });

  it('honours a custom index prefix', () => {
    expect(toDocument(env, event, 'sec').index).toBe('sec-aws.cloudtrail-2024.07.31');
    expect(DEFAULT_INDEX_PREFIX).toBe('centralog');
  });

  it('takes the account from the identity of an EventBridge-wrapped event without recipientAccountId', () => {
    const wrapped = fixtureJson<Obj>('event-cloud-trail-s3.json');
    const d = toDocument(env, logEvent(JSON.stringify(wrapped)));
    expect(d.source).toBe('cloudtrail');
    expect(at(d.body, 'event', 'action')).toBe('CreateBucket');
    // The EventBridge envelope's account and userIdentity.accountId agree: 101010101111, not the log group owner.
    expect(at(d.body, 'cloud', 'account', 'id')).toBe('101010101111');
    expect(at(d.body, 'aws', 'cloudwatch', 'owner')).toBe('999988887777');
    expect(d.body['@timestamp']).toBe('2015-11-23T07:45:25.000Z');
    expect(d.index).toBe('centralog-aws.cloudtrail-2015.11.23');
  });
});

describe('toDocument: GuardDuty', () => {
  const findings = guardDutyFindings();
  const finding = findings.find((f) => f.updatedAt === '2020-02-14T18:12:22.316Z')!;
  const env = envelope({ logGroup: '/aws/events/guardduty', logStream: 'stream-a' });

  it("uses guardDutyDocumentId(finding id, updatedAt) as the document id", () => {
    const doc = toDocument(env, logEvent(JSON.stringify(finding)));
    expect(doc.source).toBe('guardduty');
    expect(doc.id).toBe(guardDutyDocumentId('eeb88ab56556eb7771b266670dddee5a', '2020-02-14T18:12:22.316Z'));
    expect(doc.id).not.toBe(documentId(env, logEvent('').id));
  });

  it('gives two updates of the same finding (different updatedAt) different ids', () => {
    const later = { ...finding, updatedAt: '2020-02-15T09:00:00.000Z' };
    const a = toDocument(env, logEvent(JSON.stringify(finding)));
    const b = toDocument(env, logEvent(JSON.stringify(later)));
    expect(a.id).not.toBe(b.id);
    expect(b.id).toBe(guardDutyDocumentId('eeb88ab56556eb7771b266670dddee5a', '2020-02-15T09:00:00.000Z'));
    expect(guardDutyDocumentId('f1', 'u1')).not.toBe(guardDutyDocumentId('f1', 'u2'));
    expect(guardDutyDocumentId('f1', 'u1')).toBe(guardDutyDocumentId('f1', 'u1'));
  });

  it('gives the same finding update the same id whichever log stream or event id it arrives under', () => {
    const a = toDocument(env, logEvent(JSON.stringify(finding), { id: '1' }));
    const b = toDocument(envelope({ logStream: 'stream-b', owner: '111111111111' }), logEvent(JSON.stringify(finding), { id: '2' }));
    expect(b.id).toBe(a.id);
  });

  it('uses updatedAt for @timestamp and index, accountId for cloud.account.id, and maps severity/type', () => {
    const doc = toDocument(env, logEvent(JSON.stringify(finding)));
    expect(doc.body['@timestamp']).toBe('2020-02-14T18:12:22.316Z');
    expect(doc.index).toBe('centralog-aws.guardduty-2020.02.14');
    expect(at(doc.body, 'cloud', 'account', 'id')).toBe('123456789012');
    expect(at(doc.body, 'event', 'kind')).toBe('alert');
    expect(at(doc.body, 'event', 'severity')).toBe(finding.severity);
    expect(at(doc.body, 'rule', 'name')).toBe('PrivilegeEscalation:IAMUser/AdministrativePermissions');
  });

  it('reads the space-separated updatedAt form ("2025-02-25 20:40:06.721") as UTC', () => {
    const seq = findings.find((f) => f.updatedAt === '2025-02-25 20:40:06.721')!;
    const doc = toDocument(env, logEvent(JSON.stringify(seq)));
    expect(doc.body['@timestamp']).toBe('2025-02-25T20:40:06.721Z');
    expect(doc.index).toBe('centralog-aws.guardduty-2025.02.25');
    expect(doc.id).toBe(guardDutyDocumentId('8c258d654378414b9bc26f61a93eb816', '2025-02-25 20:40:06.721'));
  });

  it('takes id, updatedAt and account from detail for an EventBridge "GuardDuty Finding" envelope', () => {
    const wrapped = fixtureJson<{ detail: Obj }>('iam-duty-event.json');
    const doc = toDocument(env, logEvent(JSON.stringify(wrapped)));
    expect(doc.source).toBe('guardduty');
    expect(doc.id).toBe(guardDutyDocumentId('36b01b60fc22bb4edb19d62d9899e953', '2017-12-08T15:32:49.862Z'));
    expect(doc.index).toBe('centralog-aws.guardduty-2017.12.08');
    expect(at(doc.body, 'cloud', 'account', 'id')).toBe('883606788610');
    expect(at(doc.body, 'event', 'severity')).toBe(5);
  });
});

describe('toDocument: VPC flow logs', () => {
  const env = envelope({ logGroup: '/aws/vpc/flowlogs', logStream: 'eni-1235b8ca123456789-all' });
  const line = (suffix: string): string => {
    const l = flowLines().find((x) => x.endsWith(suffix));
    if (!l) throw new Error(`no line ending ${suffix}`);
    return l;
  };

  it("uses the flow's end field (seconds) for @timestamp and the index day", () => {
    const accept = line(' ACCEPT OK'); // ... 1418530010 1418530070 ACCEPT OK
    const doc = toDocument(env, logEvent(accept));
    expect(doc.source).toBe('vpcflow');
    expect(doc.body['@timestamp']).toBe(new Date(1418530070 * 1000).toISOString());
    expect(doc.body['@timestamp']).toBe('2014-12-14T04:07:50.000Z');
    expect(doc.index).toBe('centralog-aws.vpcflow-2014.12.14');
    expect(at(doc.body, 'cloud', 'account', 'id')).toBe('123456789010');
    expect(at(doc.body, 'event', 'action')).toBe('ACCEPT');
    expect(at(doc.body, 'event', 'original')).toBe(accept);
    expect(doc.id).toBe(documentId(env, logEvent('').id));
  });

  it('uses end for a NODATA line too and leaves event.action unset for its "-" action', () => {
    const doc = toDocument(env, logEvent(line(' - NODATA')));
    expect(doc.body['@timestamp']).toBe(new Date(1431280934 * 1000).toISOString());
    expect(at(doc.body, 'event', 'action')).toBeUndefined();
  });

  it('falls back to the start field instead of throwing when the end field is out of Date range', () => {
    // A member account controls what its log groups contain; this line passes the v2 check
    // but its end (1e14 s) is beyond Date's range, so new Date(end*1000).toISOString() throws.
    const poison = '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 99999999999999 ACCEPT OK';
    const event = logEvent(poison);
    let thrown: unknown;
    let doc: ReturnType<typeof toDocument> | undefined;
    try {
      doc = toDocument(env, event);
    } catch (err) {
      thrown = err;
    }
    expect(thrown, 'toDocument threw instead of falling back').toBeUndefined();
    expect(doc?.body['@timestamp']).toBe(new Date(1418530010 * 1000).toISOString());
  });
});

describe('toDocument: unknown messages', () => {
  it('indexes an unknown message as a cloudwatch_logs document with the message and aws.cloudwatch fields', () => {
    const env = envelope({
      owner: '231436140809',
      logGroup: '/aws/lambda/pt-1488-DummyLogDataFunction-gnWXPvL6jJyG',
      logStream: '2022/11/10/[$LATEST]26b6a45d574f442ea28438923cbf7bf7',
    });
    const event: CwlLogEvent = {
      id: '37199717563107880995141901415313936169291476248187437057',
      timestamp: 1668093027024,
      message: 'END RequestId: 06e46194-f277-454e-88d3-1dd7e3860eaa\n',
    };
    const doc = toDocument(env, event);
    expect(doc.source).toBe('cloudwatch_logs');
    expect(doc.index).toBe('centralog-aws.cloudwatch_logs-2022.11.10');
    expect(doc.id).toBe(documentId(env, event.id));
    expect(doc.eventTimestamp).toBe(1668093027024);
    expect(doc.body).toEqual({
      '@timestamp': '2022-11-10T15:10:27.024Z',
      message: 'END RequestId: 06e46194-f277-454e-88d3-1dd7e3860eaa\n',
      ecs: { version: '8.11.0' },
      event: { dataset: 'aws.cloudwatch_logs', module: 'aws', kind: 'event' },
      cloud: { provider: 'aws', account: { id: '231436140809' } },
      aws: {
        cloudwatch: {
          owner: '231436140809',
          log_group: '/aws/lambda/pt-1488-DummyLogDataFunction-gnWXPvL6jJyG',
          log_stream: '2022/11/10/[$LATEST]26b6a45d574f442ea28438923cbf7bf7',
          event_id: '37199717563107880995141901415313936169291476248187437057',
        },
      },
    });
  });

  it('indexes non-matching JSON as cloudwatch_logs with the raw message kept', () => {
    const message = '{"level":"info","msg":"listening"}';
    const doc = toDocument(envelope(), logEvent(message));
    expect(doc.source).toBe('cloudwatch_logs');
    expect(doc.body.message).toBe(message);
    expect(doc.index).toBe('centralog-aws.cloudwatch_logs-2024.08.01');
  });
});
