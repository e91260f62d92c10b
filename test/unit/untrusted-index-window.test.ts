import { describe, expect, it } from 'vitest';
import { eventTimeInRange, IndexBudget, toDocument, toDocuments, type CwlEnvelope, type DocumentOptions } from '../../processors/index.ts';

/**
 * A log line's own date names its daily index only inside a window around ingest (90 days
 * back, 1 day ahead, both limits included); outside it the ingest day's index takes it,
 * with its own @timestamp and a tag. Nothing is dropped.
 */

const DAY = 86_400_000;
const OWNER = '111122223333';

function envelope(message: string, timestamp: number, logGroup = '/app/hostile'): CwlEnvelope {
  return { messageType: 'DATA_MESSAGE', owner: OWNER, logGroup, logStream: 's', subscriptionFilters: [], logEvents: [{ id: '1', timestamp, message }] };
}

function cloudTrail(eventTime: string): string {
  return JSON.stringify({ eventVersion: '1.08', eventSource: 's3.amazonaws.com', eventName: 'GetObject', eventTime, awsRegion: 'eu-west-1', eventID: 'e', recipientAccountId: OWNER });
}

function docAt(eventTime: string, ingest: string, opts: Omit<DocumentOptions, 'indexWindow'> & { maxAgeDays?: number } = {}) {
  const ingestTime = Date.parse(ingest);
  const env = envelope(cloudTrail(eventTime), ingestTime);
  return toDocument(env, env.logEvents[0]!, { ...opts, indexWindow: { ingestTime, maxAgeDays: opts.maxAgeDays } });
}

const tags = (doc: { body: Record<string, unknown> }) => (doc.body.tags as string[] | undefined) ?? [];

describe('eventTimeInRange', () => {
  const now = Date.parse('2026-06-15T12:00:00Z');
  it('includes both limits and excludes one millisecond beyond each', () => {
    expect(eventTimeInRange(now - 90 * DAY, now)).toBe(true);
    expect(eventTimeInRange(now - 90 * DAY - 1, now)).toBe(false);
    expect(eventTimeInRange(now + DAY, now)).toBe(true);
    expect(eventTimeInRange(now + DAY + 1, now)).toBe(false);
  });
  it('takes the past limit from the configured window', () => {
    expect(eventTimeInRange(now - 10 * DAY - 1, now, 10)).toBe(false);
    expect(eventTimeInRange(now - 10 * DAY, now, 10)).toBe(true);
  });
});

