import type { S3Client } from '@aws-sdk/client-s3';
import { basename } from 'node:path';
import { MAX_EVENT_BYTES } from '../../consumers/index.ts';
import { bulkLines, oversizedEvent, refusedDocument, type BulkDocument, type BulkSink, type DeadLetter, type DeadLetterSink, type RecordPosition } from '../../consumers/sinks/index.ts';
import { documentOptions, type DocumentRules } from '../../consumers/index.ts';
import { toDocuments, type CwlEnvelope, type DocumentOptions } from '../../processors/index.ts';
import { eventSelector, hourStart, listArchiveObjects, readArchiveLines, toEnvelopes, type ArchiveFilter, type ArchiveObject } from './archive.ts';
import { forEachLimit } from './s3.ts';

/** Dead letters written by replay name this stream, so they are told apart from the consumer's. */
export const REPLAY_STREAM = 'replay';

export interface IndexCounts {
  events: number;
  created: number;
  /** Already indexed (409 on create): nothing to do, never a second copy. */
  alreadyPresent: number;
  deadLettered: number;
}

export function emptyCounts(): IndexCounts {
  return { events: 0, created: 0, alreadyPresent: 0, deadLettered: 0 };
}

export interface IndexerOptions {
  indexPrefix: string;
  /** How events become documents, as the consumer is told (default: nothing mapped). */
  rules?: DocumentRules;
  maxEventBytes?: number;
  /** NDJSON bytes per _bulk request. */
  batchBytes?: number;
}

/**
 * Events of one Kinesis record (or archive object) through the consumer's own path: the
 * document builder, the event size limit, the bulk sink, and dead-letter builders, so ids,
 * indices and dead letters are the pipeline's. Documents go out in requests of about
 * `batchBytes`; dead letters are returned for the caller to write in one piece.
 */
export class RecordIndexer {
  readonly counts = emptyCounts();
  readonly letters: DeadLetter[] = [];
  private pending: BulkDocument[] = [];
  /** Archived events: their index window is around their own CloudWatch Logs time, as when first ingested. */
  private readonly documents: DocumentOptions;
  private pendingBytes = 0;

  constructor(
    private readonly bulk: BulkSink,
    private readonly position: RecordPosition,
    private readonly options: IndexerOptions,
    private readonly signal?: AbortSignal,
  ) {
    this.documents = documentOptions(options.rules, options.indexPrefix, true);
  }

  /** Adds the selected events of an envelope; `selected(i)` says which (default all). */
  async add(envelope: CwlEnvelope, selected: (i: number) => boolean = () => true): Promise<void> {
    const maxEventBytes = this.options.maxEventBytes ?? MAX_EVENT_BYTES;
    const source = { owner: envelope.owner, logGroup: envelope.logGroup, logStream: envelope.logStream };
    const record = { envelope: source, sequenceNumber: this.position.sequenceNumber, arrivedAt: this.position.arrivedAt };
    const docs = toDocuments(envelope, this.documents);
    for (let i = 0; i < envelope.logEvents.length; i++) {
      if (!selected(i)) continue;
      const event = envelope.logEvents[i]!;
      this.counts.events++;
      const size = event.message.length * 3 > maxEventBytes ? Buffer.byteLength(event.message) : 0;
      if (size > maxEventBytes) {
        this.letters.push(oversizedEvent(this.position, source, event, size, maxEventBytes));
        continue;
      }
      const doc: BulkDocument = docs[i]!;
      doc.ndjson = bulkLines(doc);
      doc.bytes = Buffer.byteLength(doc.ndjson);
      doc.origin = { record, event };
      this.pending.push(doc);
      this.pendingBytes += doc.bytes;
      if (this.pendingBytes >= (this.options.batchBytes ?? 5 * 1024 * 1024)) await this.flush();
    }
  }

  /** Sends what is pending; refused documents become dead letters. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const docs = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const outcome = await this.bulk.write(docs, this.signal);
    this.counts.created += outcome.created.length;
    this.counts.alreadyPresent += outcome.duplicates.length;
    for (const r of outcome.rejected) this.letters.push(refusedDocument(this.position.streamName, this.position.shardId, r));
  }

  /** Flushes and returns the dead letters; counts them. */
  async finish(): Promise<DeadLetter[]> {
    await this.flush();
    this.counts.deadLettered = this.letters.length;
    return this.letters;
  }
}

export function addCounts(total: IndexCounts, part: IndexCounts): void {
  total.events += part.events;
  total.created += part.created;
  total.alreadyPresent += part.alreadyPresent;
  total.deadLettered += part.deadLettered;
}

/** `owner|logGroup|hourStart`: the unit reconcile counts and repairs. */
export function bucketKey(owner: string, logGroup: string, timestamp: number): string {
  return `${owner}|${logGroup}|${hourStart(timestamp)}`;
}

export interface ReplayOptions extends IndexerOptions {
  filter: ArchiveFilter;
  /** Only events of these `owner|logGroup|hourStart` buckets (reconcile --repair). */
  buckets?: Set<string>;
  /** Archive objects read and indexed at once. */
  concurrency?: number;
  signal?: AbortSignal;
  /** After the listing: how many objects will be read. */
  onPlan?: (objects: ArchiveObject[]) => void;
  /** After each object. */
  onObject?: (object: ArchiveObject, counts: IndexCounts) => void;
}

export interface ReplaySummary extends IndexCounts {
  objects: number;
  seconds: number;
  eventsPerSecond: number;
}

/**
 * Archive -> processors -> OpenSearch. Idempotent: documents are created under the
 * pipeline's ids, so what is already there is a 409 ("already present"). An object's dead
 * letters are one object under a key made from the archive object's name, so replaying
 * twice rewrites them instead of adding copies.
 */
export async function replayArchive(
  deps: { s3: S3Client; archiveBucket: string; bulk: BulkSink; deadLetters: DeadLetterSink },
  options: ReplayOptions,
): Promise<ReplaySummary> {
  const started = performance.now();
  const objects = await listArchiveObjects(deps.s3, deps.archiveBucket, options.filter, options.signal);
  options.onPlan?.(objects);
  const select = eventSelector(options.filter);
  const total = emptyCounts();
  await forEachLimit(
    objects,
    options.concurrency ?? 4,
    async (object) => {
      const position: RecordPosition = {
        streamName: REPLAY_STREAM,
        shardId: `archive-${object.source}`,
        sequenceNumber: basename(object.key),
        arrivedAt: object.lastModified.toISOString(),
      };
      const indexer = new RecordIndexer(deps.bulk, position, options, options.signal);
      for (const envelope of toEnvelopes(await readArchiveLines(deps.s3, deps.archiveBucket, object.key, options.signal))) {
        const { owner, logGroup } = envelope;
        await indexer.add(envelope, (i) => {
          const t = envelope.logEvents[i]!.timestamp;
          return select(owner, logGroup, t) && (!options.buckets || options.buckets.has(bucketKey(owner, logGroup, t)));
        });
      }
      await deps.deadLetters.write(await indexer.finish());
      addCounts(total, indexer.counts);
      options.onObject?.(object, indexer.counts);
    },
    options.signal,
  );
  const seconds = (performance.now() - started) / 1000;
  return { ...total, objects: objects.length, seconds, eventsPerSecond: total.events / Math.max(seconds, 0.001) };
}
