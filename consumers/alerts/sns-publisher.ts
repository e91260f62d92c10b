import { PublishCommand, SNSClient, type MessageAttributeValue } from '@aws-sdk/client-sns';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentialsFor } from '../aws-endpoints.ts';
import { backoffDelay, type BackoffPolicy } from '../backoff.ts';
import type { AlertDocument } from './alert-document.ts';

/** What subscribers receive for one alert, as the JSON message body. */
export interface AlertMessage {
  alert: { id: string; index: string; severity: number; timestamp: string };
  rule: { id: string; title: string; level: string; author?: string; tags: string[] };
  account?: string;
  region?: string;
  eventName?: string;
  eventSource?: string;
  user?: string;
  sourceIp?: string;
  logGroup?: string;
  source: { index: string; id: string };
}

export function alertMessage(alert: AlertDocument): AlertMessage {
  const b = alert.body;
  return {
    alert: { id: alert.id, index: alert.index, severity: b.event.severity, timestamp: b['@timestamp'] },
    rule: { id: b.rule.id, title: b.rule.name, level: b.centralog.alert.level, author: b.rule.author, tags: b.tags },
    account: b.cloud?.account?.id,
    region: b.cloud?.region,
    eventName: b.event.action,
    eventSource: b.event.provider,
    user: b.user?.name,
    sourceIp: b.source?.ip,
    logGroup: b.aws.cloudwatch.log_group,
    source: { index: b.centralog.alert.source.index, id: b.centralog.alert.source.id },
  };
}

/** SNS subjects are at most 100 printable ASCII characters (email subscribers see them). */
function subject(alert: AlertDocument): string {
  const text = `[${alert.body.centralog.alert.level}] ${alert.body.rule.name}`.replace(/[^\x20-\x7e]/g, '?');
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

/** The request publishing one alert: a JSON body, with level and rule as attributes subscriptions can filter on. */
export function publishInput(topicArn: string, alert: AlertDocument): ConstructorParameters<typeof PublishCommand>[0] {
  const attributes: Record<string, MessageAttributeValue> = {
    level: { DataType: 'String', StringValue: alert.body.centralog.alert.level },
    rule: { DataType: 'String', StringValue: alert.body.rule.id },
  };
  const account = alert.body.cloud?.account?.id;
  if (account) attributes.account = { DataType: 'String', StringValue: account };
  return {
    TopicArn: topicArn,
    Subject: subject(alert),
    Message: JSON.stringify(alertMessage(alert)),
    MessageAttributes: attributes,
    // A FIFO topic drops a second publish of the same alert within its 5-minute window.
    ...(topicArn.endsWith('.fifo') ? { MessageGroupId: alert.body.rule.id, MessageDeduplicationId: alert.id } : {}),
  };
}

/** SNS kept failing for one alert; it stays unpublished in the index for the sweep. */
export class AlertPublishError extends Error {
  override readonly name = 'AlertPublishError';
}

export interface AlertPublisherOptions {
  /** Attempts per publication before it is left to the sweep. */
  maxAttempts?: number;
  backoff?: BackoffPolicy;
}

/** Publishes alerts to one SNS topic, retrying failures with the consumer's back-off. */
export class AlertPublisher {
  private readonly maxAttempts: number;
  private readonly backoff: BackoffPolicy;

  constructor(
    private readonly client: SNSClient,
    readonly topicArn: string,
    opts: AlertPublisherOptions = {},
  ) {
    this.maxAttempts = opts.maxAttempts ?? 4;
    this.backoff = opts.backoff ?? { baseMs: 500, maxMs: 10_000 };
  }

  /** Publishes one alert, or throws AlertPublishError once the attempts are spent; `onFailure` hears of each failed attempt. */
  async publish(alert: AlertDocument, { signal, onFailure }: { signal?: AbortSignal; onFailure?: (err: unknown) => void } = {}): Promise<void> {
    const input = publishInput(this.topicArn, alert);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new PublishCommand(input), { abortSignal: signal });
        return;
      } catch (err) {
        onFailure?.(err);
        if (attempt >= this.maxAttempts || signal?.aborted) {
          throw new AlertPublishError(`SNS did not take alert ${alert.id} (rule ${alert.body.rule.id}) after ${attempt} attempt(s): ${(err as Error).message}`);
        }
        await sleep(backoffDelay(attempt, this.backoff), undefined, { signal }).catch(() => undefined);
      }
    }
  }
}

/** An SNS client for a topic's region; `endpoint` for a local SNS (moto). */
export function createSnsClient(region: string, endpoint?: string): SNSClient {
  return new SNSClient({
    region,
    endpoint,
    credentials: credentialsFor(endpoint),
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 10_000 }),
    // Our own retries (with the sweep behind them) decide; the SDK's would multiply them.
    maxAttempts: 1,
  });
}
