import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { documentOptions, MAX_EVENT_BYTES, prepareBatch, type DocumentRules } from '../../consumers/index.ts';
import { bulkLines, DeadLetterSink, oversizedEvent, refusedDocument, type BulkDocument, type BulkSink, type DeadLetter } from '../../consumers/sinks/index.ts';
import { toDocuments, type SourceType } from '../../processors/index.ts';
import { letterEventKey, listDeadLetterObjects, readDeadLetterObject, reasonKind, type DeadLetterObject } from './dead-letters.ts';
import { forEachLimit, readObjectIfExists } from './s3.ts';

/** Writes letters, in the dead-letter sink's own format, to one given key. */
class KeyedSink extends DeadLetterSink {
  constructor(
    s3: S3Client,
    bucket: string,
    private readonly key: string,
  ) {
    super(s3, bucket);
  }

  override keyOf(): string {
    return this.key;
  }
}

export interface RedriveOptions {
  prefix: string;
  /** Where letters that now succeed are kept, mirroring their old keys. */
  redrivenPrefix: string;
  /** Dead letters of these arrival hours; all when absent. */
  range?: { from: Date; to: Date };
  stages?: Array<DeadLetter['stage']>;
  indexPrefix: string;
  /** How events become documents, as the consumer is told (default: nothing mapped). */
  rules?: DocumentRules;
  maxEventBytes?: number;
  concurrency?: number;
  signal?: AbortSignal;
  onPlan?: (objects: DeadLetterObject[]) => void;
  onObject?: (object: DeadLetterObject, summary: RedriveSummary) => void;
}

export interface RedriveSummary {
  objects: number;
  letters: number;
  /** Letters whose events are now all in OpenSearch: moved to the redriven prefix. */
  redriven: number;
  created: number;
  alreadyPresent: number;
  /** Letters that fail again; they stay where they were, with the new reason. */
  stillFailing: number;
  /** Letters of stages not asked for: left as they are. */
  skipped: number;
  reasons: Record<string, number>;
  seconds: number;
}

function emptySummary(): RedriveSummary {
  return { objects: 0, letters: 0, redriven: 0, created: 0, alreadyPresent: 0, stillFailing: 0, skipped: 0, reasons: {}, seconds: 0 };
}

/** One letter made into documents again, or into new letters if it still cannot be. */
interface Attempt {
  letter: DeadLetter;
  documents: BulkDocument[];
  failures: DeadLetter[];
}

/** A letter back through the processors, as the consumer would take its record or event today. */
function rebuild(letter: DeadLetter, options: RedriveOptions): Attempt {
  const attempt: Attempt = { letter, documents: [], failures: [] };
  const maxEventBytes = options.maxEventBytes ?? MAX_EVENT_BYTES;
  // A dead letter is an event the pipeline already took in: its index window is around its own time.
  const documents = documentOptions(options.rules, options.indexPrefix, true);
  const position = { streamName: letter.streamName, shardId: letter.shardId, sequenceNumber: letter.sequenceNumber, arrivedAt: letter.arrivedAt };
  if (letter.envelope && letter.event) {
    const envelope = { messageType: 'DATA_MESSAGE' as const, ...letter.envelope, subscriptionFilters: [], logEvents: [letter.event] };
    const size = Buffer.byteLength(letter.event.message);
    if (size > maxEventBytes) {
      attempt.failures.push(oversizedEvent(position, letter.envelope, letter.event, size, maxEventBytes));
      return attempt;
    }
    const doc: BulkDocument = toDocuments(envelope, documents)[0]!;
    doc.origin = { record: { envelope: letter.envelope, sequenceNumber: letter.sequenceNumber, arrivedAt: letter.arrivedAt }, event: letter.event };
    attempt.documents.push(doc);
  } else if (letter.rawData !== undefined) {
    // A whole record that could not be read: through the consumer's own batch preparation.
    const batch = prepareBatch(
      [{ Data: Buffer.from(letter.rawData, 'base64'), SequenceNumber: letter.sequenceNumber, PartitionKey: '', ApproximateArrivalTimestamp: letter.arrivedAt ? new Date(letter.arrivedAt) : undefined }],
      { streamName: letter.streamName, shardId: letter.shardId, ...documents, maxEventBytes },
    );
    attempt.documents.push(...batch.documents);
    attempt.failures.push(...batch.deadLetters);
  } else if (letter.document) {
    const { index, id, body } = letter.document;
    const source = (String((body.event as { dataset?: string } | undefined)?.dataset ?? 'aws.cloudwatch_logs').replace(/^aws\./, '') as SourceType);
    attempt.documents.push({ index, id, source, eventTimestamp: Date.parse(String(body['@timestamp'])) || 0, body });
  } else {
    attempt.failures.push({ ...letter, reason: `redrive: nothing to index in this letter (was: ${letter.reason})`, at: new Date().toISOString() });
  }
  for (const d of attempt.documents) d.ndjson = bulkLines(d);
  return attempt;
}

