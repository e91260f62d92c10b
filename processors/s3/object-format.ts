/**
 * What an S3 object holds, from its key (the layouts AWS services write) and, when the key does
 * not say, from its first line. VPC flow logs in Parquet are out of scope: only text files.
 */
import { ALB_TYPES } from '../parsers/alb/fields.ts';
import { isVpcFlowHeader } from '../parsers/vpcflow.ts';

export type ObjectFormat = 'elb' | 'cloudtrail' | 'vpcflow' | 'guardduty';

/** Why an object is acknowledged without reading it. */
export type SkippedObject = 'cloudtrail_digest' | 'parquet' | 'unknown_key';

const KEY_RULES: Array<[RegExp, ObjectFormat | SkippedObject]> = [
  [/\/CloudTrail-Digest\//, 'cloudtrail_digest'],
  [/\.parquet$/i, 'parquet'],
  [/\/elasticloadbalancing\/.*\.log(\.gz)?$/, 'elb'],
  [/\/CloudTrail(-Insight)?\/.*\.json(\.gz)?$/, 'cloudtrail'],
  [/\/vpcflowlogs\/.*\.log(\.gz)?$/, 'vpcflow'],
  [/\/GuardDuty\/.*\.jsonl(\.gz)?$/, 'guardduty'],
];

/** The format AWS's key layout names (AWSLogs/<account>/<service>/...), else undefined. */
export function formatFromKey(key: string): ObjectFormat | SkippedObject | undefined {
  for (const [re, format] of KEY_RULES) if (re.test(key)) return format;
  return undefined;
}

/** The account an AWS key layout names: `AWSLogs/<account>/` or, for organisation trails, `AWSLogs/<org id>/<account>/`. */
export function accountFromKey(key: string): string | undefined {
  return /(?:^|\/)AWSLogs\/(?:o-[a-z0-9]{10,32}\/)?(\d{12})\//.exec(key)?.[1];
}

/** The region an AWS key layout names (`.../<service>/<region>/YYYY/`), else undefined. */
export function regionFromKey(key: string): string | undefined {
  return /\/(?:elasticloadbalancing|CloudTrail|CloudTrail-Insight|vpcflowlogs|GuardDuty)\/([a-z]{2}(?:-[a-z]+)+-\d)\//.exec(key)?.[1];
}

/** The format an object's first lines show: a CloudTrail file, a flow log header, a finding, an ALB entry. */
export function formatFromContent(firstLines: string): ObjectFormat | undefined {
  if (/^\s*\{\s*"Records"\s*:/.test(firstLines)) return 'cloudtrail';
  const nl = firstLines.indexOf('\n');
  const head = (nl === -1 ? firstLines : firstLines.slice(0, nl)).trimStart();
  if (isVpcFlowHeader(head)) return 'vpcflow';
  if (head.startsWith('{')) {
    if (/"schemaVersion"/.test(head) && /"severity"/.test(head) && /"type"/.test(head)) return 'guardduty';
    if (head.includes('"aws.guardduty"') && head.includes('"GuardDuty Finding"')) return 'guardduty';
    return undefined;
  }
  const type = head.slice(0, head.indexOf(' '));
  if (ALB_TYPES.has(type) && /^\S+ \d{4}-\d{2}-\d{2}T[\d:.]+Z (app|net)\//.test(head)) return 'elb';
  return undefined;
}

/** Key first (it is what AWS wrote), content when the key names no format. */
export function detectObjectFormat(key: string, firstLines: string): ObjectFormat | SkippedObject {
  const byKey = formatFromKey(key);
  if (byKey !== undefined) return byKey;
  return formatFromContent(firstLines) ?? 'unknown_key';
}
