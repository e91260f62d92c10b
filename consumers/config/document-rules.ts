import * as z from 'zod';
import { DEFAULT_MAX_EVENT_AGE_DAYS, LogGroupSourcesSchema, VpcFlowFormatsSchema, type DocumentOptions } from '../../processors/index.ts';
import { int, json } from './options.ts';

/**
 * How log events become documents: which log groups carry which source, whose accounts may
 * speak for others, custom flow formats, and the index-day window. Shared by the consumer and
 * every command that turns events into documents again (replay, redrive, reconcile, tail), so
 * a replayed event gets the id, source and index the live pipeline gave it.
 */
export const DocumentRulesSchema = z.object({
  logGroupSources: json(LogGroupSourcesSchema)
    .default({})
    .meta({
      description:
        'which log groups carry which source, as JSON {"<log group or prefix*>": "cloudtrail|vpcflow|guardduty|trusted"}; only mapped or trusted groups feed the CloudTrail and GuardDuty indices and the detections, other groups\' look-alike events are indexed as generic, tagged looks_like_<source> ({"*":"trusted"} lets the payload decide everywhere)',
      arg: 'json',
    }),
  aggregatorAccounts: json(z.array(z.string().regex(/^\d{12}$/, 'expected 12-digit account ids')))
    .default([])
    .meta({ description: "accounts whose log groups carry other accounts' CloudTrail events (organisation trails), as a JSON array; other owners' mismatches are tagged account_mismatch", arg: 'json' }),
  vpcFlowFormats: json(VpcFlowFormatsSchema)
    .optional()
    .meta({ description: 'custom VPC flow log formats by log group, as JSON: {"<log group>": "${version} ${account-id} ..."}', arg: 'json' }),
  maxEventAgeDays: int(1, 36_500)
    .default(DEFAULT_MAX_EVENT_AGE_DAYS)
    .meta({ description: "events older than this before their CloudWatch Logs time (or more than a day ahead) go to that day's index, tagged event_time_out_of_range (the retention)", arg: 'days' }),
});
export type DocumentRules = z.infer<typeof DocumentRulesSchema>;

/** The rules when none are given: nothing mapped. One object, so its compiled map is cached once. */
const DEFAULT_RULES: DocumentRules = DocumentRulesSchema.parse({});

/**
 * The document options the rules give. `replay`: the events come back from the archive, so
 * their index window is around their own CloudWatch Logs time, as it was when first ingested.
 */
export function documentOptions(rules: DocumentRules = DEFAULT_RULES, indexPrefix: string, replay = false): DocumentOptions {
  return {
    indexPrefix,
    vpcFlowFormats: rules.vpcFlowFormats,
    logGroupSources: rules.logGroupSources,
    aggregatorAccounts: rules.aggregatorAccounts,
    indexWindow: { maxAgeDays: rules.maxEventAgeDays, fromRecordTime: replay },
  };
}
