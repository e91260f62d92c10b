import { describe, expect, it } from 'vitest';
import { compileRules, shippedRuleFiles } from '../../../processors/detections/index.ts';
import { cloudTrailSamples } from '../../samples.ts';

const shipped = compileRules(shippedRuleFiles());
const ours = (event: Record<string, unknown>) =>
  shipped
    .match(event, 'cloudtrail')
    .filter((m) => m.rule.author === 'centralog')
    .map((m) => m.rule.title);

/** Real CloudTrail records from the fixtures with this eventName (and a test on them). */
function real(eventName: string, where: (e: Record<string, any>) => boolean = () => true): Record<string, any>[] {
  const found = cloudTrailSamples()
    .map((s) => JSON.parse(s.message) as Record<string, any>)
    .filter((e) => e.eventName === eventName && where(e));
  if (found.length === 0) throw new Error(`no ${eventName} sample`);
  return found;
}
const ok = (e: Record<string, any>) => e.errorCode === undefined;
const failed = (e: Record<string, any>) => e.errorCode !== undefined;
const ingress = (e: Record<string, any>, cidr: string) => JSON.stringify(e.requestParameters).includes(`"${cidr}"`);

describe('the compliance checks, each on real or constructed CloudTrail events', () => {
  it('security group ingress from 0.0.0.0/0 (ipPermissions, and the older top-level cidrIp) or ::/0', () => {
    const [open] = real('AuthorizeSecurityGroupIngress', (e) => ok(e) && ingress(e, '0.0.0.0/0'));
    expect(ours(open!)).toEqual(['Security Group Ingress Opened To The Internet']);
    // stratus-red-team's detonation: AuthorizeSecurityGroupIngress with CidrIp (address anonymised, prefix /0 kept)
    const [legacy] = real('AuthorizeSecurityGroupIngress', (e) => e.requestParameters.cidrIp !== undefined);
    expect(legacy!.requestParameters.cidrIp).toBe('208.236.235.254/0');
    expect(ours(legacy!)).toEqual(['Security Group Ingress Opened To The Internet']);
    const v6 = structuredClone(open!);
    v6.requestParameters.ipPermissions.items[0].ipRanges = {};
    v6.requestParameters.ipPermissions.items[0].ipv6Ranges = { items: [{ cidrIpv6: '::/0' }] };
    expect(ours(v6)).toEqual(['Security Group Ingress Opened To The Internet']);
    // narrower ranges, and calls that failed, open nothing
    for (const e of real('AuthorizeSecurityGroupIngress', (e) => ingress(e, '0.0.0.0/16') || ingress(e, '127.0.0.1/32'))) expect(ours(e)).toEqual([]);
    const refused = { ...open!, errorCode: 'Client.UnauthorizedOperation' };
    expect(ours(refused)).toEqual([]);
  });

  it('internet gateway attached', () => {
    expect(real('AttachInternetGateway', ok).map(ours)).toEqual([['Internet Gateway Attached To A VPC']]);
    expect(real('AttachInternetGateway', failed).map(ours)).toEqual([[]]);
  });

  it('subnet made public (mapPublicIpOnLaunch true)', () => {
    const event = {
      eventVersion: '1.08',
      eventSource: 'ec2.amazonaws.com',
      eventName: 'ModifySubnetAttribute',
      awsRegion: 'eu-west-1',
      requestParameters: { subnetId: 'subnet-0a1b2c3d4e5f60718', mapPublicIpOnLaunch: { value: true } },
      responseElements: { _return: true },
    };
    expect(ours(event)).toEqual(['Subnet Made Public']);
    expect(ours({ ...event, requestParameters: { subnetId: 'subnet-0a1b2c3d4e5f60718', mapPublicIpOnLaunch: { value: false } } })).toEqual([]);
  });

  it('route to an internet gateway', () => {
    expect(real('CreateRoute', ok).map(ours)).toEqual([['Route To An Internet Gateway Created']]);
    expect(real('CreateRoute', failed).map(ours)).toEqual([[]]);
    const [route] = real('CreateRoute', ok);
    expect(ours({ ...route!, eventName: 'ReplaceRoute' })).toEqual(['Route To An Internet Gateway Created']);
    expect(ours({ ...route!, requestParameters: { routeTableId: 'rtb-1', destinationCidrBlock: '0.0.0.0/0', natGatewayId: 'nat-1' } })).toEqual([]);
  });

  it('RDS instance made publicly accessible, and EC2 instances given public addresses', () => {
    const modified = real('ModifyDBInstance');
    expect(modified.filter((e) => ours(e).length > 0).map((e) => [e.requestParameters.publiclyAccessible, e.errorCode])).toEqual([
      [true, undefined],
      [true, undefined],
    ]);
    expect(ours(real('ModifyDBInstance', (e) => e.requestParameters.publiclyAccessible === true && ok(e))[0]!)).toEqual(['RDS Database Made Publicly Accessible']);
    const launched = real('RunInstances', (e) => e.requestParameters.networkInterfaceSet !== undefined);
    expect(launched.map((e) => [e.requestParameters.networkInterfaceSet.items[0].associatePublicIpAddress, ours(e)])).toEqual([
      [true, ['EC2 Instance Given A Public Address']],
      [true, ['EC2 Instance Given A Public Address']],
      [true, ['EC2 Instance Given A Public Address']],
      [true, ['EC2 Instance Given A Public Address']],
      [false, []],
    ]);
    const eip = { eventSource: 'ec2.amazonaws.com', eventName: 'AssociateAddress', requestParameters: { instanceId: 'i-0123456789abcdef0', allocationId: 'eipalloc-0123' } };
    expect(ours(eip)).toEqual(['EC2 Instance Given A Public Address']);
    expect(ours({ ...eip, requestParameters: { networkInterfaceId: 'eni-1', allocationId: 'eipalloc-0123' } })).toEqual([]);
  });

  it('CloudTrail stopped, deleted or narrowed', () => {
    for (const e of [...real('StopLogging', ok), ...real('DeleteTrail', ok)]) expect(ours(e)).toEqual(['CloudTrail Logging Stopped Or Trail Deleted']);
    for (const e of [...real('StopLogging', failed), ...real('DeleteTrail', failed)]) expect(ours(e)).toEqual([]);
    expect(real('UpdateTrail', (e) => e.requestParameters?.isMultiRegionTrail === false).map(ours)).toEqual([['CloudTrail Trail Records Less']]);
    const selectors = real('PutEventSelectors');
    expect(selectors.map((e) => e.requestParameters.eventSelectors[0].includeManagementEvents).sort()).toEqual([false, false, true]);
    for (const e of selectors) expect(ours(e)).toEqual(e.requestParameters.eventSelectors[0].includeManagementEvents ? [] : ['CloudTrail Trail Records Less']);
  });

  it('an event claiming another account than its log group owner, as the caller marks it under centralog.*', () => {
    const [event] = real('StartInstances');
    expect(ours({ ...event!, centralog: { account_mismatch: true, owner: '111122223333' } })).toEqual(['CloudTrail Event Claims Another Account Than Its Log Group Owner']);
    expect(ours({ ...event!, centralog: { account_mismatch: false } })).toEqual([]);
    expect(ours(event!)).toEqual([]);
  });
});