/**
 * Dead letters back through the pipeline after a fix (a parser, a mapping, a size limit):
 * each one is rebuilt from its event or record and indexed under the pipeline's id. A
 * letter whose documents are all in OpenSearch now moves to `redrivenPrefix`; one that
 * fails again stays in its object with the new reason. The redriven copy is written
 * before the original changes, so an interrupted run loses nothing and a second run
 * finishes the move.
 */
export async function redrive(deps: { s3: S3Client; bucket: string; bulk: BulkSink }, options: RedriveOptions): Promise<RedriveSummary> {
  const started = performance.now();
  const objects = await listDeadLetterObjects(deps.s3, deps.bucket, options.prefix, options.range, options.signal);
  options.onPlan?.(objects);
  const total = emptySummary();
  total.objects = objects.length;
  await forEachLimit(
    objects,
    options.concurrency ?? 4,
    async (object) => {
      const part = emptySummary();
      const letters = await readDeadLetterObject(deps.s3, deps.bucket, object.key, options.signal);
      part.letters = letters.length;
      const wanted = (l: DeadLetter) => !options.stages || options.stages.includes(l.stage);
      const attempts = letters.filter(wanted).map((l) => rebuild(l, options));
      part.skipped = letters.length - attempts.length;
      const owner = new Map<BulkDocument, Attempt>();
      for (const a of attempts) for (const d of a.documents) owner.set(d, a);
      const outcome = await deps.bulk.write([...owner.keys()], options.signal);
      part.created = outcome.created.length;
      part.alreadyPresent = outcome.duplicates.length;
      for (const r of outcome.rejected) {
        const a = owner.get(r.document as BulkDocument)!;
        a.failures.push(refusedDocument(a.letter.streamName, a.letter.shardId, r));
      }
      const succeeded = attempts.filter((a) => a.failures.length === 0).map((a) => a.letter);
      const remaining = [...letters.filter((l) => !wanted(l)), ...attempts.flatMap((a) => a.failures)];
      part.redriven = succeeded.length;
      part.stillFailing = attempts.length - succeeded.length;
      for (const l of attempts.flatMap((a) => a.failures)) {
        const kind = reasonKind(l.reason);
        part.reasons[kind] = (part.reasons[kind] ?? 0) + 1;
      }

      if (succeeded.length > 0) {
        const key = `${options.redrivenPrefix}${object.key.slice(options.prefix.length)}`;
        // Merged with what an earlier run moved there, so a partial success never overwrites another.
        const earlier = await readObjectIfExists(deps.s3, deps.bucket, key, options.signal);
        const old = earlier ? earlier.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DeadLetter) : [];
        const ids = new Set(succeeded.map(letterIdentity));
        await new KeyedSink(deps.s3, deps.bucket, key).write([...old.filter((l) => !ids.has(letterIdentity(l))), ...succeeded]);
      }
      if (attempts.length > 0) {
        if (remaining.length === 0) await deps.s3.send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: object.key }), { abortSignal: options.signal });
        else await new KeyedSink(deps.s3, deps.bucket, object.key).write(remaining);
      }
      add(total, part);
      options.onObject?.(object, part);
    },
    options.signal,
  );
  total.seconds = (performance.now() - started) / 1000;
  return total;
}

/** What tells one letter from another in an object: its event, else its record. */
function letterIdentity(l: DeadLetter): string {
  return letterEventKey(l) ?? l.document?.id ?? `${l.streamName}|${l.shardId}|${l.sequenceNumber}`;
}

function add(total: RedriveSummary, part: RedriveSummary): void {
  total.letters += part.letters;
  total.redriven += part.redriven;
  total.created += part.created;
  total.alreadyPresent += part.alreadyPresent;
  total.stillFailing += part.stillFailing;
  total.skipped += part.skipped;
  for (const [r, n] of Object.entries(part.reasons)) total.reasons[r] = (total.reasons[r] ?? 0) + n;
}
