import { setTimeout as sleep } from 'node:timers/promises';
import { logGroupSourceOf, type IndexableDocument, type LogGroupSources } from '../../processors/index.ts';
import { RULE_LEVELS, type DetectionService, type RuleLevel, type RuleSet } from '../../processors/detections/index.ts';
import type { AlertMetrics } from './alert-metrics.ts';
import type { LogFunction } from '../scheduler/shard-processor.ts';
import type { BulkDocument } from '../sinks/opensearch-bulk.ts';
import { alertDocument, type AlertDocument } from './alert-document.ts';
import type { AlertStore, VersionedAlert } from './alert-store.ts';
import type { AlertPublisher } from './sns-publisher.ts';

export interface AlertingOptions {
  rules: RuleSet;
  store: AlertStore;
  /** Without a topic alerts are indexed, unpublished, and wait for one. */
  publisher?: AlertPublisher;
  /** Only mapped or trusted log groups feed detections: whoever can write to a group could otherwise forge alerts. */
  logGroupSources?: LogGroupSources;
  workerId: string;
  indexPrefix: string;
  metrics?: AlertMetrics;
  log?: LogFunction;
  /**
   * How long a claim keeps the sweep off an unpublished alert. Longer than one publication with
   * its retries can take, so a sweep never publishes what its creator is still publishing.
   */
  claimTimeoutMs?: number;
  sweepIntervalMs?: number;
  /** Alerts claimed and published per sweep. */
  sweepSize?: number;
  /** Publications waiting in memory; past it new alerts are left to the sweep. */
  maxQueued?: number;
  maxConcurrentPublishes?: number;
}

/** An alert a prepared document raises, kept with the document so a refused one raises nothing. */
export interface RaisedAlert {
  document: IndexableDocument;
  alert: AlertDocument;
}

/** What this worker's detections did. `raised` counts alerts created (201): a replay adds nothing. */
export interface AlertCounters {
  raised: Record<RuleLevel, number>;
  published: number;
  /** Publication attempts SNS failed (each retry counts). */
  publishFailures: number;
  /** Alerts OpenSearch refused for good (a mapping error): logged. */
  rejected: number;
}

export function emptyAlertCounters(): AlertCounters {
  return { raised: Object.fromEntries(RULE_LEVELS.map((l) => [l, 0])) as Record<RuleLevel, number>, published: 0, publishFailures: 0, rejected: 0 };
}

/** Several workers' alert counters added up. */
export function sumAlertCounters(all: AlertCounters[]): AlertCounters {
  const total = emptyAlertCounters();
  for (const c of all) {
    for (const l of RULE_LEVELS) total.raised[l] += c.raised[l];
    total.published += c.published;
    total.publishFailures += c.publishFailures;
    total.rejected += c.rejected;
  }
  return total;
}

/** The event a rule sees: the raw CloudTrail record or GuardDuty finding, plus what the envelope says. */
export function detectionInput(doc: BulkDocument, sources: LogGroupSources | undefined): { event: Record<string, unknown>; service: DetectionService } | undefined {
  if (doc.source !== 'cloudtrail' && doc.source !== 'guardduty') return undefined;
  const origin = doc.origin;
  if (!sources || !origin) return undefined;
  const envelope = origin.record.envelope;
  const mapping = logGroupSourceOf(sources, envelope.logGroup);
  if (mapping !== doc.source && mapping !== 'trusted') return undefined;
  // The record toDocument parsed the event from: a document without one was not parsed as its source.
  const raw = doc.raw;
  if (!raw) return undefined;
  const tags = doc.body.tags;
  // Set last, so an event cannot forge its own centralog facts.
  const centralog = { account_mismatch: Array.isArray(tags) && tags.includes('account_mismatch'), owner: envelope.owner, log_group: envelope.logGroup };
  return { event: { ...raw, centralog }, service: doc.source };
}

/**
 * Detections in the consumer: as a slice is prepared, each of its CloudTrail events and
 * GuardDuty findings from mapped or trusted log groups is matched against the rules, and each
 * match becomes an alert document; once the slice is indexed, those of the documents OpenSearch
 * did not refuse are created with op_type create under id hash(rule, document).
 * Only the call that created an alert (201) publishes it, so replays and retried batches
 * (409) never notify twice. A publication SNS keeps failing leaves the alert unpublished; the
 * periodic sweep claims such alerts (a conditional update on their version) and publishes them.
 *
 * Exactly once, nearly: between a successful publish and the update recording it, a crash (or
 * OpenSearch refusing the update) leaves the alert unpublished in the index, and a sweep
 * publishes it a second time once the claim runs out. That window is one update long; a FIFO
 * topic closes it within SNS's 5-minute deduplication window (the alert id is the dedup id).
 */
export class Alerting {
  readonly counters = emptyAlertCounters();
  private readonly queue: VersionedAlert[] = [];
  private readonly active = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly claimTimeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;

  constructor(private readonly opts: AlertingOptions) {
    this.claimTimeoutMs = opts.claimTimeoutMs ?? 300_000;
  }

  get publishes(): boolean {
    return this.opts.publisher !== undefined;
  }

  /**
   * The alerts one document raises: matched while the batch is prepared, when the parsed
   * record is at hand and before the document's body is released; written by afterIndexed.
   */
  alertsFor(doc: BulkDocument): AlertDocument[] | undefined {
    const input = detectionInput(doc, this.opts.logGroupSources);
    if (!input) return undefined;
    const matches = this.opts.rules.match(input.event, input.service);
    if (matches.length === 0) return undefined;
    return matches.map((match) => alertDocument(match, doc, { indexPrefix: this.opts.indexPrefix, workerId: this.opts.workerId }));
  }

