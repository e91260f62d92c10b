import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileRules, shippedRuleFiles, type RuleSet } from '../../../processors/detections/index.ts';
import { cloudTrailSamples, guardDutySamples } from '../../samples.ts';

const RULES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'processors', 'detections', 'rules');
const shipped: RuleSet = compileRules(shippedRuleFiles());

/** CloudTrail samples as the objects the engine sees (an EventBridge "AWS API Call via CloudTrail" event gives its detail). */
function sampleEvents(): Array<{ origin: string; event: Record<string, unknown> }> {
  return cloudTrailSamples().map((s) => {
    const parsed = JSON.parse(s.message) as Record<string, unknown>;
    return { origin: s.origin, event: (parsed['detail-type'] === 'AWS API Call via CloudTrail' ? parsed.detail : parsed) as Record<string, unknown> };
  });
}

describe('shipped rules', () => {
  it('embeds exactly the rule files of processors/detections/rules (run node scripts/embed-rules.mjs after editing them)', () => {
    const onDisk = readdirSync(RULES_DIR)
      .sort()
      .flatMap((folder) =>
        readdirSync(join(RULES_DIR, folder))
          .filter((f) => f.endsWith('.yml'))
          .sort()
          .map((f) => ({ name: `${folder}/${f}`, text: readFileSync(join(RULES_DIR, folder, f), 'utf8') })),
      );
    expect(shippedRuleFiles()).toEqual(onDisk);
    expect(onDisk.filter((f) => f.name.startsWith('sigmahq/'))).toHaveLength(57);
  });

  it('all 67 load: none is refused', () => {
    expect(shipped.errors).toEqual([]);
    expect(shipped.rules).toHaveLength(67);
    const byLevel: Record<string, number> = {};
    for (const r of shipped.rules) byLevel[r.level] = (byLevel[r.level] ?? 0) + 1;
    expect(byLevel).toEqual({ low: 13, medium: 33, high: 21 });
  });

  it("every SigmaHQ rule names its author, which the licence requires alerts to show", () => {
    const sigmahq = shipped.rules.filter((r) => r.author !== 'centralog');
    expect(sigmahq).toHaveLength(57);
    for (const r of sigmahq) expect(r.author, r.title).toMatch(/\S/);
  });

  it('fires these rules, this often, on the CloudTrail samples', () => {
    const counts: Record<string, number> = {};
    for (const { event } of sampleEvents()) for (const m of shipped.match(event, 'cloudtrail')) counts[m.rule.title] = (counts[m.rule.title] ?? 0) + 1;
    expect(counts).toEqual({
      'AWS User Login Profile Was Modified': 4,
      'AWS Config Disabling Channel/Recorder': 2,
      'AWS IAM Backdoor Users Keys': 9,
      'RDS Database Security Group Modification': 5,
      'AWS EC2 Disable EBS Encryption': 1,
      'AWS Bedrock Guardrail Updated': 1,
      'EC2 Instance Given A Public Address': 4,
      'Potential Malicious Usage of CloudTrail System Manager': 4,
      'Modification or Deletion of an AWS RDS Cluster': 4,
      'Internet Gateway Attached To A VPC': 1,
      'AWS CloudTrail Important Change': 9,
      'AWS Bedrock Guardrail Deleted': 1,
      'CloudTrail Trail Records Less': 3,
      'Route To An Internet Gateway Created': 1,
      'AWS ConsoleLogin Failed Authentication': 3,
      'Ingress/Egress Security Group Modification': 7,
      'AWS Successful Console Login Without MFA': 14,
      'AWS S3 Data Management Tampering': 7,
      'AWS RDS Master Password Change': 1,
      'AWS Root Credentials': 20,
      'Security Group Ingress Opened To The Internet': 2,
      'AWS STS AssumeRole Misuse': 301,
      'AWS New Lambda Layer Attached': 1,
      'AWS STS GetCallerIdentity Enumeration Via TruffleHog': 2,
      'AWS SecurityHub Findings Evasion': 2,
      'PUA - AWS TruffleHog Execution': 2,
      'AWS Snapshot Backup Exfiltration': 5,
      'CloudTrail Logging Stopped Or Trail Deleted': 4,
      'AWS STS GetSessionToken Misuse': 2,
      'Restore Public AWS RDS Instance': 1,
      'New Network Route Added': 2,
      'New Network ACL Entry Added': 5,
      'AWS VPC Flow Logs Deleted': 2,
      'RDS Database Made Publicly Accessible': 3,
      'AWS Suspicious SAML Activity': 1,
      'AWS Console GetSigninToken Potential Abuse': 1,
    });
  });

  it("raises these alerts on stratus-red-team's attack detonations (besides AssumeRole Misuse, which fires on any assumed-role call)", () => {
    const byTechnique: Record<string, string[]> = {};
    for (const { origin, event } of sampleEvents().filter((s) => s.origin.startsWith('stratus-red-team/'))) {
      const technique = origin.replace(/^stratus-red-team\/(.*)\.json#\d+$/, '$1');
      for (const m of shipped.match(event, 'cloudtrail')) {
        if (m.rule.title === 'AWS STS AssumeRole Misuse') continue;
        const titles = (byTechnique[technique] ??= []);
        if (!titles.includes(m.rule.title)) titles.push(m.rule.title);
      }
    }
    for (const titles of Object.values(byTechnique)) titles.sort();
    expect(byTechnique).toEqual({
      'aws.credential-access.ec2-steal-instance-credentials': ['Potential Malicious Usage of CloudTrail System Manager'],
      'aws.defense-evasion.cloudtrail-delete': ['AWS CloudTrail Important Change', 'CloudTrail Logging Stopped Or Trail Deleted'],
      'aws.defense-evasion.cloudtrail-event-selectors': ['CloudTrail Trail Records Less'],
      'aws.defense-evasion.cloudtrail-stop': ['AWS CloudTrail Important Change', 'CloudTrail Logging Stopped Or Trail Deleted'],
      'aws.defense-evasion.vpc-remove-flow-logs': ['AWS VPC Flow Logs Deleted'],
      'aws.execution.ssm-send-command': ['Potential Malicious Usage of CloudTrail System Manager'],
      'aws.exfiltration.ec2-security-group-open-port-22-ingress': ['Ingress/Egress Security Group Modification', 'Security Group Ingress Opened To The Internet'],
      'aws.exfiltration.ec2-share-ebs-snapshot': ['AWS Snapshot Backup Exfiltration'],
      'aws.initial-access.console-login-without-mfa': ['AWS Successful Console Login Without MFA'],
      'aws.persistence.iam-backdoor-user': ['AWS IAM Backdoor Users Keys'],
      'aws.persistence.iam-create-admin-user': ['AWS IAM Backdoor Users Keys'],
      'aws.persistence.lambda-layer-extension': ['AWS New Lambda Layer Attached'],
      'aws.privilege-escalation.iam-update-user-login-profile': ['AWS User Login Profile Was Modified'],
    });
  });

  it('the eventName/eventSource/userIdentity.type index never hides a match: the same events with those fields as arrays (which the index cannot use) match the same rules', () => {
    let tried = 0;
    for (const { origin, event } of sampleEvents()) {
      const identity = event.userIdentity as Record<string, unknown> | undefined;
      const opaque = {
        ...event,
        eventName: [event.eventName],
        eventSource: [event.eventSource],
        ...(identity ? { userIdentity: { ...identity, type: [identity.type, identity.type] } } : {}),
      };
      tried += identity?.type === 'Root' ? 1 : 0;
      const ids = (e: Record<string, unknown>) => shipped.match(e, 'cloudtrail').map((m) => m.rule.id).sort();
      expect(ids(opaque), origin).toEqual(ids(event));
    }
    expect(tried).toBeGreaterThan(10);
  });

  it('raises the high-severity GuardDuty rule on real findings of severity 7 and above, not on sample findings', () => {
    const fired = guardDutySamples().map((s) => {
      const parsed = JSON.parse(s.message) as Record<string, unknown>;
      const finding = (parsed['detail-type'] === 'GuardDuty Finding' ? parsed.detail : parsed) as Record<string, unknown>;
      return [s.origin, finding.severity, shipped.match(finding, 'guardduty').map((m) => m.rule.title)];
    });
    expect(fired).toEqual([
      ['ec2-duty-event.json', 5, []],
      ['iam-duty-event.json', 5, []],
      ['panther#0', 9, ['GuardDuty High Severity Finding']],
      ['panther#1', 9, []],
      ['panther#2', 8, ['GuardDuty High Severity Finding']],
      ['panther#3', 8, []],
      ['panther#4', 1, []],
      ['panther#5', 1, []],
      ['panther#6', 5, []],
      ['panther#7', 5, []],
    ]);
  });
});
