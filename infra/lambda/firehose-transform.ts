import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { createKinesisClient, kinesisReingest, resolveOptions } from '../../consumers/reingest.ts';
import {
  createFirehoseTransformHandler,
  type FirehoseTransformationEvent,
  TransformOptionsSchema,
  type FirehoseTransformationResult,
} from '../../processors/index.ts';

/**
 * The deployed Firehose transform Lambda: the processors/ handler with its way back into
 * the source stream, Powertools structured logs and EMF metrics.
 * Environment: CENTRALOG_VPC_FLOW_FORMATS = JSON {"<log group>": "<format>", ...} and
 * CENTRALOG_LOG_GROUP_SOURCES = JSON {"<log group>": "cloudtrail" | ...}, the same as for `consume`.
 */
const logger = new Logger({ serviceName: 'centralog-firehose-transform' });
const metrics = new Metrics({ namespace: 'centralog', serviceName: 'firehose-transform' });

// A bad value fails the cold start with the variable's name, before any record is touched.
const options = resolveOptions(TransformOptionsSchema, { env: process.env });

const transform = createFirehoseTransformHandler({
  reingest: kinesisReingest(createKinesisClient({ region: process.env.AWS_REGION ?? 'us-east-1' })),
  logger: {
    info: (message, extra) => logger.info(message, extra ?? {}),
    warn: (message, extra) => logger.warn(message, extra ?? {}),
    error: (message, extra) => logger.error(message, extra ?? {}),
  },
  metrics: { addMetric: (name, unit, value) => metrics.addMetric(name, unit === 'Bytes' ? MetricUnit.Bytes : MetricUnit.Count, value) },
  options: { vpcFlowFormats: options.vpcFlowFormats },
});

export async function handler(event: FirehoseTransformationEvent): Promise<FirehoseTransformationResult> {
  logger.appendKeys({ invocationId: event.invocationId });
  try {
    return await transform(event);
  } finally {
    metrics.publishStoredMetrics();
  }
}
