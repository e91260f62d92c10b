import { compileRules, type RuleSet } from '../../../processors/detections/index.ts';

/** A one-rule CloudTrail rule set around a detection block written as YAML (indented by 4). */
export function ruleWith(detection: string, extra = ''): RuleSet {
  const text = [
    'title: Hand-made rule',
    'id: 00000000-0000-4000-8000-000000000001',
    'level: medium',
    'author: tests',
    'logsource:',
    '    product: aws',
    '    service: cloudtrail',
    extra,
    'detection:',
    detection
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => `    ${l}`)
      .join('\n'),
  ].join('\n');
  return compileRules([{ name: 'hand-made.yml', text }]);
}

/** Whether the one-rule set matches the event; throws if the rule was refused. */
export function matches(set: RuleSet, event: Record<string, unknown>): boolean {
  if (set.errors.length > 0) throw new Error(`refused: ${set.errors.map((e) => e.reason).join('; ')}`);
  return set.match(event, 'cloudtrail').length > 0;
}

export function refusal(set: RuleSet): string {
  if (set.errors.length !== 1) throw new Error(`expected one refusal, got ${JSON.stringify(set.errors)}`);
  return set.errors[0]!.reason;
}
