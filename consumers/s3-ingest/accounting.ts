import { Counter, Registry } from 'prom-client';
import { SOURCE_TYPES, type SourceType } from '../../processors/index.ts';
import type { ObjectOutcome } from './object-ingest.ts';

/** What the S3 ingest worker has done: every message, object and event ends in one of these. */
export interface S3IngestCounters {
  messagesIn: number;
  /** Deleted after every event of their objects was indexed or dead-lettered. */
  messagesDeleted: number;
  /** Left for redelivery (S3 or OpenSearch unavailable); the queue's DLQ takes them after its max receives. */
  messagesRetried: number;
  /** s3:TestEvent messages, acknowledged. */
  testEvents: number;
  /** Messages that announce no S3 object (not a notification), acknowledged. */
  unknownMessages: number;
  objects: number;
  /** Objects whose key and content name no format (or a skipped kind: digests, Parquet), acknowledged. */
  objectsSkipped: number;
  /** Objects that could not be read as their format, dead-lettered whole. */
  objectsDeadLettered: number;
  eventsIn: number;
  created: number;
  duplicates: number;
  deadLettered: number;
  indexedBySource: Record<SourceType, number>;
  visibilityExtensions: number;
}

export function emptyS3IngestCounters(): S3IngestCounters {
  return {
    messagesIn: 0,
    messagesDeleted: 0,
    messagesRetried: 0,
    testEvents: 0,
    unknownMessages: 0,
    objects: 0,
    objectsSkipped: 0,
    objectsDeadLettered: 0,
    eventsIn: 0,
    created: 0,
    duplicates: 0,
    deadLettered: 0,
    indexedBySource: Object.fromEntries(SOURCE_TYPES.map((s) => [s, 0])) as Record<SourceType, number>,
    visibilityExtensions: 0,
  };
}

export type MessageOutcome = 'deleted' | 'retried' | 'test_event' | 'unknown';

/** The one place that counts: the counters tests and the demo read and the Prometheus metrics move together. */
export class S3IngestAccounting {
  readonly counters = emptyS3IngestCounters();
  readonly registry = new Registry();
  private readonly messages = new Counter({ name: 'centralog_s3_messages_total', help: 'SQS messages handled, by outcome', labelNames: ['outcome'], registers: [this.registry] });
  private readonly objects = new Counter({ name: 'centralog_s3_objects_total', help: 'S3 objects read, by format and outcome', labelNames: ['format', 'outcome'], registers: [this.registry] });
  private readonly events = new Counter({ name: 'centralog_s3_events_total', help: 'Events of S3 objects, by outcome (created, duplicate, dead_lettered)', labelNames: ['outcome'], registers: [this.registry] });
  private readonly indexed = new Counter({ name: 'centralog_s3_documents_indexed_total', help: 'Documents created from S3 objects, by source', labelNames: ['source'], registers: [this.registry] });
  private readonly extensions = new Counter({ name: 'centralog_s3_visibility_extensions_total', help: 'ChangeMessageVisibility calls made while an object was still being read', registers: [this.registry] });

  received(n: number): void {
    this.counters.messagesIn += n;
  }

  message(outcome: MessageOutcome): void {
    const c = this.counters;
    if (outcome === 'deleted') c.messagesDeleted++;
    else if (outcome === 'retried') c.messagesRetried++;
    else if (outcome === 'test_event') c.testEvents++;
    else c.unknownMessages++;
    this.messages.inc({ outcome });
  }

  object(o: ObjectOutcome): void {
    const c = this.counters;
    c.objects++;
    const outcome = o.unreadable !== undefined ? 'dead_lettered' : ['unknown_key', 'cloudtrail_digest', 'parquet'].includes(o.format) ? 'skipped' : 'indexed';
    if (outcome === 'dead_lettered') c.objectsDeadLettered++;
    if (outcome === 'skipped') c.objectsSkipped++;
    this.objects.inc({ format: o.format, outcome });
    c.eventsIn += o.events;
    c.created += o.created;
    c.duplicates += o.duplicates;
    c.deadLettered += o.deadLettered;
    this.events.inc({ outcome: 'created' }, o.created);
    this.events.inc({ outcome: 'duplicate' }, o.duplicates);
    this.events.inc({ outcome: 'dead_lettered' }, o.deadLettered);
    for (const [source, n] of Object.entries(o.createdBySource) as [SourceType, number][]) {
      c.indexedBySource[source] += n;
      this.indexed.inc({ source }, n);
    }
  }

  visibilityExtended(): void {
    this.counters.visibilityExtensions++;
    this.extensions.inc();
  }
}