describe('index day bounded to the window around ingest', () => {
  it('keeps the event day exactly at the past limit, and the ingest day one millisecond before it', () => {
    const at = docAt('2026-03-17T12:00:00.000Z', '2026-06-15T12:00:00Z');
    expect(at.index).toBe('centralog-aws.cloudtrail-2026.03.17');
    expect(tags(at)).not.toContain('event_time_out_of_range');
    const before = docAt('2026-03-17T11:59:59.999Z', '2026-06-15T12:00:00Z');
    expect(before.index).toBe('centralog-aws.cloudtrail-2026.06.15');
    expect(before.body['@timestamp']).toBe('2026-03-17T11:59:59.999Z');
    expect(tags(before)).toContain('event_time_out_of_range');
  });

  it('keeps the event day exactly one day ahead, and the ingest day one millisecond after it', () => {
    expect(docAt('2026-06-16T12:00:00.000Z', '2026-06-15T12:00:00Z').index).toBe('centralog-aws.cloudtrail-2026.06.16');
    const after = docAt('2026-06-16T12:00:00.001Z', '2026-06-15T12:00:00Z');
    expect(after.index).toBe('centralog-aws.cloudtrail-2026.06.15');
    expect(after.body['@timestamp']).toBe('2026-06-16T12:00:00.001Z');
    expect(tags(after)).toEqual(['event_time_out_of_range']);
  });

  it('counts a leap day as a day: 90 days before 2028-05-29 is 2028-02-29', () => {
    expect(docAt('2028-02-29T00:00:00Z', '2028-05-29T00:00:00Z').index).toBe('centralog-aws.cloudtrail-2028.02.29');
    expect(docAt('2028-02-28T23:59:59.999Z', '2028-05-29T00:00:00Z').index).toBe('centralog-aws.cloudtrail-2028.05.29');
    // ingest on the leap day itself: one day ahead is 1 March
    expect(docAt('2028-03-01T00:00:00Z', '2028-02-29T00:00:00Z').index).toBe('centralog-aws.cloudtrail-2028.03.01');
    expect(docAt('2028-03-01T00:00:00.001Z', '2028-02-29T00:00:00Z').index).toBe('centralog-aws.cloudtrail-2028.02.29');
  });

  it('redirects year 10000 and the issue\'s year 2250 to the ingest day, nothing dropped', () => {
    const far = docAt('2250-06-01T00:00:00Z', '2026-06-15T12:00:00Z');
    expect(far.index).toBe('centralog-aws.cloudtrail-2026.06.15');
    expect(far.body['@timestamp']).toBe('2250-06-01T00:00:00.000Z');
    const ingestTime = Date.parse('2026-06-15T12:00:00Z');
    const env = envelope(cloudTrail('+010000-01-01T00:00:00Z'), ingestTime);
    const [doc] = toDocuments(env, { indexWindow: { ingestTime } });
    expect(doc!.index).toMatch(/-2026\.06\.15$/);
  });

  it('reads VPC flow times in seconds; a millisecond value in a seconds field does not name a far index', () => {
    const ingestTime = Date.parse('2026-06-15T12:00:00Z');
    const endS = Math.floor(ingestTime / 1000) - 60;
    const line = (start: number, end: number) => `2 ${OWNER} eni-1 1.1.1.1 2.2.2.2 1 2 6 1 1 ${start} ${end} ACCEPT OK`;
    const inSeconds = toDocuments(envelope(line(endS - 60, endS), ingestTime), { indexWindow: { ingestTime } })[0]!;
    expect(inSeconds.index).toBe('centralog-aws.vpcflow-2026.06.15');
    expect(tags(inSeconds)).toEqual([]);
    // the 2100-01-01 line
    const future = toDocuments(envelope(line(4102444800, 4102444860), ingestTime), { indexWindow: { ingestTime } })[0]!;
    expect(future.index).toBe('centralog-aws.vpcflow-2026.06.15');
    expect(tags(future)).toContain('event_time_out_of_range');
    const ms = toDocuments(envelope(line((endS - 60) * 1000, endS * 1000), ingestTime), { indexWindow: { ingestTime } })[0]!;
    expect(ms.index).toBe('centralog-aws.vpcflow-2026.06.15');
  });

  it('bounds generic documents too, by their CloudWatch Logs time (epoch 0 included)', () => {
    const ingestTime = Date.parse('2026-06-15T12:00:00Z');
    for (const t of [0, ingestTime - 400 * DAY, ingestTime + 3 * DAY]) {
      const [doc] = toDocuments(envelope('plain text', t), { indexWindow: { ingestTime } });
      expect(doc!.index).toBe('centralog-aws.cloudwatch_logs-2026.06.15');
      expect(tags(doc!)).toEqual(['event_time_out_of_range']);
    }
  });

  it('tells the caller of each redirect, by reason and source', () => {
    const seen: string[] = [];
    docAt('2001-01-01T00:00:00Z', '2026-06-15T12:00:00Z', { onRedirect: (reason, source) => seen.push(`${reason}:${source}`) });
    docAt('2026-06-15T00:00:00Z', '2026-06-15T12:00:00Z', { onRedirect: (reason, source) => seen.push(`${reason}:${source}`) });
    expect(seen).toEqual(['event_time_out_of_range:cloudtrail']);
  });

  it('leaves index days unbounded without a window (pure replays of pinned ids)', () => {
    const env = envelope(cloudTrail('2001-01-01T00:00:00Z'), Date.parse('2026-06-15T12:00:00Z'));
    expect(toDocuments(env)[0]!.index).toBe('centralog-aws.cloudtrail-2001.01.01');
  });
});

