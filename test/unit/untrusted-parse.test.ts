import { describe, expect, it } from 'vitest';
import { ParseOptionsSchema, runParse } from '../../cli/parse.ts';
import { ConsumerOptionsSchema } from '../../consumers/index.ts';
import { resolveOptions } from '../../consumers/config/options.ts';
import { encodeCwlRecord } from '../../processors/index.ts';

/** `parse` shows the index the consumer would use: the same window around ingest, the same tag. */

const INGEST = Date.parse('2026-06-15T12:00:00Z');

function run(input: Buffer | string, flags: Record<string, unknown> = {}) {
  const out: Array<Record<string, unknown>> = [];
  const err: string[] = [];
  const options = { ...ParseOptionsSchema.parse(flags), ingestTime: INGEST };
  const errors = runParse(Buffer.from(input), options, { out: (l) => out.push(JSON.parse(l) as Record<string, unknown>), err: (l) => err.push(l) });
  return { out, err, errors };
}

const cloudTrail = (eventTime: string) =>
  JSON.stringify({ eventVersion: '1.08', eventSource: 's3.amazonaws.com', eventName: 'GetObject', eventTime, awsRegion: 'eu-west-1', eventID: 'e', recipientAccountId: '000000000000' });

describe('parse bounds index days like the consumer', () => {
  it("shows the issue's year-2250 CloudTrail line and year-2100 flow line under the ingest day, tagged, their own time kept", () => {
    const { out, errors } = run(`${cloudTrail('2250-06-01T00:00:00Z')}\n2 123456789010 eni-1 1.1.1.1 2.2.2.2 1 2 6 1 1 4102444800 4102444860 ACCEPT OK\n`, { source: 'auto' });
    expect(errors).toBe(0);
    expect(out.map((d) => d._index)).toEqual(['centralog-aws.cloudtrail-2026.06.15', 'centralog-aws.vpcflow-2026.06.15']);
    expect(out.map((d) => d['@timestamp'])).toEqual(['2250-06-01T00:00:00.000Z', '2100-01-01T00:01:00.000Z']);
    expect(out.every((d) => (d.tags as string[]).includes('event_time_out_of_range'))).toBe(true);
  });

  it('keeps an in-window day and takes the window from --max-event-age-days', () => {
    expect(run(cloudTrail('2026-04-01T00:00:00Z')).out[0]!._index).toBe('centralog-aws.cloudtrail-2026.04.01');
    const narrow = run(cloudTrail('2026-04-01T00:00:00Z'), { maxEventAgeDays: '30' }).out[0]!;
    expect(narrow._index).toBe('centralog-aws.cloudtrail-2026.06.15');
    expect(narrow.tags).toEqual(['event_time_out_of_range']);
  });

  it('applies the same window to whole envelopes', () => {
    const payload = encodeCwlRecord({
      messageType: 'DATA_MESSAGE',
      owner: '111122223333',
      logGroup: '/app/x',
      logStream: 's',
      subscriptionFilters: ['f'],
      logEvents: [
        { id: '1', timestamp: Date.parse('2001-01-01T00:00:00Z'), message: 'old' },
        { id: '2', timestamp: INGEST - 3_600_000, message: 'recent' },
      ],
    });
    const { out } = run(Buffer.from(payload), { envelope: true });
    expect(out.map((d) => d._index)).toEqual(['centralog-aws.cloudwatch_logs-2026.06.15', 'centralog-aws.cloudwatch_logs-2026.06.15']);
    expect(out.map((d) => d.tags)).toEqual([['event_time_out_of_range'], undefined]);
  });
});

describe('the log group source map in parse and the consumer', () => {
  const line = cloudTrail('2026-06-15T11:00:00Z');
  it('shows an unmapped group\'s CloudTrail look-alike as generic, tagged, and a mapped or forced group\'s as CloudTrail', () => {
    const map = JSON.stringify({ '/aws/cloudtrail/org': 'cloudtrail' });
    const hostile = run(line, { logGroupSources: map, logGroup: '/app/web' }).out[0]!;
    expect(hostile._index).toBe('centralog-aws.cloudwatch_logs-2026.06.15');
    expect(hostile.tags).toEqual(['looks_like_cloudtrail']);
    expect(run(line, { logGroupSources: map, logGroup: '/aws/cloudtrail/org' }).out[0]!._index).toBe('centralog-aws.cloudtrail-2026.06.15');
    expect(run(line, { logGroupSources: map, logGroup: '/app/web', source: 'cloudtrail' }).out[0]!._index).toBe('centralog-aws.cloudtrail-2026.06.15');
  });

  it('reads CENTRALOG_LOG_GROUP_SOURCES as JSON and names the key of a bad value', () => {
    const env = { CENTRALOG_STREAM_NAME: 's', CENTRALOG_DEAD_LETTER_BUCKET: 'bucket-x', CENTRALOG_OPENSEARCH_URL: 'http://127.0.0.1:9200' };
    const ok = resolveOptions(ConsumerOptionsSchema, { env: { ...env, CENTRALOG_LOG_GROUP_SOURCES: '{"/aws/events/guardduty":"guardduty","/ops/fwd":"trusted"}' } });
    expect(ok.logGroupSources).toEqual({ '/aws/events/guardduty': 'guardduty', '/ops/fwd': 'trusted' });
    expect(() => resolveOptions(ConsumerOptionsSchema, { env: { ...env, CENTRALOG_LOG_GROUP_SOURCES: '{"/x":"cloudtrial"}' } })).toThrow(/LOG_GROUP_SOURCES[\s\S]*expected cloudtrail, vpcflow, guardduty or trusted/);
  });
});
