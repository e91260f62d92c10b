import {
  ResourceInUseException,
  SubscribeToShardCommand,
  type KinesisClient,
  type StartingPosition,
  type SubscribeToShardEvent,
  type SubscribeToShardEventStream,
} from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffPolicy } from '../backoff.ts';
import type { ConsumerMetrics } from '../metrics.ts';
import type { ReaderContext, Retrieval } from './polling.ts';
import type { RecordReader, ShardBatch, StartPosition } from './shard-reader.ts';
import type { StreamConsumer } from './stream-consumer.ts';

/** Kinesis ends every subscription after 5 minutes. */
export const SUBSCRIPTION_MS = 5 * 60_000;

type Log = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface FanOutOptions {
  /** A client whose handler speaks HTTP/2 (SubscribeToShard needs it). */
  kinesis: KinesisClient;
  /** Resolves the registered stream consumer, once for every shard. */
  consumer: StreamConsumer;
  /** A new subscription is taken this long after the last one started, between events, before Kinesis ends it. Default 4 min 50 s. */
  renewAfterMs?: number;
  /** Waits after ResourceInUseException (another subscription holds the shard) or a dropped connection. */
  retry?: BackoffPolicy;
  /**
   * While the shard is behind, events already on their way are joined into one batch up to
   * this many bytes (default 10 MiB, one GetRecords' worth), so catching up does not cost a
   * bulk request and a checkpoint per event.
   */
  maxBatchBytes?: number;
  log?: Log;
}

/** Errors worth subscribing again for; anything else goes to the shard processor, which restarts from the checkpoint. */
function retryable(err: unknown): boolean {
  const name = (err as { name?: string })?.name ?? '';
  if (err instanceof ResourceInUseException || name === 'ResourceInUseException') return true;
  if (name === 'InternalFailureException' || name === 'KMSThrottlingException' || name === 'LimitExceededException') return true;
  // A transport failure (reset, premature close, HTTP/2 error) carries no service metadata.
  return err instanceof Error && !('$metadata' in err) && !(err instanceof TypeError) && !(err instanceof RangeError);
}

function startingPosition(start: StartPosition): StartingPosition {
  if (start.type === 'AFTER_SEQUENCE_NUMBER') return { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: start.sequenceNumber };
  return { Type: start.type };
}

/**
 * Enhanced fan-out: one SubscribeToShard per held lease, over HTTP/2, renewed before its
 * 5-minute end and resumed after the last ContinuationSequenceNumber taken. Events are
 * pulled one at a time, only when the processor asks, so an undelivered batch stops the
 * flow (HTTP/2 flow control carries that back to Kinesis).
 */
export class FanOutRetrieval implements Retrieval {
  readonly kind = 'fanout';

  constructor(private readonly options: FanOutOptions) {}

  open(shardId: string, start: StartPosition, ctx: ReaderContext): RecordReader {
    const reader = new FanOutReader(shardId, start, this.options, ctx.metrics);
    ctx.signal.addEventListener('abort', () => reader.close(), { once: true });
    return reader;
  }
}

export class FanOutReader implements RecordReader {
  private position: StartingPosition;
  private events: AsyncIterator<SubscribeToShardEventStream> | undefined;
  private subscription: AbortController | undefined;
  /** An event asked for while joining a batch that had not arrived yet: the next pull takes it. */
  private inflight: Promise<IteratorResult<SubscribeToShardEventStream>> | undefined;
  private subscribedAt = 0;
  private pending: ShardBatch | undefined;
  private ended = false;
  private readonly closed = new AbortController();
  /** Subscriptions taken so far (the first, renewals and resumptions). */
  subscriptions = 0;

  constructor(
    readonly shardId: string,
    start: StartPosition,
    private readonly opts: FanOutOptions,
    private readonly metrics?: ConsumerMetrics,
  ) {
    this.position = startingPosition(start);
  }

  /** Waits for the next event (nothing is held meanwhile); pulls it from the subscription only now. */
  async ready(outer?: AbortSignal): Promise<void> {
    if (this.pending || this.ended) return;
    const signal = outer ? AbortSignal.any([outer, this.closed.signal]) : this.closed.signal;
    const batch = await this.pull(signal);
    const maxBytes = this.opts.maxBatchBytes ?? 10 * 1024 * 1024;
    let bytes = batch.records.reduce((n, r) => n + (r.Data?.byteLength ?? 0), 0);
    while (!batch.shardEnded && batch.millisBehindLatest > 0 && bytes < maxBytes && !signal.aborted) {
      const more = await this.arrived(200);
      if (!more) break;
      batch.records.push(...more.records);
      batch.millisBehindLatest = more.millisBehindLatest;
      batch.shardEnded = more.shardEnded;
      bytes += more.records.reduce((n, r) => n + (r.Data?.byteLength ?? 0), 0);
    }
    this.pending = batch;
  }

