import { describe, expect, it } from 'vitest';
import { compileRules } from '../../../processors/detections/index.ts';
import { matches, refusal, ruleWith } from './rule-text.ts';

const SELECTIONS = `sel_a:\n  a: 1\nsel_b:\n  b: 1\nfilter_x:\n  x: 1\nfilter_y:\n  y: 1\n_helper:\n  h: 1`;
const rule = (condition: string) => ruleWith(`${SELECTIONS}\ncondition: ${condition}`);
/** The events (named by the fields set to 1) among a fixed list that the condition matches. */
function matching(condition: string): string[] {
  const set = rule(condition);
  const events = ['a', 'b', 'ab', 'ax', 'abx', 'abxy', 'x', 'xy', 'h', 'ah', ''];
  return events.filter((e) => matches(set, Object.fromEntries([...e].map((c) => [c, 1])))).map((e) => e || '(none)');
}

describe('Sigma conditions', () => {
  it('and, or, not, with not binding tighter than and, and tighter than or', () => {
    expect(matching('sel_a and sel_b')).toEqual(['ab', 'abx', 'abxy']);
    expect(matching('sel_a or sel_b')).toEqual(['a', 'b', 'ab', 'ax', 'abx', 'abxy', 'ah']);
    expect(matching('sel_a and not filter_x')).toEqual(['a', 'ab', 'ah']);
    expect(matching('sel_b or sel_a and filter_x')).toEqual(['b', 'ab', 'ax', 'abx', 'abxy']);
    expect(matching('not sel_a and sel_b')).toEqual(['b']);
  });

  it('parentheses group', () => {
    expect(matching('(sel_b or sel_a) and filter_x')).toEqual(['ax', 'abx', 'abxy']);
    expect(matching('not (sel_a or filter_x)')).toEqual(['b', 'h', '(none)']);
  });

  it('1 of and all of a pattern', () => {
    expect(matching('1 of sel_*')).toEqual(['a', 'b', 'ab', 'ax', 'abx', 'abxy', 'ah']);
    expect(matching('all of sel_*')).toEqual(['ab', 'abx', 'abxy']);
    expect(matching('sel_a and not 1 of filter_*')).toEqual(['a', 'ab', 'ah']);
    expect(matching('all of filter_*')).toEqual(['abxy', 'xy']);
  });

  it('1 of them and all of them, leaving out identifiers that start with _', () => {
    expect(matching('1 of them')).toEqual(['a', 'b', 'ab', 'ax', 'abx', 'abxy', 'x', 'xy', 'ah']);
    expect(matching('all of them')).toEqual(['abxy']);
    expect(matching('_helper')).toEqual(['h', 'ah']);
  });

  it('the eventName/eventSource index never hides a match: negated and OR-ed parts do not narrow where a rule is filed', () => {
    const negated = ruleWith(`selection:\n  eventSource: ec2.amazonaws.com\nfilter:\n  eventName: DescribeRegions\ncondition: selection and not filter`);
    expect(matches(negated, { eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances' })).toBe(true);
    expect(matches(negated, { eventSource: 'ec2.amazonaws.com', eventName: 'DescribeRegions' })).toBe(false);
    const either = ruleWith(`by_name:\n  eventName: StopLogging\nby_user:\n  userIdentity.type: Root\ncondition: by_name or by_user`);
    expect(matches(either, { eventName: 'ListBuckets', userIdentity: { type: 'Root' } })).toBe(true);
    expect(matches(either, { eventName: 'STOPLOGGING' })).toBe(true);
    const wildcard = ruleWith(`selection:\n  eventName: 'Delete*'\ncondition: selection`);
    expect(matches(wildcard, { eventName: 'DeleteTrail' })).toBe(true);
    const both = ruleWith(`a:\n  eventName:\n    - StopLogging\n    - DeleteTrail\nb:\n  eventName: DeleteTrail\ncondition: a and b`);
    expect(matches(both, { eventName: 'DeleteTrail' })).toBe(true);
    expect(matches(both, { eventName: 'StopLogging' })).toBe(false);
  });

  it('a list of conditions is OR-linked', () => {
    const set = ruleWith(`${SELECTIONS}\ncondition:\n  - sel_a and filter_x\n  - sel_b and filter_y`);
    expect(matches(set, { a: 1, x: 1 })).toBe(true);
    expect(matches(set, { b: 1, y: 1 })).toBe(true);
    expect(matches(set, { a: 1, y: 1 })).toBe(false);
  });

  it('refuses what one event cannot decide or the detection does not define, with the rule id', () => {
    const count = ruleWith(`selection:\n  eventName: ConsoleLogin\ncondition: selection | count() by sourceIPAddress > 10`);
    expect(count.errors).toEqual([
      {
        file: 'hand-made.yml',
        id: '00000000-0000-4000-8000-000000000001',
        reason: "condition 'selection | count() by sourceIPAddress > 10' has an aggregation ('|'), which needs more than one event",
      },
    ]);
    expect(count.rules).toEqual([]);
    expect(refusal(ruleWith(`selection:\n  eventName: ConsoleLogin\ntimeframe: 5m\ncondition: selection`))).toBe('detection has a timeframe: it needs more than one event');
    expect(refusal(rule('sel_a near sel_b'))).toMatch(/unexpected 'near'|'near' needs more than one event/);
    expect(refusal(rule('sel_a and sel_c'))).toBe("condition 'sel_a and sel_c' names 'sel_c', which the detection does not define");
    expect(refusal(rule('1 of keywords*'))).toMatch(/no search identifier matches 'keywords\*'/);
    expect(refusal(rule('(sel_a or sel_b'))).toMatch(/expected '\)'/);
    expect(refusal(rule('sel_a and'))).toMatch(/ends where an identifier was expected/);
  });
});

describe('rule files', () => {
  it('refuses correlation rules, other log sources, bad levels, duplicate ids and broken YAML, and keeps the rest', () => {
    const good = (id: string) => `title: t\nid: ${id}\nlevel: low\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  s:\n    eventName: X\n  condition: s\n`;
    const set = compileRules([
      { name: 'ok.yml', text: good('a1') },
      { name: 'dup.yml', text: good('a1') },
      { name: 'corr.yml', text: 'title: c\nid: c1\ncorrelation:\n  type: event_count\n  rules: [a1]\n' },
      { name: 'win.yml', text: good('w1').replace('product: aws\n  service: cloudtrail', 'product: windows\n  service: security') },
      { name: 'level.yml', text: good('l1').replace('level: low', 'level: severe') },
      { name: 'broken.yml', text: 'title: [unclosed\n' },
    ]);
    expect(set.rules.map((r) => r.id)).toEqual(['a1']);
    expect(set.errors).toEqual([
      { file: 'dup.yml', id: 'a1', reason: 'id already loaded from ok.yml' },
      { file: 'corr.yml', id: 'c1', reason: 'a correlation rule: it needs more than one event' },
      { file: 'win.yml', id: 'w1', reason: "logsource product 'windows' service 'security' is not evaluated (product aws, service cloudtrail or guardduty)" },
      { file: 'level.yml', id: 'l1', reason: "level 'severe' is not one of informational, low, medium, high, critical" },
      { file: 'broken.yml', reason: expect.stringMatching(/^not YAML: Flow sequence in block collection .* at line 2, column 1/) },
    ]);
  });

  it('evaluates GuardDuty rules only on findings and CloudTrail rules only on CloudTrail events', () => {
    const text = (service: string) => `title: t\nid: ${service}\nlogsource:\n  product: aws\n  service: ${service}\ndetection:\n  s:\n    severity|gte: 7\n  condition: s\n`;
    const set = compileRules([{ name: 'g.yml', text: text('guardduty') }, { name: 'c.yml', text: text('cloudtrail') }]);
    expect(set.match({ severity: 8 }, 'guardduty').map((m) => m.rule.id)).toEqual(['guardduty']);
    expect(set.match({ severity: 8 }, 'cloudtrail').map((m) => m.rule.id)).toEqual(['cloudtrail']);
  });
});
