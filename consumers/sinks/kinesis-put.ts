import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { setTimeout as sleep } from 'node:timers/promises';
import { chunkBySize } from '../../processors/index.ts';
import { backoffDelay } from '../backoff.ts';

// PutRecords limits: 500 records and 5 MiB (data plus partition keys) per call.
export const PUT_RECORDS_MAX_ENTRIES = 500;
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;

export interface PutRecordsOptions {
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** Some entries were still refused after every attempt; the message names the error codes. */
export class PutRecordsFailedError extends Error {
  override readonly name = 'PutRecordsFailedError';

  constructor(
    /** Entries not written. */
    readonly failed: number,
    /** Their distinct error codes from the last attempt. */
    readonly codes: string[],
    message: string,
  ) {
    super(message);
  }
}

/** Splits entries into PutRecords calls within the per-call limits. */
export function putRecordsBatches(entries: PutRecordsRequestEntry[]): Generator<PutRecordsRequestEntry[]> {
  const size = (e: PutRecordsRequestEntry) => (e.Data?.byteLength ?? 0) + Buffer.byteLength(e.PartitionKey ?? '');
  return chunkBySize(entries, size, PUT_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_ENTRIES);
}

/**
 * Writes every entry, within PutRecords limits, retrying only the entries that failed
 * (throttling, internal errors) with exponential back-off and jitter.
 */
export async function putRecordsWithRetry(
  kinesis: KinesisClient,
  streamName: string,
  entries: PutRecordsRequestEntry[],
  options: PutRecordsOptions = {},
): Promise<void> {
  const maxAttempts = options.maxAttempts ?? 8;
  const policy = { baseMs: options.baseDelayMs ?? 100, maxMs: options.maxDelayMs ?? 5000 };
  for (const batch of putRecordsBatches(entries)) {
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const out = await kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: pending }));
      const failedCodes: string[] = [];
      pending = pending.filter((_, i) => {
        const code = out.Records?.[i]?.ErrorCode;
        if (code) failedCodes.push(code);
        return Boolean(code);
      });
      if (pending.length === 0) break;
      if (attempt >= maxAttempts) {
        const codes = [...new Set(failedCodes)];
        throw new PutRecordsFailedError(
          pending.length,
          codes,
          `${pending.length} record(s) not accepted by ${streamName} after ${attempt} attempts (${codes.join(', ')})`,
        );
      }
      await sleep(backoffDelay(attempt, policy));
    }
  }
}