  /** The next event if it arrives within `ms`; otherwise it is kept for the next pull. */
  private async arrived(ms: number): Promise<ShardBatch | undefined> {
    if (!this.events) return undefined;
    const next = (this.inflight ??= this.events.next());
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
    try {
      const step = await Promise.race([next, late]);
      if (step === undefined) return undefined;
      this.inflight = undefined;
      if (step.done) {
        this.events = undefined;
        return undefined;
      }
      const event = step.value.SubscribeToShardEvent;
      return event ? this.taken(event) : undefined;
    } catch {
      // The next pull subscribes again from the last event taken.
      this.cancel();
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  async next(signal?: AbortSignal): Promise<ShardBatch> {
    if (this.ended && !this.pending) return { records: [], millisBehindLatest: 0, shardEnded: true };
    await this.ready(signal);
    const batch = this.pending!;
    this.pending = undefined;
    return batch;
  }

  /** Cancels the subscription (lease lost, shutdown, restart): Kinesis sends nothing more on it. */
  close(): void {
    this.closed.abort(new Error(`fan-out reader of ${this.shardId} closed`));
    this.cancel();
  }

  private cancel(): void {
    this.subscription?.abort(new Error('subscription cancelled'));
    this.subscription = undefined;
    this.events = undefined;
    this.inflight?.catch(() => undefined);
    this.inflight = undefined;
  }

  private async pull(signal: AbortSignal): Promise<ShardBatch> {
    const renewAfterMs = this.opts.renewAfterMs ?? SUBSCRIPTION_MS - 10_000;
    for (let failures = 0; ; ) {
      signal.throwIfAborted();
      try {
        if (this.events && !this.inflight && Date.now() - this.subscribedAt >= renewAfterMs) {
          this.log('debug', 'renewing subscription before it ends', { after: this.position });
          this.cancel();
        }
        if (!this.events) await this.subscribe(signal);
        const next = this.inflight ?? this.events!.next();
        this.inflight = undefined;
        const step = await abortable(next, signal);
        if (step.done) {
          // Kinesis ended the subscription (its 5 minutes, or a takeover): take another from the continuation.
          this.events = undefined;
          continue;
        }
        const event = step.value.SubscribeToShardEvent;
        if (!event) continue;
        failures = 0;
        return this.taken(event);
      } catch (err) {
        this.cancel();
        if (signal.aborted) throw err;
        if ((err as Error).name === 'ResourceNotFoundException') this.opts.consumer.forget();
        if (!retryable(err)) throw err;
        const delay = backoffDelay(++failures, this.opts.retry ?? { baseMs: 1000, maxMs: 10_000 });
        const inUse = (err as Error).name === 'ResourceInUseException';
        this.log(inUse ? 'info' : 'warn', inUse ? 'shard has another subscription; retrying' : 'subscription dropped; resuming after the last event', {
          error: String(err),
          retryInMs: Math.round(delay),
        });
        await sleep(delay, undefined, { signal });
      }
    }
  }

  private taken(event: SubscribeToShardEvent): ShardBatch {
    const records = event.Records ?? [];
    const continuation = event.ContinuationSequenceNumber;
    const shardEnded = !continuation || (event.ChildShards?.length ?? 0) > 0;
    if (continuation) this.position = { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: continuation };
    else {
      const last = records.at(-1)?.SequenceNumber;
      if (last) this.position = { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: last };
    }
    if (shardEnded) {
      this.ended = true;
      this.cancel();
      this.log('info', 'shard end reached by fan-out', { childShards: event.ChildShards?.map((c) => c.ShardId) });
    }
    return { records, millisBehindLatest: event.MillisBehindLatest ?? 0, shardEnded };
  }

  private async subscribe(signal: AbortSignal): Promise<void> {
    const consumerArn = await this.opts.consumer.arn(signal);
    const subscription = new AbortController();
    this.subscription = subscription;
    this.metrics?.readCalls.inc({ shard: this.shardId, call: 'SubscribeToShard' });
    const out = await this.opts.kinesis.send(
      new SubscribeToShardCommand({ ConsumerARN: consumerArn, ShardId: this.shardId, StartingPosition: this.position }),
      { abortSignal: AbortSignal.any([signal, subscription.signal]) },
    );
    if (this.subscription !== subscription || !out.EventStream) throw new Error('subscription cancelled while it was being taken');
    this.events = out.EventStream[Symbol.asyncIterator]();
    this.subscribedAt = Date.now();
    this.subscriptions++;
    this.log('debug', 'subscribed', { from: this.position, subscriptions: this.subscriptions });
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void {
    this.opts.log?.(level, message, { shardId: this.shardId, ...fields });
  }
}

/** Rejects as soon as `signal` aborts, leaving `promise` to settle on its own. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
