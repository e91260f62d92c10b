import { afterAll, describe, expect, it } from 'vitest';
import { createOpenSearchClient, DocumentRulesSchema, prepareBatch, ConsumerOptionsSchema } from '../../consumers/index.ts';
import { BulkSink, documentBody } from '../../consumers/sinks/index.ts';
import { RecordIndexer } from '../../cli/ops/replay.ts';
import { encodeCwlRecord, type CwlEnvelope } from '../../processors/index.ts';
import { inject } from 'vitest';
import { uniqueName } from '../helpers.ts';

/**
 * Replays and redrives rebuild documents long after the pipeline first indexed them: they
 * must name the index it chose, or a second copy of the event appears in another index.
 * The consumer's own rules also apply to them: an unmapped group's look-alikes stay generic.
 */

const DAY = 86_400_000;
const OWNER = '111122223333';
const prefix = uniqueName('replaywin');
const opensearch = createOpenSearchClient(inject('opensearchUrl'));
afterAll(async () => {
  await opensearch.indices.delete({ index: `${prefix}-*` }).catch(() => undefined);
});

function trail(eventTime: number, logGroup: string): CwlEnvelope {
  const message = JSON.stringify({ eventVersion: '1.08', eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', eventTime: new Date(eventTime).toISOString(), awsRegion: 'eu-west-1', eventID: `e-${eventTime}`, recipientAccountId: OWNER });
  return { messageType: 'DATA_MESSAGE', owner: OWNER, logGroup, logStream: 's', subscriptionFilters: [], logEvents: [{ id: String(eventTime), timestamp: eventTime, message }] };
}

const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10).replaceAll('-', '.');

describe('replay names the index the live pipeline chose', () => {
  it('puts a 120-day-old archived event in its own day, as the consumer did when it arrived, and finds it there on a second replay', async () => {
    const old = Date.now() - 120 * DAY;
    const rules = DocumentRulesSchema.parse({ logGroupSources: { 'aws-cloudtrail-logs-*': 'cloudtrail' } });
    const bulk = new BulkSink(opensearch, {});
    const position = { streamName: 'replay', shardId: 'archive', sequenceNumber: '0' };
    const first = new RecordIndexer(bulk, position, { indexPrefix: prefix, rules });
    await first.add(trail(old, 'aws-cloudtrail-logs-x'));
    expect(await first.finish()).toEqual([]);
    expect(first.counts).toMatchObject({ events: 1, created: 1 });
    const again = new RecordIndexer(bulk, position, { indexPrefix: prefix, rules });
    await again.add(trail(old, 'aws-cloudtrail-logs-x'));
    await again.finish();
    expect(again.counts).toMatchObject({ events: 1, created: 0, alreadyPresent: 1 });
    await opensearch.indices.refresh({ index: `${prefix}-*` });
    const indices = (await opensearch.cat.indices({ index: `${prefix}-*`, format: 'json', h: 'index' } as never)).body as Array<{ index: string }>;
    expect(indices.map((i) => i.index)).toEqual([`${prefix}-aws.cloudtrail-${dayOf(old)}`]);
  });

  it("gives the consumer's default rules nothing mapped: an unmapped group's CloudTrail look-alike is generic, tagged", () => {
    const options = ConsumerOptionsSchema.parse({ streamName: 's', deadLetterBucket: 'dead-letters', opensearchUrl: 'http://127.0.0.1:9200' });
    expect(options.logGroupSources).toEqual({});
    const now = Date.now();
    const batch = prepareBatch([{ Data: encodeCwlRecord(trail(now, '/app/web')), SequenceNumber: '1', PartitionKey: 'p' }], {
      streamName: 's',
      shardId: 'shardId-000000000000',
      indexPrefix: prefix,
      logGroupSources: options.logGroupSources,
    });
    expect(batch.documents.map((d) => [d.source, documentBody(d).tags])).toEqual([['cloudwatch_logs', ['looks_like_cloudtrail']]]);
  });
});