describe('IndexBudget', () => {
  const hour = Date.parse('2026-06-15T12:00:00Z');
  it('admits a capped number of new index names per hour, known names always, and resets each hour', () => {
    const budget = new IndexBudget(2);
    expect(budget.admit('a', hour)).toBe(true);
    expect(budget.admit('b', hour + 1)).toBe(true);
    expect(budget.admit('c', hour + 2)).toBe(false);
    expect(budget.admit('a', hour + 3)).toBe(true);
    expect(budget.admit('c', hour + 3_600_000)).toBe(true);
    expect(budget.admit('b', hour + 3_600_001)).toBe(true); // known from the hour before: not new
    expect(budget.admit('d', hour + 3_600_002)).toBe(true);
    expect(budget.admit('e', hour + 3_600_003)).toBe(false);
  });

  it('sends documents past the cap to the ingest day\'s index, tagged, and never caps the ingest day itself', () => {
    const budget = new IndexBudget(1);
    const ingest = '2026-06-15T12:00:00Z';
    const reasons: string[] = [];
    const onRedirect = (r: string) => reasons.push(r);
    expect(docAt('2026-06-01T00:00:00Z', ingest, { indexBudget: budget, onRedirect }).index).toMatch(/-2026\.06\.01$/);
    const capped = docAt('2026-06-02T00:00:00Z', ingest, { indexBudget: budget, onRedirect });
    expect(capped.index).toBe('centralog-aws.cloudtrail-2026.06.15');
    expect(capped.body['@timestamp']).toBe('2026-06-02T00:00:00.000Z');
    expect(tags(capped)).toEqual(['index_cap_reached']);
    expect(docAt('2026-06-15T01:00:00Z', ingest, { indexBudget: budget, onRedirect }).index).toMatch(/-2026\.06\.15$/);
    expect(docAt('2026-06-01T05:00:00Z', ingest, { indexBudget: budget, onRedirect }).index).toMatch(/-2026\.06\.01$/);
    expect(reasons).toEqual(['index_cap_reached']);
  });
});

describe('the window is around the CloudWatch Logs time, so replays name the same index', () => {
  const ingestTime = Date.parse('2026-06-15T12:00:00Z');
  // An event CloudWatch Logs received 10 days ago whose own time is 85 days before that.
  const cwlTime = ingestTime - 10 * DAY;
  const event = cloudTrail(new Date(cwlTime - 85 * DAY).toISOString());

  it('keeps an event its own day when it was in range of its CloudWatch Logs time, however late the consumer reads it', () => {
    const doc = toDocuments(envelope(event, cwlTime), { indexWindow: { ingestTime } })[0]!;
    expect(doc.index).toBe('centralog-aws.cloudtrail-2026.03.12');
    expect(tags(doc)).toEqual([]);
  });

  it('names the same index on a replay 100 days later, which around the clock would be out of range', () => {
    const later = ingestTime + 100 * DAY;
    const live = toDocuments(envelope(event, cwlTime), { indexWindow: { ingestTime } })[0]!;
    const replayed = toDocuments(envelope(event, cwlTime), { indexWindow: { ingestTime: later, fromRecordTime: true } })[0]!;
    expect(replayed.index).toBe(live.index);
    expect(replayed.id).toBe(live.id);
    // without the record's time the replay would have redirected it to the replay day: a second document
    expect(toDocuments(envelope(event, cwlTime), { indexWindow: { ingestTime: later } })[0]!.index).toBe('centralog-aws.cloudtrail-2026.09.23');
  });

  it('redirects out-of-range events to their CloudWatch Logs day, the same on replay', () => {
    const far = cloudTrail('2250-06-01T00:00:00Z');
    const live = toDocuments(envelope(far, cwlTime), { indexWindow: { ingestTime } })[0]!;
    expect(live.index).toBe('centralog-aws.cloudtrail-2026.06.05');
    expect(tags(live)).toEqual(['event_time_out_of_range']);
    const replayed = toDocuments(envelope(far, cwlTime), { indexWindow: { ingestTime: ingestTime + 200 * DAY, fromRecordTime: true } })[0]!;
    expect(replayed.index).toBe(live.index);
  });

  it('ignores a record time CloudWatch Logs could not have set (beyond the window around the clock)', () => {
    const forged = toDocuments(envelope(cloudTrail('2001-01-01T00:00:00Z'), Date.parse('2001-01-01T00:00:00Z')), { indexWindow: { ingestTime } })[0]!;
    expect(forged.index).toBe('centralog-aws.cloudtrail-2026.06.15');
    expect(tags(forged)).toEqual(['event_time_out_of_range']);
  });
});

describe('the index cap is the clock\'s', () => {
  it("sends a capped event to the clock's day even when its CloudWatch Logs time names another, in-range day", () => {
    const ingestTime = Date.parse('2026-06-15T12:00:00Z');
    const budget = new IndexBudget(1);
    const at = (days: number) => {
      const t = ingestTime - days * DAY;
      return toDocuments(envelope(cloudTrail(new Date(t).toISOString()), t), { indexBudget: budget, indexWindow: { ingestTime } })[0]!;
    };
    expect(at(10).index).toBe('centralog-aws.cloudtrail-2026.06.05');
    const capped = at(20);
    expect(capped.index).toBe('centralog-aws.cloudtrail-2026.06.15');
    expect(tags(capped)).toEqual(['index_cap_reached']);
  });
});
