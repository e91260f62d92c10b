import {
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  RegisterStreamConsumerCommand,
  ResourceInUseException,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';

export class StreamConsumerError extends Error {
  override readonly name = 'StreamConsumerError';
}

export interface StreamConsumerOptions {
  kinesis: KinesisClient;
  streamName: string;
  /** Use this registered consumer (the infra's); otherwise register (or reuse) `name`. */
  arn?: string;
  name: string;
  /** How long a new registration may take to become ACTIVE (Kinesis: seconds). */
  activeTimeoutMs?: number;
  pollMs?: number;
}

/**
 * The enhanced fan-out consumer every shard subscribes with: the one given, or one
 * registered under a name (a registration that already exists is reused), waited on
 * until ACTIVE. Resolved once per process; a failure is retried at the next ask.
 */
export class StreamConsumer {
  private resolving: Promise<string> | undefined;

  constructor(private readonly opts: StreamConsumerOptions) {}

  arn(signal?: AbortSignal): Promise<string> {
    if (this.opts.arn) return Promise.resolve(this.opts.arn);
    this.resolving ??= this.register(signal).catch((err: unknown) => {
      this.resolving = undefined;
      throw err;
    });
    return this.resolving;
  }

  /** The registration is gone (deregistered): the next ask registers or finds it again. */
  forget(): void {
    this.resolving = undefined;
  }

  private async register(signal?: AbortSignal): Promise<string> {
    const { kinesis, streamName, name } = this.opts;
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }), { abortSignal: signal });
    const streamArn = summary.StreamDescriptionSummary?.StreamARN;
    if (!streamArn) throw new StreamConsumerError(`stream ${streamName} has no ARN in DescribeStreamSummary`);
    try {
      await kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: name }), { abortSignal: signal });
    } catch (err) {
      // Already registered (by the infra, another worker or an earlier run): reuse it.
      if (!(err instanceof ResourceInUseException || (err as Error).name === 'ResourceInUseException')) throw err;
    }
    const deadline = Date.now() + (this.opts.activeTimeoutMs ?? 120_000);
    for (;;) {
      const out = await kinesis.send(new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: name }), { abortSignal: signal });
      const d = out.ConsumerDescription;
      if (d?.ConsumerStatus === 'ACTIVE' && d.ConsumerARN) return d.ConsumerARN;
      if (d?.ConsumerStatus === 'DELETING') throw new StreamConsumerError(`stream consumer ${name} of ${streamName} is being deleted; register it again once it is gone`);
      if (Date.now() > deadline) throw new StreamConsumerError(`stream consumer ${name} of ${streamName} not ACTIVE after ${this.opts.activeTimeoutMs ?? 120_000} ms (status ${d?.ConsumerStatus})`);
      await sleep(this.opts.pollMs ?? 1000, undefined, { signal });
    }
  }
}
