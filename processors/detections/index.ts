// Sigma detection rules over raw CloudTrail events and GuardDuty findings: pure, no I/O.
// Rule texts come in (shipped ones from shippedRuleFiles, an operator's read by the caller).
export { compileRules } from './rule-set.ts';
export { shippedRuleFiles } from './shipped-rules.ts';
export { RULE_LEVELS, type DetectionService, type RuleFile, type RuleLevel, type RuleLoadError, type RuleMatch, type RuleSet, type SigmaRule } from './types.ts';
