import * as z from 'zod';
import { parseVpcFlowFormat } from './parsers/vpcflow.ts';

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
