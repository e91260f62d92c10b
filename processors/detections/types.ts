/** Sigma's five levels, least to most urgent. */
export const RULE_LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type RuleLevel = (typeof RULE_LEVELS)[number];

/** The event kinds rules are evaluated on: a raw CloudTrail record or a GuardDuty finding. */
export type DetectionService = 'cloudtrail' | 'guardduty';

/** A Sigma rule's metadata (its detection is compiled away into the rule set). */
export interface SigmaRule {
  id: string;
  title: string;
  level: RuleLevel;
  author?: string;
  tags: string[];
  status?: string;
  logsource: { product?: string; service?: string; category?: string };
  description?: string;
  references?: string[];
  falsepositives?: string[];
}

export interface RuleMatch {
  rule: SigmaRule;
}

/** A rule file, or one rule in it, that cannot be evaluated, and why. */
export interface RuleLoadError {
  file: string;
  id?: string;
  reason: string;
}

export interface RuleSet {
  rules: SigmaRule[];
  errors: RuleLoadError[];
  /**
   * The rules that match one event. Besides the source's own field names the caller may add
   * facts it knows from the envelope under `centralog.*` (e.g. `centralog.account_mismatch`).
   */
  match(event: Record<string, unknown>, service: DetectionService): RuleMatch[];
}

export interface RuleFile {
  name: string;
  text: string;
}
