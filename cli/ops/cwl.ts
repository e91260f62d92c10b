import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../../consumers/backoff.ts';

/** A CloudWatch Logs client per region; retries are ours (below), so the SDK makes one attempt. */
export function cloudWatchLogsClients(endpoint?: string): (region: string) => CloudWatchLogsClient {
  const clients = new Map<string, CloudWatchLogsClient>();
  return (region) => {
    let client = clients.get(region);
    if (!client) clients.set(region, (client = new CloudWatchLogsClient({ region, endpoint, maxAttempts: 1 })));
    return client;
  };
}

const RETRYABLE = new Set(['ThrottlingException', 'ServiceUnavailableException', 'InternalServerException', 'OperationAbortedException', 'TooManyRequestsException']);

/** A network failure: the region (or its endpoint) cannot be reached at all. */
export function isUnreachable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: unknown };
  if (e?.$metadata && (e.$metadata as { httpStatusCode?: number }).httpStatusCode) return false;
  return ['ENOTFOUND', 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN'].includes(e?.code ?? '') || e?.name === 'TimeoutError' || /ENOTFOUND|ECONNREFUSED|ETIMEDOUT|getaddrinfo/.test(e?.message ?? '');
}

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseMs: 250, maxMs: 5000 };

/**
 * Calls the control plane, retrying throttling and transient server errors with the
 * consumer's back-off (CloudWatch Logs allows a few control-plane calls per second per
 * account and region). `retried` counts the retries for the report.
 */
export async function withRetry<T>(call: () => Promise<T>, policy: RetryPolicy, onRetry?: (err: Error) => void, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const e = err as Error;
      if (!RETRYABLE.has(e.name) || attempt >= policy.attempts) throw err;
      onRetry?.(e);
      await sleep(backoffDelay(attempt, { baseMs: policy.baseMs, maxMs: policy.maxMs }), undefined, { signal });
    }
  }
}

/** The short reason of an AWS error, as a report shows it. */
export function awsReason(err: unknown): string {
  const e = err as { name?: string; message?: string };
  if (isUnreachable(err)) return `unreachable: ${e.message ?? String(err)}`;
  return `${e.name ?? 'Error'}: ${e.message ?? String(err)}`;
}
