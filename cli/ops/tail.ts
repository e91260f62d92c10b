import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ProvisionedThroughputExceededException,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, listShards } from '../../consumers/index.ts';
import { documentOptions, type DocumentRules } from '../../consumers/index.ts';
import { deaggregate, decodeCwlRecord, toDocuments, type IndexableDocument } from '../../processors/index.ts';
import { logGroupMatcher } from './archive.ts';

export type TailStart = { type: 'TRIM_HORIZON' } | { type: 'LATEST' } | { type: 'AT_TIMESTAMP'; time: Date };

export interface TailEvent {
  shardId: string;
  sequenceNumber: string;
  arrivedAt?: string;
  owner: string;
  logGroup: string;
  logStream: string;
  id: string;
  timestamp: number;
  message: string;
  source: string;
  index: string;
  documentId: string;
  document: IndexableDocument['body'];
}

export interface TailOptions {
  streamName: string;
  start: TailStart;
  follow: boolean;
  sources?: string[];
  accounts?: string[];
  logGroups?: string[];
  limit?: number;
  indexPrefix: string;
  /** How events become documents, as the consumer is told (default: nothing mapped). */
  rules?: DocumentRules;
  signal: AbortSignal;
  onEvent: (event: TailEvent) => void;
  onProblem: (message: string) => void;
}

export interface TailCounts {
  records: number;
  events: number;
  shown: number;
  controlMessages: number;
  undecodable: number;
}

/** Kinesis allows 5 GetRecords per second per shard, shared with the consumers and Firehose: tail takes at most 2. */
const MIN_CALL_INTERVAL_MS = 500;
const IDLE_MS = 1000;

/**
 * Reads the stream as the consumer does (de-aggregation, CWL decoding, the document
 * builder) and hands each selected event over, shard by shard. Without `follow` it stops
 * once every shard is caught up; with it, until the signal aborts.
 */
export async function tailStream(kinesis: KinesisClient, options: TailOptions): Promise<TailCounts> {
  const counts: TailCounts = { records: 0, events: 0, shown: 0, controlMessages: 0, undecodable: 0 };
  const group = logGroupMatcher(options.logGroups);
  const documents = documentOptions(options.rules, options.indexPrefix);
  const accounts = options.accounts && new Set(options.accounts);
  const sources = options.sources && new Set(options.sources);
  const done = new AbortController();
  const signal = AbortSignal.any([options.signal, done.signal]);
  const reading = new Map<string, Promise<void>>();

  const handle = (shardId: string, record: _Record) => {
    counts.records++;
    const seq = record.SequenceNumber ?? '';
    const parts = deaggregate(record.Data ?? new Uint8Array(), record.PartitionKey ?? '', seq);
    if ('error' in parts) {
      counts.undecodable++;
      options.onProblem(`${shardId} ${seq}: undecodable record (${parts.error.message})`);
      return;
    }
    for (const part of parts.records) {
      const decoded = decodeCwlRecord(part.data);
      if (decoded.kind === 'control') {
        counts.controlMessages++;
        continue;
      }
      if (decoded.kind === 'failed') {
        counts.undecodable++;
        options.onProblem(`${shardId} ${seq}: undecodable record (${decoded.error.message})`);
        continue;
      }
      // The transform's re-ingested copies repeat events already in the stream.
      if (decoded.reingested) continue;
      const env = decoded.envelope;
      if ((accounts && !accounts.has(env.owner)) || !group(env.logGroup)) continue;
      const docs = toDocuments(env, documents);
      env.logEvents.forEach((e, i) => {
        counts.events++;
        const doc = docs[i]!;
        if (sources && !sources.has(doc.source)) return;
        if (options.limit !== undefined && counts.shown >= options.limit) return;
        counts.shown++;
        options.onEvent({
          shardId,
          sequenceNumber: seq,
          arrivedAt: record.ApproximateArrivalTimestamp?.toISOString(),
          owner: env.owner,
          logGroup: env.logGroup,
          logStream: env.logStream,
          id: e.id,
          timestamp: e.timestamp,
          message: e.message,
          source: doc.source,
          index: doc.index,
          documentId: doc.id,
          document: doc.body,
        });
        if (options.limit !== undefined && counts.shown >= options.limit) done.abort();
      });
    }
  };

  const readShard = async (shardId: string, start: TailStart): Promise<void> => {
    let last: string | undefined;
    const iterator = async () => {
      const input: GetShardIteratorCommandInput = { StreamName: options.streamName, ShardId: shardId, ShardIteratorType: start.type };
      if (last) Object.assign(input, { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: last });
      else if (start.type === 'AT_TIMESTAMP') input.Timestamp = start.time;
      return (await kinesis.send(new GetShardIteratorCommand(input), { abortSignal: signal })).ShardIterator;
    };
    let it = await iterator();
    let throttled = 0;
    while (it && !signal.aborted) {
      const called = Date.now();
      try {
        const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1000 }), { abortSignal: signal });
        throttled = 0;
        for (const r of out.Records ?? []) {
          if (signal.aborted) return;
          handle(shardId, r);
          last = r.SequenceNumber ?? last;
        }
        it = out.NextShardIterator;
        const caughtUp = (out.Records ?? []).length === 0 && !out.MillisBehindLatest;
        if (caughtUp && !options.follow) return;
        await sleep(Math.max(MIN_CALL_INTERVAL_MS - (Date.now() - called), caughtUp ? IDLE_MS : 0), undefined, { signal });
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ExpiredIteratorException) it = await iterator();
        else if (err instanceof ProvisionedThroughputExceededException) await sleep(backoffDelay(++throttled, { baseMs: 250, maxMs: 5000 }), undefined, { signal });
        else throw err;
      }
    }
  };

  const startNewShards = async (initial: boolean) => {
    for (const shard of await listShards(kinesis, options.streamName)) {
      const id = shard.ShardId!;
      if (reading.has(id)) continue;
      // A shard found later (a split or merge) is read from its beginning.
      reading.set(id, readShard(id, initial ? options.start : { type: 'TRIM_HORIZON' }));
    }
  };
  await startNewShards(true);
  if (options.follow) {
    while (!signal.aborted) {
      await sleep(30_000, undefined, { signal }).catch(() => undefined);
      if (!signal.aborted) await startNewShards(false);
    }
  }
  try {
    await Promise.all(reading.values());
  } catch (err) {
    if (!signal.aborted) throw err;
  }
  return counts;
}
