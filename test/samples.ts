import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parseVpcFlowFormat, type CwlEnvelope } from '../processors/index.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** A real sample as CloudWatch Logs would deliver it, with the source it must be indexed as. */
export interface Sample {
  expected: 'cloudtrail' | 'vpcflow' | 'guardduty';
  /** fixture file (and position) it came from */
  origin: string;
  message: string;
  /** the log group's configured VPC flow format, when it is not the default */
  vpcFormat?: string[];
}

const read = (...p: string[]) => readFileSync(join(FIXTURES, ...p), 'utf8');
const ndjson = (...p: string[]) =>
  read(...p)
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Every CloudTrail record among the fixtures, bare or in an EventBridge envelope, as its message. */
export function cloudTrailSamples(): Sample[] {
  const out: Sample[] = [];
  const add = (origin: string, record: unknown) => out.push({ expected: 'cloudtrail', origin, message: JSON.stringify(record) });
  for (const f of readdirSync(join(FIXTURES, 'cloudtrail', 'stratus-red-team'))) {
    (JSON.parse(read('cloudtrail', 'stratus-red-team', f)) as unknown[]).forEach((r, i) => add(`stratus-red-team/${f}#${i}`, r));
  }
  for (const f of ['panther-analysis_cloudtrail_rule_test_logs.ndjson', 'otrf_ec2_proxy_s3_exfiltration_2020-09-14011940.ndjson', 'awsdocs_cloudtrail-user-guide_examples.ndjson']) {
    ndjson('cloudtrail', f).forEach((r, i) => add(`${f}#${i}`, r));
  }
  (JSON.parse(read('cloudtrail', 'otel-contrib', 'cloudtrail_log.json')) as { Records: unknown[] }).Records.forEach((r, i) =>
    add(`otel-contrib/cloudtrail_log.json#${i}`, r),
  );
  for (const f of readdirSync(join(FIXTURES, 'cloudtrail', 'lambda-event-fixtures'))) add(f, JSON.parse(read('cloudtrail', 'lambda-event-fixtures', f)));
  for (const f of readdirSync(join(FIXTURES, 'cloudtrail', 'cloud-custodian'))) add(f, JSON.parse(read('cloudtrail', 'cloud-custodian', f)));
  return out;
}

/** Every GuardDuty finding among the fixtures: EventBridge events and bare findings. */
export function guardDutySamples(): Sample[] {
  const out: Sample[] = [];
  for (const f of ['ec2-duty-event.json', 'iam-duty-event.json']) out.push({ expected: 'guardduty', origin: f, message: read('guardduty', f) });
  ndjson('guardduty', 'panther-analysis_guardduty_rule_test_logs.ndjson').forEach((r, i) =>
    out.push({ expected: 'guardduty', origin: `panther#${i}`, message: JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('p_')))) }),
  );
  return out;
}

function logFileLines(text: string, origin: string): Sample[] {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const out: Sample[] = [];
  let format: string[] | undefined;
  lines.forEach((line, i) => {
    if (line.startsWith('version ') || /^[a-z-]+( [a-z-]+)+$/.test(line)) format = parseVpcFlowFormat(line);
    else out.push({ expected: 'vpcflow', origin: `${origin}:${i + 1}`, message: line, vpcFormat: format });
  });
  return out;
}

/** Every complete VPC flow record among the fixtures, with the format its log group would be configured with. */
export function vpcFlowSamples(): Sample[] {
  const out: Sample[] = [];
  const blocks = JSON.parse(read('vpcflow', 'awsdocs_vpc-user-guide_flow-logs-records-examples.json')) as Array<{
    kind: string;
    doc_line: number;
    lines: string[];
  }>;
  let format: string[] | undefined;
  for (const b of blocks) {
    if (b.kind === 'format_header') format = parseVpcFlowFormat(b.lines[0]!);
    else {
      for (const line of b.lines) {
        // Records after a header use it until the page returns to default-format examples.
        const fmt = line.split(' ').length === 14 && line.startsWith('2 ') ? undefined : format;
        if (line.split(' ').length !== (fmt?.length ?? 14)) continue; // prose fragments on the docs page
        out.push({ expected: 'vpcflow', origin: `awsdocs#${b.doc_line}`, message: line, vpcFormat: fmt });
      }
    }
  }
  for (const f of ['valid_vpc_flow_log.log', 'valid_vpc_flow_log_multi.log', 'valid_vpc_flow_log_ecs.log', 'valid_tgw_flow_log.log']) {
    out.push(...logFileLines(read('vpcflow', f), f));
  }
  out.push(...logFileLines(gunzipSync(readFileSync(join(FIXTURES, 'vpcflow', 'loki_lambda-promtail_vpcflowlog.log.gz'))).toString('utf8'), 'loki.gz'));
  return out;
}

export function allSamples(): Sample[] {
  return [...cloudTrailSamples(), ...guardDutySamples(), ...vpcFlowSamples()];
}

/** One envelope per sample, in a log group named after its source (and format). */
export function sampleEnvelope(sample: Sample, i: number): CwlEnvelope {
  return {
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup: sample.vpcFormat ? `/vpc/custom-${sample.vpcFormat.length}` : `/samples/${sample.expected}`,
    logStream: sample.origin,
    subscriptionFilters: ['central'],
    logEvents: [{ id: String(i).padStart(56, '0'), timestamp: 1_700_000_000_000 + i, message: sample.message }],
  };
}