  /**
   * Called with a delivered batch's alerts once OpenSearch holds their documents (created or
   * 409); those of refused documents are left out. Throws when the alerts cannot be written,
   * so the batch is delivered again; publications run after it returns and never hold the batch.
   */
  async afterIndexed(raised: ReadonlyArray<RaisedAlert>, refused: readonly IndexableDocument[] = []): Promise<void> {
    const skip = refused.length > 0 ? new Set(refused) : undefined;
    const alerts = skip ? raised.filter((r) => !skip.has(r.document)).map((r) => r.alert) : raised.map((r) => r.alert);
    if (alerts.length === 0) return;
    const outcome = await this.opts.store.create(alerts);
    for (const { alert, reason } of outcome.rejected) {
      this.counters.rejected++;
      this.opts.log?.('error', 'alert refused by OpenSearch', { alert: alert.id, index: alert.index, rule: alert.body.rule.id, reason });
    }
    for (const v of outcome.created) {
      const { level } = v.alert.body.centralog.alert;
      this.counters.raised[level]++;
      this.opts.metrics?.alertsRaised.inc({ rule: v.alert.body.rule.id, level });
      this.enqueue(v);
    }
  }

  private enqueue(v: VersionedAlert): void {
    if (!this.opts.publisher || this.stopping.signal.aborted) return;
    // Bounded memory while SNS is slow: the rest keep their claim, which runs out, and the sweep takes them.
    if (this.queue.length >= (this.opts.maxQueued ?? 10_000)) return;
    this.queue.push(v);
    this.pump();
  }

  private pump(): void {
    while (this.active.size < (this.opts.maxConcurrentPublishes ?? 8) && this.queue.length > 0) {
      const v = this.queue.shift()!;
      // A claim nearly run out may already be a sweep's: leave it to the sweep rather than race it.
      if (Date.now() - Date.parse(v.alert.body.centralog.alert.claimed_at) > this.claimTimeoutMs / 2) continue;
      const p: Promise<void> = this.publishClaimed(v)
        .then(() => undefined)
        .finally(() => {
          this.active.delete(p);
          this.pump();
        });
      this.active.add(p);
    }
  }

  /** Publishes an alert this worker holds the claim on, then records it, conditionally on the version claimed. */
  private async publishClaimed(v: VersionedAlert): Promise<boolean> {
    const publisher = this.opts.publisher!;
    const fields = { alert: v.alert.id, rule: v.alert.body.rule.id };
    try {
      await publisher.publish(v.alert, {
        signal: this.stopping.signal,
        onFailure: () => {
          this.counters.publishFailures++;
          this.opts.metrics?.publishFailures.inc();
        },
      });
    } catch (err) {
      this.opts.log?.('warn', 'alert not published; it stays unpublished for the sweep', { ...fields, error: (err as Error).message });
      return false;
    }
    this.counters.published++;
    this.opts.metrics?.alertsPublished.inc();
    try {
      const recorded = await this.opts.store.updateIf(v, { published: true, published_at: new Date().toISOString() });
      if (!recorded) this.opts.log?.('warn', 'alert published, but its claim was taken meanwhile: it may be published twice', fields);
    } catch (err) {
      this.opts.log?.('warn', 'alert published, but recording it failed: a sweep may publish it again', { ...fields, error: (err as Error).message });
    }
    return true;
  }

  /**
   * Publishes alerts left unpublished whose claim has run out: each is first claimed by a
   * conditional update on the version read, so of two workers sweeping at once only one
   * publishes it. Also measures the backlog.
   */
  async sweep(): Promise<{ published: number; failed: number }> {
    const result = { published: 0, failed: 0 };
    if (!this.opts.publisher) return result;
    const { store } = this.opts;
    const stale = await store.unpublished(new Date(Date.now() - this.claimTimeoutMs), this.opts.sweepSize ?? 100);
    for (const candidate of stale) {
      if (this.stopping.signal.aborted) break;
      const claimed = await store.updateIf(candidate, { claimed_by: this.opts.workerId, claimed_at: new Date().toISOString() });
      if (!claimed) continue;
      if (await this.publishClaimed(claimed)) result.published++;
      else result.failed++;
    }
    this.opts.metrics?.alertsUnpublished.set(await store.countUnpublished());
    return result;
  }

  /** Sweeps now and every sweepIntervalMs until stopped. */
  start(): void {
    if (!this.opts.publisher || this.timer) return;
    const run = () => {
      if (this.sweeping) return;
      this.sweeping = this.sweep()
        .catch((err: Error) => this.opts.log?.('warn', 'alert sweep failed', { error: err.message }))
        .finally(() => (this.sweeping = undefined));
    };
    run();
    this.timer = setInterval(run, this.opts.sweepIntervalMs ?? 60_000);
    this.timer.unref();
  }

  /** Resolves once no publication is queued or under way. */
  async idle(): Promise<void> {
    // The pump refills from the queue as each one ends, so no active one means an empty queue.
    while (this.active.size > 0) await Promise.allSettled([...this.active]);
  }

  /**
   * Stops sweeping and lets queued publications finish for up to `timeoutMs`; what is left
   * keeps its claim, which runs out, and a later sweep (of any worker) publishes it. Short,
   * as it comes after the batches' own shutdown time within the task's stop timeout.
   */
  async stop(timeoutMs = 5_000): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.race([this.idle(), sleep(timeoutMs, undefined, { ref: false })]);
    this.stopping.abort();
    this.queue.length = 0;
    await Promise.allSettled([...this.active]);
    await this.sweeping;
  }

  /** Publications in memory (queued or under way). */
  get pending(): number {
    return this.queue.length + this.active.size;
  }
}
