import { ResponseLimitError } from './response-size.ts';
import { planFirehoseTransform, streamNameFromArn, type TransformOptions, type TransformPlan, type TransformStats } from './transform.ts';
import type { FirehoseTransformationEvent, FirehoseTransformationResult, ReingestRecord } from './types.ts';

/** Puts records back into the source stream; throws when it cannot (Firehose then retries the batch). */
export type Reingest = (streamName: string, records: ReingestRecord[]) => Promise<void>;

/** The structured logger the handler writes to (Powertools Logger fits). */
export interface TransformLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** The metrics sink the handler counts into (Powertools Metrics fits). */
export interface TransformMetrics {
  addMetric(name: string, unit: 'Count' | 'Bytes', value: number): void;
}

export interface TransformHandlerDeps {
  /** Without it, output that does not fit the response is answered ProcessingFailed (kept in processing-failed/). */
  reingest?: Reingest;
  logger?: TransformLogger;
  metrics?: TransformMetrics;
  options?: TransformOptions;
}

const METRICS: Array<[keyof TransformStats, string, 'Count' | 'Bytes']> = [
  ['ok', 'RecordsOk', 'Count'],
  ['controlDropped', 'ControlMessagesDropped', 'Count'],
  ['processingFailed', 'RecordsProcessingFailed', 'Count'],
  ['reingested', 'RecordsReingested', 'Count'],
  ['split', 'RecordsSplit', 'Count'],
  ['overflowFailed', 'RecordsOverflowFailed', 'Count'],
  ['logEvents', 'LogEventsArchived', 'Count'],
  ['reingestedEvents', 'LogEventsReingested', 'Count'],
  ['responseBytes', 'ResponseBytes', 'Bytes'],
];

/**
 * The Firehose transform Lambda. Overflow goes back to the source stream before the
 * response is returned, so a record answered Dropped for lack of room is never lost.
 */
export function createFirehoseTransformHandler(deps: TransformHandlerDeps = {}) {
  return async function handler(event: FirehoseTransformationEvent): Promise<FirehoseTransformationResult> {
    const streamName = streamNameFromArn(event.sourceKinesisStreamArn);
    const reingest = streamName ? deps.reingest : undefined;
    let plan: TransformPlan;
    try {
      plan = planFirehoseTransform(event, { ...deps.options, overflow: reingest ? 'reingest' : 'fail' });
    } catch (err) {
      if (err instanceof ResponseLimitError) {
        // Nothing is put back: Firehose retries this very batch, so each retry would add copies.
        deps.logger?.error('no valid response: minimal answers alone pass the response limit; failing the invocation (Firehose retries, then keeps the batch in processing-failed/)', {
          records: err.records,
          minimalBytes: err.minimalBytes,
          maxBytes: err.maxBytes,
        });
        deps.metrics?.addMetric('InvocationsUnanswerable', 'Count', 1);
      }
      throw err;
    }
    if (plan.reingest.length > 0) {
      await reingest!(streamName!, plan.reingest);
      deps.logger?.info('response limit reached: output put back into the source stream, marked as re-ingested', {
        streamName,
        records: plan.reingest.length,
        reingested: plan.stats.reingested,
        split: plan.stats.split,
        logEvents: plan.stats.reingestedEvents,
        reservedBytes: plan.stats.reservedBytes,
        responseBytes: plan.stats.responseBytes,
      });
    }
    if (plan.stats.overflowFailed > 0) {
      deps.logger?.warn('response limit reached and no stream to put overflow back into: records marked ProcessingFailed', {
        records: plan.stats.overflowFailed,
      });
    }
    for (const f of plan.failures) deps.logger?.warn('record could not be decoded', f);
    for (const [key, name, unit] of METRICS) deps.metrics?.addMetric(name, unit, plan.stats[key]);
    return plan.response;
  };
}

/** The handler without a re-ingest target, for callers that never pass the response limit. */
export const handler = createFirehoseTransformHandler();
