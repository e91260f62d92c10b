import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../backoff.ts';
import type { HealthReport } from '../status-server.ts';
import type { LogFunction } from '../scheduler/shard-processor.ts';
import type { S3IngestAccounting, MessageOutcome } from './accounting.ts';
import { parseNotification } from './notifications.ts';
import type { ObjectIngest } from './object-ingest.ts';

export interface S3IngesterOptions {
  sqs: SQSClient;
  queueUrls: string[];
  objects: ObjectIngest;
  accounting: S3IngestAccounting;
  waitTimeSeconds: number;
  maxMessages: number;
  visibilityTimeoutSeconds: number;
  /** Messages (so objects) worked on at once, across queues. */
  maxObjectsInFlight: number;
  retryDelayMs: number;
  shutdownTimeoutMs: number;
  log?: LogFunction;
}

/**
 * Long-polls SQS queues of S3 event notifications. A message is deleted only after every event
 * of its objects is indexed or dead-lettered; while its objects are read its visibility is
 * extended, so no other worker takes it meanwhile. A message that fails (S3 or OpenSearch
 * unavailable) is made visible again after a back-off and, after the queue's max receives, moves
 * to the queue's DLQ; test events and messages that announce nothing are acknowledged and counted.
 */
export class S3Ingester {
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];
  private readonly lastPollOk = new Map<string, number>();
  private lastError?: string;

  constructor(private readonly o: S3IngesterOptions) {}

  start(): void {
    this.loops = this.o.queueUrls.map((url) => this.poll(url));
  }

  /** Stops polling; messages in flight get shutdownTimeoutMs to finish, then are abandoned to reappear. */
  async stop(): Promise<void> {
    this.abort.abort(new Error('stopping'));
    await Promise.race([Promise.allSettled(this.loops), sleep(this.o.shutdownTimeoutMs, undefined, { ref: false })]);
  }

  health(): HealthReport {
    const now = Date.now();
    const stale = this.o.queueUrls.filter((u) => now - (this.lastPollOk.get(u) ?? 0) > (this.o.waitTimeSeconds + 60) * 1000);
    return { healthy: this.loops.length > 0 && stale.length === 0, queues: this.o.queueUrls.length, staleQueues: stale, inFlight: this.inFlight, lastError: this.lastError, counters: this.o.accounting.counters };
  }

  private async slot(): Promise<void> {
    while (this.inFlight >= this.o.maxObjectsInFlight) await new Promise<void>((r) => this.waiters.push(r));
    this.inFlight++;
  }

  private release(): void {
    this.inFlight--;
    this.waiters.shift()?.();
  }

  private async poll(queueUrl: string): Promise<void> {
    const signal = this.abort.signal;
    const running = new Set<Promise<unknown>>();
    let failures = 0;
    this.lastPollOk.set(queueUrl, Date.now());
    while (!signal.aborted) {
      let messages: Message[];
      try {
        const res = await this.o.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: this.o.maxMessages,
            WaitTimeSeconds: this.o.waitTimeSeconds,
            VisibilityTimeout: this.o.visibilityTimeoutSeconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
          { abortSignal: signal },
        );
        messages = res.Messages ?? [];
        failures = 0;
        this.lastPollOk.set(queueUrl, Date.now());
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        this.lastError = `ReceiveMessage ${queueUrl}: ${String(err)}`;
        this.o.log?.('warn', 'receiving from the queue failed; retrying', { queueUrl, error: String(err) });
        await sleep(backoffDelay(failures, { baseMs: 1000, maxMs: 30_000 }), undefined, { signal }).catch(() => undefined);
        continue;
      }
      this.o.accounting.received(messages.length);
      for (const m of messages) {
        await this.slot();
        const p = this.handle(queueUrl, m).finally(() => {
          this.release();
          running.delete(p);
        });
        running.add(p);
      }
    }
    await Promise.allSettled(running);
  }

  /** Handles one message to its end: deleted, or left (with a back-off) for redelivery. Never throws. */
  async handle(queueUrl: string, message: Message): Promise<MessageOutcome> {
    const outcome = await this.process(queueUrl, message);
    this.o.accounting.message(outcome);
    return outcome;
  }

  private async process(queueUrl: string, message: Message): Promise<MessageOutcome> {
    const receipt = message.ReceiptHandle!;
    const notification = parseNotification(message.Body ?? '');
    if (notification.kind !== 'objects') {
      if (notification.kind === 'unknown') this.o.log?.('warn', 'message announces no S3 object; acknowledged', { queueUrl, messageId: message.MessageId, reason: notification.reason });
      await this.delete(queueUrl, receipt);
      return notification.kind === 'test' ? 'test_event' : 'unknown';
    }
    // Extended every half timeout, so the message stays hidden from other workers however long its objects take.
    const everyMs = (this.o.visibilityTimeoutSeconds * 1000) / 2;
    const timer = setInterval(() => {
      this.o.sqs
        .send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receipt, VisibilityTimeout: this.o.visibilityTimeoutSeconds }))
        .then(
          () => this.o.accounting.visibilityExtended(),
          (err: unknown) => this.o.log?.('warn', 'extending a message\'s visibility failed', { queueUrl, error: String(err) }),
        );
    }, everyMs);
    try {
      for (const object of notification.objects) {
        const result = await this.o.objects.ingest(object, this.abort.signal);
        this.o.accounting.object(result);
        if (result.unreadable) this.o.log?.('warn', 'object dead-lettered: it cannot be read as its format', { bucket: object.bucket, key: object.key, reason: result.unreadable });
      }
    } catch (err) {
      clearInterval(timer);
      this.lastError = String(err);
      const receives = Number(message.Attributes?.ApproximateReceiveCount ?? '1');
      const delayS = Math.ceil(backoffDelay(receives, { baseMs: this.o.retryDelayMs, maxMs: this.o.visibilityTimeoutSeconds * 1000 }) / 1000);
      this.o.log?.('warn', 'message left for redelivery', { queueUrl, messageId: message.MessageId, receives, retryInSeconds: delayS, error: String(err) });
      // Visible again after the back-off rather than the full timeout; the queue's DLQ takes it after its max receives.
      await this.o.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receipt, VisibilityTimeout: delayS })).catch(() => undefined);
      return 'retried';
    }
    clearInterval(timer);
    await this.delete(queueUrl, receipt);
    return 'deleted';
  }

  private async delete(queueUrl: string, receipt: string): Promise<void> {
    // A failed delete only means a redelivery, which the document ids make harmless.
    await this.o.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receipt })).catch((err: unknown) => {
      this.o.log?.('warn', 'deleting a handled message failed; it will be redelivered and found indexed', { queueUrl, error: String(err) });
    });
  }
}
