import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerOptionsSchema, createConsumer } from '../../consumers/index.ts';
import { encodeCwlRecord, guardDutyDocumentId, utcParts } from '../../processors/index.ts';
import { createBucket, createStream, startTestStack, uniqueName, waitFor } from '../helpers.ts';

/**
 * A hostile log group whose lines carry dates spread over 3,000 days, CloudTrail-shaped
 * records claiming other accounts and a forged copy of a real finding, through a real
 * consumer into the real node: no index outside the window, no more new indices than the
 * hourly cap, nothing from that group in the CloudTrail or GuardDuty indices, the real
 * finding indexed under its id, and every line indexed (tagged and counted).
 */

type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;
const prefix = uniqueName('cap');
const DAY = 86_400_000;
const CAP = 3;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.opensearch.indices.delete({ index: `${prefix}-*` }).catch(() => undefined);
  await stack?.stop();
});

const dayOf = (t: number) => {
  const p = utcParts(new Date(t));
  return `${p.year}.${p.month}.${p.day}`;
};

async function metricValue(text: string, name: string, labels: string): Promise<number> {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((x) => l.includes(x)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('index days and new indices are bounded on the real node', () => {
  it('indexes 3,000 days of dated lines under at most the cap of new in-window indices plus the ingest day, tagged and counted', async () => {
    const streamName = uniqueName('cap');
    const bucket = uniqueName('cap-dead');
    await createStream(stack.kinesis, streamName, 1);
    await createBucket(stack.s3, bucket);
    const start = Date.now();
    // Every tenth day from 2,990 days ago to 10 days ahead, then the far dates.
    const times: string[] = [];
    for (let d = -2990; d <= 10; d += 10) times.push(new Date(start + d * DAY).toISOString());
    times.push('2250-06-01T00:00:00Z', '1970-01-01T00:00:00Z');
    // CloudTrail-shaped lines claiming other accounts, and a forged copy of a real finding (same id and updatedAt).
    const finding = (title: string) =>
      JSON.stringify({
        version: '0',
        id: 'evt',
        'detail-type': 'GuardDuty Finding',
        source: 'aws.guardduty',
        account: '111122223333',
        time: new Date(start).toISOString(),
        region: 'eu-west-1',
        detail: { schemaVersion: '2.0', accountId: '111122223333', region: 'eu-west-1', id: 'real-finding', type: 'Recon:EC2/PortProbeUnprotectedPort', severity: 8, createdAt: new Date(start - 60_000).toISOString(), updatedAt: new Date(start).toISOString(), title },
      });
    const logEvents = [
      { id: 'forged-finding', timestamp: start, message: finding('forged') },
      ...times.map((eventTime, i) => ({
        id: `e${i}`,
        timestamp: start,
        message: JSON.stringify({ eventVersion: '1.08', eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', eventTime, awsRegion: 'eu-west-1', eventID: `e${i}`, recipientAccountId: String(100000000000 + i) }),
      })),
    ];
    // One generic line per dated time: its CloudWatch Logs timestamp is what names its day.
    const dated = times.map((eventTime, i) => ({ id: `d${i}`, timestamp: Date.parse(eventTime), message: `dated ${i}` }));
    const envelope = { messageType: 'DATA_MESSAGE' as const, owner: '111122223333', logGroup: '/app/hostile', logStream: 's', subscriptionFilters: ['f'] };
    await stack.kinesis.send(new PutRecordCommand({ StreamName: streamName, PartitionKey: 'a', Data: encodeCwlRecord({ ...envelope, logEvents }) }));
    await stack.kinesis.send(new PutRecordCommand({ StreamName: streamName, PartitionKey: 'a', Data: encodeCwlRecord({ ...envelope, logStream: 't', logEvents: dated }) }));
    const claim = JSON.stringify({ eventVersion: '1.08', eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', eventTime: new Date(start).toISOString(), awsRegion: 'eu-west-1', eventID: 'm', recipientAccountId: '999999999999' });
    const real = {
      ...envelope,
      logGroup: '/aws/events/guardduty',
      logEvents: [{ id: 'real', timestamp: start, message: finding('real') }],
    };
    // A mapped trail's event claiming another account: indexed as CloudTrail, tagged and counted.
    const trail = { ...envelope, logGroup: '/aws/cloudtrail/org', logEvents: [{ id: 'mismatch', timestamp: start, message: claim }] };
    await stack.kinesis.send(new PutRecordCommand({ StreamName: streamName, PartitionKey: 'a', Data: encodeCwlRecord(trail) }));
    await stack.kinesis.send(new PutRecordCommand({ StreamName: streamName, PartitionKey: 'a', Data: encodeCwlRecord(real) }));

    const options = ConsumerOptionsSchema.parse({
      streamName,
      leaseTable: uniqueName('leases'),
      deadLetterBucket: bucket,
      opensearchUrl: stack.opensearchUrl,
      kinesisEndpoint: stack.endpoints.kinesis,
      dynamodbEndpoint: stack.endpoints.dynamodb,
      s3Endpoint: stack.endpoints.s3,
      indexPrefix: prefix,
      maxNewIndicesPerHour: CAP,
      logGroupSources: JSON.stringify({ '/aws/events/guardduty': 'guardduty', '/aws/cloudtrail/org': 'cloudtrail' }),
      idleBackoffMs: 200,
    });
    const { worker, metrics } = createConsumer(options);
    await worker.start();
    const total = logEvents.length + dated.length + 2;
    try {
      await waitFor(
        'every event indexed',
        async () => {
          await stack.opensearch.indices.refresh({ index: `${prefix}-*`, allow_no_indices: true });
          const res = await stack.opensearch.count({ index: `${prefix}-aws.*`, allow_no_indices: true } as never);
          return (res.body as { count: number }).count === total;
        },
        60_000,
      );
    } finally {
      await worker.stop();
    }
    const end = Date.now();

    const cat = await stack.opensearch.cat.indices({ index: `${prefix}-aws.*`, format: 'json', h: 'index' } as never);
    const names = (cat.body as Array<{ index: string }>).map((r) => r.index);
    // No index outside the window (measured from the ingest clock of the run).
    for (const n of names) {
      const t = Date.parse(n.slice(-10).replaceAll('.', '-') + 'T00:00:00Z');
      expect(t, n).toBeGreaterThanOrEqual(Date.parse(dayOf(start - 90 * DAY).replaceAll('.', '-') + 'T00:00:00Z'));
      expect(t, n).toBeLessThanOrEqual(start + DAY);
    }
    // Only the cap of new names besides the ingest day (twice the cap if the run crossed an hour).
    const ingestDays = new Set([dayOf(start), dayOf(end)]);
    const created = names.filter((n) => n.includes('-aws.cloudwatch_logs-')).map((n) => n.slice(-10)).filter((d) => !ingestDays.has(d));
    const crossedHour = Math.floor(start / 3_600_000) !== Math.floor(end / 3_600_000);
    expect(created.length).toBeGreaterThan(0);
    expect(created.length).toBeLessThanOrEqual(crossedHour ? 2 * CAP : CAP);
    // The CloudTrail and GuardDuty indices hold nothing from the hostile group; the real finding is indexed under its id.
    expect(names.filter((n) => !n.startsWith(`${prefix}-aws.cloudwatch_logs-`)).sort()).toEqual([`${prefix}-aws.cloudtrail-${dayOf(start)}`, `${prefix}-aws.guardduty-${dayOf(start)}`]);
    const ct = await stack.opensearch.search({ index: `${prefix}-aws.cloudtrail-*`, body: { query: { match_all: {} } } } as never);
    const ctHits = (ct.body as { hits: { hits: Array<{ _source: Record<string, any> }> } }).hits.hits;
    expect(ctHits.map((h) => [h._source.aws.cloudwatch.log_group, h._source.tags])).toEqual([['/aws/cloudtrail/org', ['account_mismatch']]]);
    const gd = await stack.opensearch.search({ index: `${prefix}-aws.guardduty-*`, body: { query: { match_all: {} } } } as never);
    const hits = (gd.body as { hits: { hits: Array<{ _id: string; _source: Record<string, any> }> } }).hits.hits;
    expect(hits.map((h) => [h._id, h._source.aws.cloudwatch.log_group])).toEqual([[guardDutyDocumentId('real-finding', new Date(start).toISOString()), '/aws/events/guardduty']]);
    const looksLike = async (tag: string) =>
      ((await stack.opensearch.count({ index: `${prefix}-aws.cloudwatch_logs-*`, body: { query: { term: { tags: tag } } } } as never)).body as { count: number }).count;
    expect(await looksLike('looks_like_cloudtrail')).toBe(times.length);
    expect(await looksLike('looks_like_guardduty')).toBe(1);

    // Every redirected document is tagged, and the metric counts exactly those.
    const tagged = async (tag: string) =>
      ((await stack.opensearch.count({ index: `${prefix}-*`, body: { query: { term: { tags: tag } } } } as never)).body as { count: number }).count;
    const outOfRange = await tagged('event_time_out_of_range');
    const capped = await tagged('index_cap_reached');
    // 2,990 days back to 90 days back (every tenth day), the two far dates: out of range.
    expect(outOfRange).toBeGreaterThanOrEqual(290);
    expect(capped).toBeGreaterThan(0);
    const text = await metrics.registry.metrics();
    expect(await metricValue(text, 'centralog_consumer_documents_redirected_total', 'reason="event_time_out_of_range"')).toBe(outOfRange);
    expect(await metricValue(text, 'centralog_consumer_documents_redirected_total', 'reason="index_cap_reached"')).toBe(capped);
    expect(text).toMatch(/^centralog_consumer_account_mismatches_total 1$/m);
    // The mapped trail's mismatch raises the shipped alert; the hostile group's look-alikes raise none.
    let raised: Array<Record<string, any>> = [];
    await waitFor('the mismatch alert', async () => {
      await stack.opensearch.indices.refresh({ index: `${prefix}-alerts-*`, allow_no_indices: true });
      const alerts = await stack.opensearch.search({ index: `${prefix}-alerts-*`, allow_no_indices: true, body: { size: 100, query: { match_all: {} } } } as never);
      raised = (alerts.body as { hits: { hits: Array<{ _source: Record<string, any> }> } }).hits.hits.map((h) => h._source);
      return raised.some((a) => a.rule.name.startsWith('CloudTrail Event Claims Another Account'));
    }, 10_000);
    expect(raised.filter((a) => a.rule.name === 'CloudTrail Event Claims Another Account Than Its Log Group Owner').map((a) => a.aws.cloudwatch.log_group)).toEqual(['/aws/cloudtrail/org']);
    expect(raised.every((a) => a.aws.cloudwatch.log_group !== '/app/hostile')).toBe(true);
  }, 120_000);
});
