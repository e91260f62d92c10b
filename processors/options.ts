import * as z from 'zod';
import { parseVpcFlowFormat } from './parsers/vpcflow.ts';
import { LOG_GROUP_SOURCES, type LogGroupSource } from './source.ts';

/** A value given as JSON text (an environment variable or a flag) or as a value (a config file). */
export function jsonText<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      // Left as text: the schema then names what was expected.
      return value;
    }
  }, schema);
}

/**
 * Custom VPC flow log formats by log group, `{"<log group>": "${version} ${account-id} ..."}`
 * (or the AWS field names without `${}`), compiled to field lists. The one meaning of
 * `vpcFlowFormats` / `CENTRALOG_VPC_FLOW_FORMATS` in every entry point.
 */
export const VpcFlowFormatsSchema = z.record(
  z.string().min(1, 'expected a log group name'),
  z.string().transform((spec, ctx) => {
    try {
      return parseVpcFlowFormat(spec);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
);

/**
 * The Firehose processor buffer (MB of input per transform invocation) that centralog's
 * infrastructure and local Firehose use. CloudWatch Logs records are gzip at about 10:1, and
 * the response carries the NDJSON in base64, so 1 MB of input answers with about 11 MB:
 * 0.25 MB keeps the response near 3 MB, under the 6 MB limit, and re-ingest rare.
 */
export const TRANSFORM_PROCESSOR_BUFFER_MB = 0.25;

/**
 * Which log groups carry which source, `{"<log group>": "cloudtrail" | "vpcflow" | "guardduty" | "trusted"}`;
 * a key ending in `*` maps a prefix (a VPC flow group's format stays in vpcFlowFormats). The one meaning of `logGroupSources` /
 * `CENTRALOG_LOG_GROUP_SOURCES` in every entry point.
 */
export const LogGroupSourcesSchema = z.record(
  z
    .string()
    .min(1, 'expected a log group name')
    .refine((key) => !key.slice(0, -1).includes('*'), { error: 'expected a log group name, or a prefix ending in * (no * elsewhere)' }),
  z.enum(LOG_GROUP_SOURCES as [LogGroupSource, ...LogGroupSource[]], { error: 'expected cloudtrail, vpcflow, guardduty or trusted' }),
);

/** The Firehose transform's settings; in the Lambda they come from CENTRALOG_* variables. */
export const TransformOptionsSchema = z.object({
  vpcFlowFormats: jsonText(VpcFlowFormatsSchema)
    .optional()
    .meta({ description: 'custom VPC flow log formats by log group, as JSON: {"<log group>": "${version} ${account-id} ..."}', arg: 'json' }),
  logGroupSources: jsonText(LogGroupSourcesSchema)
    .optional()
    .meta({ description: 'which log groups carry which source, as JSON (the consumer\'s map): a mapped group\'s events are labelled without parsing them', arg: 'json' }),
});
