import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseGuardDutyFinding, severityLabel } from '../../../processors/parsers/guardduty.ts';
import { ParseError, type EcsDocument, type ParseContext, type ParsedEvent } from '../../../processors/parsers/types.ts';

type Obj = Record<string, unknown>;

const fixtureText = (name: string): string => readFileSync(new URL(`../../fixtures/guardduty/${name}`, import.meta.url), 'utf8');
const fixtureJson = (name: string): Obj => JSON.parse(fixtureText(name)) as Obj;
const templateJson = (name: string): Obj =>
  JSON.parse(readFileSync(new URL(`../../../infra/opensearch/templates/${name}`, import.meta.url), 'utf8')) as Obj;

const ctx: ParseContext = {
  owner: '999988887777',
  logGroup: '/aws/events/guardduty',
  logStream: 'guardduty-findings',
  eventId: '37199717562907174288355125807040114704837640994633613312',
  timestamp: Date.parse('2025-03-01T00:00:00Z'),
};

/** The eight findings of the Panther rule tests, in file order. */
const pantherFindings: Obj[] = fixtureText('panther-analysis_guardduty_rule_test_logs.ndjson')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Obj);

const ec2Event = fixtureJson('ec2-duty-event.json');
const iamEvent = fixtureJson('iam-duty-event.json');

/** A value of a nested document by dotted path, e.g. at(doc, 'source.geo.city_name'). */
function at(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const key of path.split('.')) cur = (cur as Obj | undefined)?.[key];
  return cur;
}

function parse(finding: Obj, envelope?: Obj): ParsedEvent {
  return parseGuardDutyFinding(finding, ctx, envelope);
}

function parseEnvelope(event: Obj): ParsedEvent {
  return parseGuardDutyFinding(event.detail as Obj, ctx, event);
}

function parseError(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ParseError) return err;
    throw err;
  }
  throw new Error('expected a ParseError');
}

/**
 * CONSTRUCTED findings: none of the public samples has these action or resource shapes, so
 * these are built from the documented GuardDuty finding format (field names as in the
 * GuardDuty API's Finding/Resource/Service/Action objects). Values are documentation-range or
 * vendor-example values, not captures.
 */
function constructed(overrides: Obj): Obj {
  return {
    schemaVersion: '2.0',
    accountId: '111122223333',
    region: 'eu-west-1',
    partition: 'aws',
    id: 'c0ffee00c0ffee00c0ffee00c0ffee00',
    arn: 'arn:aws:guardduty:eu-west-1:111122223333:detector/12abc34d567e8fa901bc2d34e56789f0/finding/c0ffee00c0ffee00c0ffee00c0ffee00',
    createdAt: '2024-05-01T10:00:00.000Z',
    updatedAt: '2024-05-02T11:30:00.250Z',
    title: 'constructed finding',
    description: 'constructed finding',
    severity: 5,
    ...overrides,
  };
}

function service(action: Obj | undefined, extra: Obj = {}): Obj {
  return {
    serviceName: 'guardduty',
    detectorId: '12abc34d567e8fa901bc2d34e56789f0',
    action,
    resourceRole: 'TARGET',
    additionalInfo: {},
    eventFirstSeen: '2024-05-01T09:58:00.000Z',
    eventLastSeen: '2024-05-02T11:29:00.000Z',
    archived: false,
    count: 74,
    ...extra,
  };
}

const instanceResource = {
  resourceType: 'Instance',
  instanceDetails: {
    instanceId: 'i-0c10c2c7863d1a356',
    instanceType: 't3.micro',
    imageId: 'ami-0abcdef1234567890',
    instanceState: 'running',
    availabilityZone: 'eu-west-1a',
    networkInterfaces: [
      {
        networkInterfaceId: 'eni-0123456789abcdef0',
        privateIpAddress: '172.31.43.6',
        privateIpAddresses: [{ privateDnsName: 'ip-172-31-43-6.eu-west-1.compute.internal', privateIpAddress: '172.31.43.6' }],
        publicIp: '203.0.113.10',
        ipv6Addresses: [],
        subnetId: 'subnet-0a1b2c3d',
        vpcId: 'vpc-0a1b2c3d',
      },
    ],
  },
};

const sshBruteForceInbound = constructed({
  type: 'UnauthorizedAccess:EC2/SSHBruteForce',
  severity: 2,
  resource: instanceResource,
  service: service({
    actionType: 'NETWORK_CONNECTION',
    networkConnectionAction: {
      connectionDirection: 'INBOUND',
      protocol: 'TCP',
      blocked: false,
      localIpDetails: { ipAddressV4: '172.31.43.6' },
      localPortDetails: { port: 22, portName: 'SSH' },
      remotePortDetails: { port: 46717, portName: 'Unknown' },
      remoteIpDetails: {
        ipAddressV4: '198.51.100.23',
        organization: { asn: '209', asnOrg: 'CENTURYLINK-US-LEGACY-QWEST', isp: 'CenturyLink', org: 'CenturyLink' },
        country: { countryName: 'United States', countryCode: 'US' },
        city: { cityName: 'Dubuque' },
        geoLocation: { lat: 42.5122, lon: -90.7384 },
      },
    },
  }),
});

const outboundWinRm = constructed({
  type: 'Impact:EC2/WinRMBruteForce',
  resource: instanceResource,
  service: service({
    actionType: 'NETWORK_CONNECTION',
    networkConnectionAction: {
      connectionDirection: 'OUTBOUND',
      protocol: 'TCP',
      blocked: false,
      localIpDetails: { ipAddressV4: '172.31.43.6' },
      localPortDetails: { port: 32794, portName: 'Unknown' },
      remotePortDetails: { port: 5985, portName: 'WinRM' },
      remoteIpDetails: { ipAddressV4: '203.0.113.77', country: { countryName: 'Netherlands' }, organization: { asn: 64500, asnOrg: 'EXAMPLE-AS' } },
    },
  }, { resourceRole: 'ACTOR' }),
});

const portProbe = constructed({
  type: 'Recon:EC2/PortProbeUnprotectedPort',
  resource: instanceResource,
  service: service({
    actionType: 'PORT_PROBE',
    portProbeAction: {
      blocked: false,
      portProbeDetails: [
        {
          localPortDetails: { port: 3389, portName: 'RDP' },
          localIpDetails: { ipAddressV4: '172.31.43.6' },
          remoteIpDetails: { ipAddressV4: '192.0.2.44', country: { countryName: 'France' }, organization: { asn: '64501', asnOrg: 'PROBE-NET' } },
        },
        {
          localPortDetails: { port: 22, portName: 'SSH' },
          localIpDetails: { ipAddressV4: '172.31.43.6' },
          remoteIpDetails: { ipAddressV4: '192.0.2.45' },
        },
      ],
    },
  }),
});

const kubernetesApiCall = constructed({
  type: 'Discovery:Kubernetes/TorIPCaller',
  resource: {
    resourceType: 'EKSCluster',
    eksClusterDetails: { name: 'prod-cluster', arn: 'arn:aws:eks:eu-west-1:111122223333:cluster/prod-cluster', vpcId: 'vpc-0a1b2c3d', status: 'ACTIVE', createdAt: 1636625755.218 },
    kubernetesDetails: {
      kubernetesUserDetails: { username: 'system:anonymous', uid: 'k8s-uid-1', groups: ['system:unauthenticated'] },
      kubernetesWorkloadDetails: {
        name: 'web-7d9f8b',
        type: 'pods',
        uid: 'pod-uid-1',
        namespace: 'payments',
        containers: [{ name: 'web', image: 'public.ecr.aws/nginx/nginx:1.25', id: 'cont-1' }],
      },
    },
    accessKeyDetails: { accessKeyId: 'ASIAEXAMPLEKEY', principalId: 'AROAEXAMPLEID:session', userType: 'Role', userName: 'eks-node-role' },
  },
  service: service({
    actionType: 'KUBERNETES_API_CALL',
    kubernetesApiCallAction: {
      requestUri: '/api/v1/namespaces/payments/secrets',
      verb: 'list',
      sourceIPs: ['198.51.100.99', 'not-an-ip'],
      userAgent: 'kubectl/v1.29.0 (linux/amd64)',
      statusCode: 403,
      remoteIpDetails: { ipAddressV4: '198.51.100.99', country: { countryName: 'Germany' }, organization: { asn: '0', asnOrg: 'TOR-EXIT' } },
    },
  }),
});

const kubernetesSourceIpsOnly = constructed({
  type: 'Execution:Kubernetes/ExecInKubeSystemPod',
  resource: { resourceType: 'EKSCluster', eksClusterDetails: { name: 'dev' } },
  service: service({
    actionType: 'KUBERNETES_API_CALL',
    kubernetesApiCallAction: { requestUri: '/api/v1/namespaces/kube-system/pods/coredns/exec', verb: 'create', sourceIps: ['2001:db8::7'], namespace: 'kube-system', resource: 'pods', resourceName: 'coredns' },
  }),
});

const rdsLogin = constructed({
  type: 'CredentialAccess:RDS/AnomalousBehavior.SuccessfulLogin',
  severity: 8,
  resource: {
    resourceType: 'RDSDBInstance',
    rdsDbInstanceDetails: { dbInstanceIdentifier: 'orders-db-1', engine: 'aurora-postgresql', engineVersion: '13.6', dbClusterIdentifier: 'orders', dbInstanceArn: 'arn:aws:rds:eu-west-1:111122223333:db:orders-db-1' },
    rdsDbUserDetails: { user: 'app_admin', application: 'psql', database: 'orders', ssl: 'true', authMethod: 'PASSWORD' },
  },
  service: service({
    actionType: 'RDS_LOGIN_ATTEMPT',
    rdsLoginAttemptAction: {
      remoteIpDetails: { ipAddressV4: '203.0.113.200', city: { cityName: 'Lyon' }, country: { countryName: 'France' } },
      LoginAttributes: [
        { user: 'app_admin', application: 'psql', failedLoginAttempts: 0, successfulLoginAttempts: 1 },
        { user: 'postgres', application: 'psql', failedLoginAttempts: 12, successfulLoginAttempts: 0 },
      ],
    },
  }),
});

const s3Bucket = constructed({
  type: 'Impact:S3/MaliciousIPCaller',
  resource: {
    resourceType: 'S3Bucket',
    accessKeyDetails: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', principalId: 'AIDACKCEVSQ6C2EXAMPLE', userType: 'IAMUser', userName: 'alice' },
    s3BucketDetails: [
      { name: 'amzn-s3-demo-bucket', arn: 'arn:aws:s3:::amzn-s3-demo-bucket', type: 'Destination', createdAt: 1513612691.551, publicAccess: { effectivePermission: 'NOT_PUBLIC' } },
      { name: 'amzn-s3-demo-logs', arn: 'arn:aws:s3:::amzn-s3-demo-logs', type: 'Source' },
    ],
  },
  service: service({
    actionType: 'AWS_API_CALL',
    awsApiCallAction: {
      api: 'DeleteObject',
      serviceName: 's3.amazonaws.com',
      callerType: 'Remote IP',
      errorCode: 'AccessDenied',
      userAgent: 'aws-cli/2.15.0 Python/3.11.6',
      remoteIpDetails: { ipAddressV4: '192.0.2.10' },
      remoteAccountDetails: { accountId: '444455556666', affiliated: false },
    },
  }),
});

const lambdaFunction = constructed({
  type: 'Backdoor:Lambda/C&CActivity.B',
  resource: {
    resourceType: 'Lambda',
    lambdaDetails: { functionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:resize', functionName: 'resize', functionVersion: '$LATEST', role: 'arn:aws:iam::111122223333:role/resize', vpcConfig: { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-1'] } },
  },
  service: service({
    actionType: 'NETWORK_CONNECTION',
    networkConnectionAction: { connectionDirection: 'OUTBOUND', protocol: 'TCP', remoteIpDetails: { ipAddressV4: '192.0.2.200' }, remotePortDetails: { port: 443 } },
  }),
});

const ecsCluster = constructed({
  type: 'CryptoCurrency:Runtime/BitcoinTool.B',
  resource: {
    resourceType: 'ECSCluster',
    ecsClusterDetails: {
      name: 'batch',
      arn: 'arn:aws:ecs:eu-west-1:111122223333:cluster/batch',
      status: 'ACTIVE',
      taskDetails: { arn: 'arn:aws:ecs:eu-west-1:111122223333:task/batch/abc', definitionArn: 'arn:aws:ecs:eu-west-1:111122223333:task-definition/miner:3', containers: [{ containerRuntime: 'docker', id: 'c-42', name: 'worker', image: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/worker:1' }] },
    },
  },
  service: service(undefined, { featureName: 'RuntimeMonitoring', runtimeDetails: { process: { name: 'xmrig', pid: 4242 } } }),
});

const runtimeContainer = constructed({
  type: 'PrivilegeEscalation:Runtime/DockerSocketAccessed',
  resource: {
    resourceType: 'Container',
    instanceDetails: { instanceId: 'i-0abcd1234', networkInterfaces: [{ privateIpAddress: '10.30.30.15', publicIp: '192.0.2.56' }] },
    containerDetails: { containerRuntime: 'docker', id: 'abcd1234', name: null, image: 'registry.example.com/build:2.8.37' },
  },
  service: service({}, { featureName: 'RuntimeMonitoring' }),
});

const attackSequence = constructed({
  type: 'AttackSequence:S3/CompromisedData',
  severity: 9.5,
  resource: { resourceType: 'AttackSequence' },
  service: service(undefined, {
    featureName: 'Correlation',
    detection: {
      sequence: {
        uid: 'seq-0123',
        description: 'A sequence of actions involving 2 signals.',
        actors: [{ id: 'USER:AIDA3UBBJ2K3TVEXAMPLE', user: { name: 'john_doe', uid: 'AIDA3UBBJ2K3TVEXAMPLE', type: 'IAMUser', account: { uid: '111122223333' } } }],
        endpoints: [{ id: 'EP:203.0.113.5', ip: '203.0.113.5', location: { country: 'NL' } }, { id: 'EP:bad', ip: 'GeneratedFindingIPAddress' }],
        resources: [{ uid: 'arn:aws:s3:::amzn-s3-demo-bucket', resourceType: 'S3_BUCKET', name: 'amzn-s3-demo-bucket' }],
        signals: [
          { uid: 'sig-1', type: 'FINDING', name: 'Discovery:S3/AnomalousBehavior', severity: 2, count: 3 },
          { uid: 'sig-2', type: 'CLOUD_TRAIL', name: 'DeleteObject', count: 40 },
        ],
        sequenceIndicators: [
          { key: 'ATTACK_TACTIC', title: 'Attack Tactic', values: ['Discovery', 'Impact'] },
          { key: 'ATTACK_TECHNIQUE', title: 'Attack Technique', values: ['T1485 - Data Destruction', 'Data from Cloud Storage'] },
          { key: 'HIGH_RISK_API', title: 'High Risk Api', values: ['s3:DeleteObject'] },
        ],
      },
    },
  }),
});

describe('parseGuardDutyFinding over the Panther rule-test findings', () => {
  const expected = [
    { type: 'AttackSequence:IAM/CompromisedCredentials', severity: 9, label: 'Critical', time: '2025-02-25T20:40:06.721Z', updatedAt: '2025-02-25 20:40:06.721', id: '8c258d654378414b9bc26f61a93eb816', sample: undefined },
    { type: 'AttackSequence:S3/CompromisedData', severity: 9, label: 'Critical', time: '2025-02-25T20:40:06.765Z', updatedAt: '2025-02-25 20:40:06.765', id: 'b174b38d16e34da0a4c66012083bd8f7', sample: true },
    { type: 'PrivilegeEscalation:IAMUser/AdministrativePermissions', severity: 8, label: 'High', time: '2020-02-14T18:12:22.316Z', updatedAt: '2020-02-14T18:12:22.316Z', id: 'eeb88ab56556eb7771b266670dddee5a', sample: undefined },
    { type: 'PrivilegeEscalation:IAMUser/AdministrativePermissions', severity: 8, label: 'High', time: '2020-02-14T18:12:22.316Z', updatedAt: '2020-02-14T18:12:22.316Z', id: 'eeb88ab56556eb7771b266670dddee5a', sample: true },
    { type: 'PrivilegeEscalation:IAMUser/AdministrativePermissions', severity: 1, label: 'Low', time: '2020-02-14T18:12:22.316Z', updatedAt: '2020-02-14T18:12:22.316Z', id: 'eeb88ab56556eb7771b266670dddee5a', sample: undefined },
    { type: 'PrivilegeEscalation:IAMUser/AdministrativePermissions', severity: 1, label: 'Low', time: '2020-02-14T18:12:22.316Z', updatedAt: '2020-02-14T18:12:22.316Z', id: 'eeb88ab56556eb7771b266670dddee5a', sample: true },
    { type: 'PrivilegeEscalation:IAMUser/AdministrativePermissions', severity: 5, label: 'Medium', time: '2020-02-14T18:12:22.316Z', updatedAt: '2020-02-14T18:12:22.316Z', id: 'eeb88ab56556eb7771b266670dddee5a', sample: undefined },
    { type: 'PrivilegeEscalation:IAMUser/AdministrativePermissions', severity: 5, label: 'Medium', time: '2020-02-14T18:12:22.316Z', updatedAt: '2020-02-14T18:12:22.316Z', id: 'eeb88ab56556eb7771b266670dddee5a', sample: true },
  ];

  it('holds the eight findings the manifest lists', () => {
    expect(pantherFindings).toHaveLength(8);
  });

  it.each(expected.map((e, i) => [i + 1, e] as const))('maps line %i to an alert with its type, severity, account, region, time and id parts', (line, e) => {
    const { timestamp, document, idParts } = parse(pantherFindings[line - 1] as Obj);
    expect(at(document, 'event.kind')).toBe('alert');
    expect(at(document, 'event.provider')).toBe('guardduty');
    expect(at(document, 'event.id')).toBe(e.id);
    expect(at(document, 'rule.name')).toBe(e.type);
    expect(at(document, 'rule.category')).toBe(e.type.split(':')[0]);
    expect(at(document, 'event.severity')).toBe(e.severity);
    expect(at(document, 'aws.guardduty.severity')).toBe(e.severity);
    expect(at(document, 'aws.guardduty.severity_label')).toBe(e.label);
    expect(at(document, 'cloud.account.id')).toBe('123456789012');
    expect(at(document, 'cloud.region')).toBe('us-east-1');
    expect(timestamp.toISOString()).toBe(e.time);
    expect(idParts).toEqual([e.id, e.updatedAt]);
    expect(at(document, 'aws.guardduty.sample')).toBe(e.sample);
    expect(at(document, 'aws.guardduty.detector_id')).toBe('111111bbbbbbbbbb5555555551111111');
    expect(at(document, 'aws.guardduty.count')).toBe(1);
    expect(at(document, 'aws.guardduty.archived')).toBe(false);
    expect(at(document, 'aws.guardduty.resource_role')).toBe('TARGET');
    expect(at(document, '@timestamp')).toBeUndefined();
  });

  it('maps an AWS_API_CALL made through a service domain: api, service, caller, source.domain, affected resources', () => {
    const { document } = parse(pantherFindings[2] as Obj);
    expect(at(document, 'event.action')).toBe('AWS_API_CALL');
    expect(at(document, 'aws.guardduty.action.type')).toBe('AWS_API_CALL');
    expect(at(document, 'aws.guardduty.action.api')).toBe('PutRolePolicy');
    expect(at(document, 'aws.guardduty.action.service_name')).toBe('iam.amazonaws.com');
    expect(at(document, 'aws.guardduty.action.caller_type')).toBe('Domain');
    expect(at(document, 'aws.guardduty.action.domain')).toBe('cloudformation.amazonaws.com');
    expect(at(document, 'source.domain')).toBe('cloudformation.amazonaws.com');
    expect(at(document, 'source.ip')).toBeUndefined();
    expect(at(document, 'aws.guardduty.action.details.affectedResources')).toEqual({ 'AWS::IAM::Role': 'arn:aws:iam::123456789012:role/IAMRole' });
    expect(at(document, 'event.category')).toEqual(['intrusion_detection', 'iam']);
    expect(at(document, 'threat')).toEqual({ framework: 'MITRE ATT&CK', tactic: { name: ['Privilege Escalation'], id: ['TA0004'] } });
    expect(at(document, 'message')).toBe('Principal AssumedRole:IAMRole attempted to add a policy to themselves that is highly permissive.');
    expect(at(document, 'aws.guardduty.description')).toBe('Principal AssumedRole:IAMRole attempted to add a highly permissive policy to themselves.');
    // `evidence: null` and `additionalInfo: {}` leave nothing behind
    expect(at(document, 'aws.guardduty.evidence')).toBeUndefined();
    expect(at(document, 'aws.guardduty.additional_info')).toBeUndefined();
    // this finding carries no resource object at all
    expect(at(document, 'aws.guardduty.resource_type')).toBeUndefined();
  });

  it('maps an Extended Threat Detection finding: AttackSequence resource, Correlation feature, space-separated times', () => {
    const { document } = parse(pantherFindings[1] as Obj);
    expect(at(document, 'aws.guardduty.resource_type')).toBe('AttackSequence');
    expect(at(document, 'aws.guardduty.resource')).toEqual({ resourceType: 'AttackSequence' });
    expect(at(document, 'aws.guardduty.feature_name')).toBe('Correlation');
    expect(at(document, 'event.created')).toBe('2025-02-25T20:40:06.765Z');
    expect(at(document, 'event.start')).toBe('2025-02-25T20:40:06.000Z'); // '2025-02-25 20:40:06.000000000'
    expect(at(document, 'event.end')).toBe('2025-02-25T20:40:06.000Z');
    expect(at(document, 'rule.ruleset')).toBe('AttackSequence:S3');
    expect(at(document, 'aws.guardduty.additional_info')).toEqual({ sample: true, type: 'default', value: '{"sample":true}' });
    expect(at(document, 'event.action')).toBeUndefined();
  });
});

describe('parseGuardDutyFinding over EventBridge "GuardDuty Finding" events', () => {
  it('maps the DNS_REQUEST finding of an EC2 instance (cloud-custodian ec2-duty-event)', () => {
    const { timestamp, document, idParts } = parseEnvelope(ec2Event);
    expect(timestamp.toISOString()).toBe('2017-12-08T15:32:49.865Z');
    expect(idParts).toEqual(['b4b01b60fc24a199139f8f5f490edd81', '2017-12-08T15:32:49.865Z']);
    expect(document).toMatchObject({
      message: 'Command and Control server domain name queried by EC2 instance i-99999999.',
      event: {
        kind: 'alert',
        id: 'b4b01b60fc24a199139f8f5f490edd81',
        severity: 5,
        created: '2017-12-08T15:32:49.865Z',
        start: '2017-12-08T15:32:49.000Z',
        end: '2017-12-08T15:32:49.000Z',
        category: ['intrusion_detection', 'network'],
        type: ['info'],
        action: 'DNS_REQUEST',
        provider: 'guardduty',
      },
      rule: { name: 'Backdoor:EC2/C&CActivity.B!DNS', category: 'Backdoor', ruleset: 'Backdoor:EC2' },
      // the finding's own account wins over the envelope's (101010101111) and the CWL owner
      cloud: { account: { id: '883606788610' }, region: 'us-east-1', instance: { id: 'i-99999999' } },
      dns: { question: { name: 'example.com' } },
      network: { protocol: 'dns', transport: 'tcp', direction: 'egress' },
      aws: {
        guardduty: {
          resource_type: 'Instance',
          resource: { resourceType: 'Instance', instanceDetails: { instanceId: 'i-99999999' } },
          action: { type: 'DNS_REQUEST', domain: 'example.com', protocol: 'TCP', blocked: false },
          sample: true,
          severity_label: 'Medium',
          detector_id: 'c0b018e3eb2130078632d999e41d4f02',
        },
      },
    });
  });

  it('maps the AWS_API_CALL finding of an access key from a Tor exit node (cloud-custodian iam-duty-event)', () => {
    const { timestamp, document, idParts } = parseEnvelope(iamEvent);
    expect(timestamp.toISOString()).toBe('2017-12-08T15:32:49.862Z');
    expect(idParts).toEqual(['36b01b60fc22bb4edb19d62d9899e953', '2017-12-08T15:32:49.862Z']);
    expect(document).toMatchObject({
      event: { kind: 'alert', severity: 5, category: ['intrusion_detection', 'iam'], action: 'AWS_API_CALL' },
      rule: { name: 'UnauthorizedAccess:IAMUser/TorIPCaller', category: 'UnauthorizedAccess', ruleset: 'UnauthorizedAccess:IAMUser' },
      cloud: { account: { id: '883606788610' }, region: 'us-east-1' },
      source: {
        address: '198.51.100.0',
        ip: '198.51.100.0',
        geo: { country_name: 'United States', city_name: 'GeneratedFindingCityName' },
        as: { organization: { name: 'GeneratedFindingASNOrg' } },
      },
      user: { name: 'GeneratedFindingUserName', id: 'GeneratedFindingPrincipalId' },
      related: { ip: ['198.51.100.0'], user: ['GeneratedFindingPrincipalId', 'GeneratedFindingUserName'] },
      aws: {
        guardduty: {
          resource_type: 'AccessKey',
          access_key: { id: 'GeneratedFindingAccessKeyId', user_type: 'IAMUser' },
          action: {
            type: 'AWS_API_CALL',
            api: 'GeneratedFindingAPIName',
            service_name: 'GeneratedFindingAPIServiceName',
            caller_type: 'Remote IP',
            remote_ip: '198.51.100.0',
          },
          additional_info: { sample: true, unusual: { isps: 'amazon.com' }, threatListName: 'GeneratedFindingCustomerListName' },
          sample: true,
        },
      },
    });
    // asn -1 is "unknown"; geoLocation 0,0 is "unknown": neither is indexed as a value
    expect(at(document, 'source.as.number')).toBeUndefined();
    expect(at(document, 'source.geo.location')).toBeUndefined();
  });

  it('gives a finding the same id parts bare or wrapped in its EventBridge event', () => {
    expect(parse(iamEvent.detail as Obj).idParts).toEqual(parseEnvelope(iamEvent).idParts);
  });

  it('falls back to the envelope account and region, then to the log group owner', () => {
    const detail = { ...(ec2Event.detail as Obj) };
    delete detail.accountId;
    delete detail.region;
    const viaEnvelope = parse(detail, ec2Event).document;
    expect(at(viaEnvelope, 'cloud.account.id')).toBe('101010101111');
    expect(at(viaEnvelope, 'cloud.region')).toBe('us-east-1');
    expect(at(parse(detail).document, 'cloud.account.id')).toBe('999988887777');
  });
});

describe('parseGuardDutyFinding actions (constructed from the documented finding format)', () => {
  it('maps an INBOUND NETWORK_CONNECTION: remote side is the source, ports by side, geo and AS', () => {
    const { document } = parse(sshBruteForceInbound);
    expect(document).toMatchObject({
      event: { action: 'NETWORK_CONNECTION', category: ['intrusion_detection', 'network', 'authentication'], severity: 2 },
      source: {
        address: '198.51.100.23',
        ip: '198.51.100.23',
        port: 46717,
        geo: { country_name: 'United States', country_iso_code: 'US', city_name: 'Dubuque', location: { lat: 42.5122, lon: -90.7384 } },
        as: { number: 209, organization: { name: 'CENTURYLINK-US-LEGACY-QWEST' } },
      },
      destination: { address: '172.31.43.6', ip: '172.31.43.6', port: 22 },
      network: { direction: 'ingress', transport: 'tcp' },
      aws: { guardduty: { action: { type: 'NETWORK_CONNECTION', connection_direction: 'INBOUND', protocol: 'TCP', blocked: false, remote_ip: '198.51.100.23', local_ip: '172.31.43.6' }, count: 74, severity_label: 'Low' } },
    });
    expect(at(document, 'destination.geo')).toBeUndefined();
    expect(at(document, 'related.ip')).toEqual(['172.31.43.6', '203.0.113.10', '198.51.100.23']);
  });

  it('maps an OUTBOUND NETWORK_CONNECTION: remote side is the destination', () => {
    const { document } = parse(outboundWinRm);
    expect(document).toMatchObject({
      source: { address: '172.31.43.6', ip: '172.31.43.6', port: 32794 },
      destination: { address: '203.0.113.77', ip: '203.0.113.77', port: 5985, geo: { country_name: 'Netherlands' }, as: { number: 64500, organization: { name: 'EXAMPLE-AS' } } },
      network: { direction: 'egress', transport: 'tcp' },
      threat: { tactic: { name: ['Impact'], id: ['TA0040'] } },
      aws: { guardduty: { resource_role: 'ACTOR' } },
    });
  });

  it('maps a PORT_PROBE: first prober is the source, every prober related, probed port is the destination port', () => {
    const { document } = parse(portProbe);
    expect(document).toMatchObject({
      event: { action: 'PORT_PROBE', category: ['intrusion_detection', 'network'] },
      source: { address: '192.0.2.44', ip: '192.0.2.44', geo: { country_name: 'France' }, as: { number: 64501 } },
      destination: { address: '172.31.43.6', ip: '172.31.43.6', port: 3389 },
      network: { direction: 'ingress' },
      threat: { tactic: { name: ['Reconnaissance'], id: ['TA0043'] } },
      aws: { guardduty: { action: { type: 'PORT_PROBE', blocked: false, local_ports: [3389, 22], remote_ip: ['192.0.2.44', '192.0.2.45'] } } },
    });
    expect(at(document, 'related.ip')).toEqual(['172.31.43.6', '203.0.113.10', '192.0.2.44', '192.0.2.45']);
    expect(at(document, 'host.ip')).toEqual(['172.31.43.6', '203.0.113.10']);
  });

  it('maps a KUBERNETES_API_CALL on an EKS cluster: cluster, workload, Kubernetes user, source IPs, request', () => {
    const { document } = parse(kubernetesApiCall);
    expect(document).toMatchObject({
      event: { action: 'KUBERNETES_API_CALL' },
      orchestrator: { type: 'kubernetes', cluster: { name: 'prod-cluster' }, namespace: 'payments', resource: { name: 'web-7d9f8b', type: 'pods' } },
      container: { id: 'cont-1', name: 'web', image: { name: 'public.ecr.aws/nginx/nginx:1.25' } },
      user: { name: 'system:anonymous', id: 'k8s-uid-1', group: { name: ['system:unauthenticated'] } },
      source: { address: '198.51.100.99', ip: '198.51.100.99', geo: { country_name: 'Germany' }, as: { organization: { name: 'TOR-EXIT' } } },
      url: { original: '/api/v1/namespaces/payments/secrets' },
      user_agent: { original: 'kubectl/v1.29.0 (linux/amd64)' },
      threat: { tactic: { name: ['Discovery'], id: ['TA0007'] } },
      aws: {
        guardduty: {
          resource_type: 'EKSCluster',
          action: { verb: 'list', status_code: 403, request_uri: '/api/v1/namespaces/payments/secrets', remote_ip: ['198.51.100.99', 'not-an-ip'] },
          access_key: { id: 'ASIAEXAMPLEKEY', user_type: 'Role' },
        },
      },
    });
    expect(at(document, 'source.as.number')).toBeUndefined(); // asn "0" = unknown
    expect(at(document, 'related.ip')).toEqual(['198.51.100.99']);
    // the access key's principal id and the Kubernetes uid too, as Elastic's AWS integration lists them
    expect(at(document, 'related.user')).toEqual(['AROAEXAMPLEID:session', 'eks-node-role', 'system:anonymous', 'k8s-uid-1']);
  });

  it('takes the source IP from sourceIps when a Kubernetes call has no remoteIpDetails, and the target from the action', () => {
    const { document } = parse(kubernetesSourceIpsOnly);
    expect(at(document, 'source.ip')).toBe('2001:db8::7');
    expect(at(document, 'source.address')).toBe('2001:db8::7');
    // an unusable entry before it names neither the ip nor the address
    const withJunk = structuredClone(kubernetesSourceIpsOnly) as { service: { action: { kubernetesApiCallAction: { sourceIps: string[] } } } };
    withJunk.service.action.kubernetesApiCallAction.sourceIps = ['not-an-ip', '2001:db8::7'];
    expect(at(parse(withJunk).document, 'source')).toEqual({ address: '2001:db8::7', ip: '2001:db8::7' });
    expect(at(document, 'orchestrator')).toEqual({ type: 'kubernetes', cluster: { name: 'dev' }, namespace: 'kube-system', resource: { name: 'coredns', type: 'pods' } });
  });

  it('maps an RDS_LOGIN_ATTEMPT on an RDS instance: database user, login attributes, remote source', () => {
    const { document } = parse(rdsLogin);
    expect(document).toMatchObject({
      event: { action: 'RDS_LOGIN_ATTEMPT', category: ['intrusion_detection', 'authentication', 'database'], severity: 8 },
      user: { name: 'app_admin' },
      source: { address: '203.0.113.200', ip: '203.0.113.200', geo: { city_name: 'Lyon', country_name: 'France' } },
      related: { ip: ['203.0.113.200'], user: ['app_admin', 'postgres'] },
      threat: { tactic: { name: ['Credential Access'], id: ['TA0006'] } },
      aws: {
        guardduty: {
          resource_type: 'RDSDBInstance',
          rds: { db_instance_identifier: 'orders-db-1', db_cluster_identifier: 'orders', engine: 'aurora-postgresql', engine_version: '13.6' },
          action: { type: 'RDS_LOGIN_ATTEMPT', remote_ip: '203.0.113.200' },
          severity_label: 'High',
        },
      },
    });
    expect(at(document, 'aws.guardduty.action.details.LoginAttributes')).toHaveLength(2);
  });
});

describe('parseGuardDutyFinding resources (constructed from the documented finding format)', () => {
  it('maps an Instance: instance id, zone, image, type, VPC/subnet, and its addresses as host.ip', () => {
    const { document } = parse(sshBruteForceInbound);
    expect(document).toMatchObject({
      cloud: { instance: { id: 'i-0c10c2c7863d1a356' }, availability_zone: 'eu-west-1a', account: { id: '111122223333' }, region: 'eu-west-1' },
      host: { ip: ['172.31.43.6', '203.0.113.10'] },
      aws: {
        guardduty: {
          resource_type: 'Instance',
          instance: { image_id: 'ami-0abcdef1234567890', type: 't3.micro', state: 'running', vpc_id: ['vpc-0a1b2c3d'], subnet_id: ['subnet-0a1b2c3d'] },
          resource: instanceResource,
        },
      },
    });
  });

  it('maps an S3Bucket with the calling access key: bucket names/ARNs/types and the IAM user', () => {
    const { document } = parse(s3Bucket);
    expect(document).toMatchObject({
      user: { name: 'alice', id: 'AIDACKCEVSQ6C2EXAMPLE' },
      source: { ip: '192.0.2.10' },
      user_agent: { original: 'aws-cli/2.15.0 Python/3.11.6' },
      threat: { tactic: { name: ['Impact'] } },
      aws: {
        guardduty: {
          resource_type: 'S3Bucket',
          s3_bucket: { name: ['amzn-s3-demo-bucket', 'amzn-s3-demo-logs'], arn: ['arn:aws:s3:::amzn-s3-demo-bucket', 'arn:aws:s3:::amzn-s3-demo-logs'], type: ['Destination', 'Source'] },
          access_key: { id: 'AKIAIOSFODNN7EXAMPLE', user_type: 'IAMUser' },
          action: { api: 'DeleteObject', service_name: 's3.amazonaws.com', error_code: 'AccessDenied', remote_account_id: '444455556666', remote_account_affiliated: false },
        },
      },
    });
  });

  it('maps a Lambda function resource', () => {
    const { document } = parse(lambdaFunction);
    expect(at(document, 'aws.guardduty.resource_type')).toBe('Lambda');
    expect(at(document, 'aws.guardduty.lambda')).toEqual({ function_name: 'resize', function_arn: 'arn:aws:lambda:eu-west-1:111122223333:function:resize' });
    expect(at(document, 'destination')).toEqual({ address: '192.0.2.200', ip: '192.0.2.200', port: 443 });
    expect(at(document, 'aws.guardduty.resource.lambdaDetails.vpcConfig')).toEqual({ vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-1'] });
  });

  it('maps an ECSCluster resource: cluster and first task container', () => {
    const { document } = parse(ecsCluster);
    expect(document).toMatchObject({
      orchestrator: { type: 'ecs', cluster: { name: 'batch' } },
      container: { id: 'c-42', name: 'worker', image: { name: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/worker:1' } },
      aws: { guardduty: { resource_type: 'ECSCluster', feature_name: 'RuntimeMonitoring', runtime_details: { process: { name: 'xmrig', pid: 4242 } } } },
    });
    expect(at(document, 'event.action')).toBeUndefined();
  });

  it('maps a Container resource on an instance', () => {
    const { document } = parse(runtimeContainer);
    expect(document).toMatchObject({
      cloud: { instance: { id: 'i-0abcd1234' } },
      host: { ip: ['10.30.30.15', '192.0.2.56'] },
      container: { id: 'abcd1234', image: { name: 'registry.example.com/build:2.8.37' } },
      aws: { guardduty: { resource_type: 'Container' } },
    });
    expect(at(document, 'container.name')).toBeUndefined();
    expect(at(document, 'aws.guardduty.action')).toBeUndefined(); // `action: {}` leaves nothing
  });

  it('maps an attack sequence detection: tactics, techniques, endpoints, actors, signals', () => {
    const { document } = parse(attackSequence);
    expect(document).toMatchObject({
      event: { severity: 10, category: ['intrusion_detection'] },
      threat: {
        framework: 'MITRE ATT&CK',
        tactic: { name: ['Discovery', 'Impact'], id: ['TA0007', 'TA0040'] },
        technique: { name: ['Data Destruction', 'Data from Cloud Storage'], id: ['T1485'] },
      },
      related: { ip: ['203.0.113.5'], user: ['john_doe'] },
      aws: { guardduty: { resource_type: 'AttackSequence', attack_sequence: { uid: 'seq-0123', signal_count: 2 }, severity: 9.5, severity_label: 'Critical' } },
    });
    expect(at(document, 'aws.guardduty.detection.sequence.signals')).toHaveLength(2);
  });
});

describe('parseGuardDutyFinding times and document ids', () => {
  it('dates a finding by updatedAt, else createdAt, else the envelope time', () => {
    const both = constructed({ type: 'Recon:EC2/Portscan' });
    expect(parse(both).timestamp.toISOString()).toBe('2024-05-02T11:30:00.250Z');

    const noUpdate = constructed({ type: 'Recon:EC2/Portscan', updatedAt: undefined });
    expect(parse(noUpdate).timestamp.toISOString()).toBe('2024-05-01T10:00:00.000Z');
    expect(parse(noUpdate).idParts).toEqual(['c0ffee00c0ffee00c0ffee00c0ffee00', '2024-05-01T10:00:00.000Z']);

    const badUpdate = constructed({ type: 'Recon:EC2/Portscan', updatedAt: 'not a date' });
    expect(parse(badUpdate).timestamp.toISOString()).toBe('2024-05-01T10:00:00.000Z');
    expect(parse(badUpdate).idParts).toEqual(['c0ffee00c0ffee00c0ffee00c0ffee00', 'not a date']);

    const badBoth = constructed({ type: 'Recon:EC2/Portscan', updatedAt: 'not a date', createdAt: 'nor this' });
    expect(parse(badBoth, { time: '2024-05-03T00:00:00Z' }).timestamp.toISOString()).toBe('2024-05-03T00:00:00.000Z');
  });

  it('gives two updates of one finding different id parts, and one update always the same', () => {
    const first = pantherFindings[2] as Obj;
    const later = { ...first, updatedAt: '2020-02-14T18:27:22.316Z', service: { ...(first.service as Obj), count: 2 } };
    const a = parse(first).idParts;
    const b = parse(later).idParts;
    expect(a).toEqual(['eeb88ab56556eb7771b266670dddee5a', '2020-02-14T18:12:22.316Z']);
    expect(b).toEqual(['eeb88ab56556eb7771b266670dddee5a', '2020-02-14T18:27:22.316Z']);
    expect(a).not.toEqual(b);
    expect(parse(structuredClone(first)).idParts).toEqual(a);
    // Lines 3-8 are the same finding update with different severities/sample flags: one id
    expect(new Set(pantherFindings.slice(2).map((f) => JSON.stringify(parse(f).idParts))).size).toBe(1);
  });

  it('keeps updatedAt exactly as given in the id parts (no reformatting)', () => {
    expect(parse(pantherFindings[0] as Obj).idParts?.[1]).toBe('2025-02-25 20:40:06.721');
  });
});

describe('parseGuardDutyFinding errors', () => {
  it('rejects a finding without an id, naming the field', () => {
    const finding = { ...(pantherFindings[2] as Obj) };
    delete finding.id;
    const err = parseError(() => parse(finding));
    expect(err.source).toBe('guardduty');
    expect(err.message).toMatch(/\bid\b/);
    expect(parseError(() => parse({ ...(pantherFindings[2] as Obj), id: '' })).message).toMatch(/\bid\b/);
  });

  it('rejects a finding with no updatedAt and no createdAt, naming them', () => {
    const err = parseError(() => parse(constructed({ type: 'Recon:EC2/Portscan', updatedAt: undefined, createdAt: undefined })));
    expect(err.message).toMatch(/updatedAt/);
    expect(err.message).toMatch(/createdAt/);
  });

  it('rejects a finding whose times are all unusable, naming them', () => {
    const err = parseError(() => parse(constructed({ type: 'Recon:EC2/Portscan', updatedAt: 'garbage', createdAt: 'garbage' })));
    expect(err.message).toMatch(/updatedAt or createdAt/);
  });

  it('rejects the Security Hub (ASFF) form of a GuardDuty finding: it is not a GuardDuty finding', () => {
    const asff = fixtureJson('awsdocs_guardduty-user-guide_securityhub-asff-finding-example.json');
    const err = parseError(() => parse(asff));
    expect(err.source).toBe('guardduty');
    expect(err.message).toMatch(/\bid\b/);
    expect(err.message).toMatch(/Security Hub ASFF/);
  });

  it('never throws anything but ParseError on odd shapes, and keeps what it can', () => {
    const odd = constructed({
      type: 'NoColonOrSlash',
      severity: 'high',
      resource: 'Instance',
      service: { action: { actionType: 'NETWORK_CONNECTION', networkConnectionAction: 'x' }, count: 'many', archived: 'maybe', additionalInfo: [] },
    });
    const { document } = parse(odd);
    expect(at(document, 'rule.name')).toBe('NoColonOrSlash');
    expect(at(document, 'rule.category')).toBeUndefined();
    expect(at(document, 'event.severity')).toBeUndefined();
    expect(at(document, 'aws.guardduty.severity_label')).toBeUndefined();
    expect(at(document, 'aws.guardduty.count')).toBeUndefined();
    expect(at(document, 'aws.guardduty.archived')).toBeUndefined();
    expect(at(document, 'event.action')).toBe('NETWORK_CONNECTION');

    const arrays = constructed({ type: 'A:B/C', resource: { resourceType: 'Instance', instanceDetails: { networkInterfaces: 'eni' } }, service: [] });
    expect(() => parse(arrays)).not.toThrow();
  });
});

describe('severityLabel', () => {
  it('follows GuardDuty bands: Low < 4 <= Medium < 7 <= High < 9 <= Critical', () => {
    expect([1, 3.9, 4, 6.9, 7, 8.9, 9, 10].map(severityLabel)).toEqual(['Low', 'Low', 'Medium', 'Medium', 'High', 'High', 'Critical', 'Critical']);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over every document this suite produces

const IP_FIELDS = ['source.ip', 'destination.ip', 'host.ip', 'related.ip'];

function allDocuments(): { name: string; document: EcsDocument }[] {
  const docs = pantherFindings.map((f, i) => ({ name: `panther line ${i + 1}`, document: parse(f).document }));
  docs.push({ name: 'ec2-duty-event', document: parseEnvelope(ec2Event).document });
  docs.push({ name: 'iam-duty-event', document: parseEnvelope(iamEvent).document });
  const constructedFindings: Record<string, Obj> = {
    sshBruteForceInbound, outboundWinRm, portProbe, kubernetesApiCall, kubernetesSourceIpsOnly, rdsLogin,
    s3Bucket, lambdaFunction, ecsCluster, runtimeContainer, attackSequence, invalidAddresses: invalidAddresses(),
  };
  for (const [name, finding] of Object.entries(constructedFindings)) docs.push({ name: `constructed ${name}`, document: parse(finding).document });
  return docs;
}

/** CONSTRUCTED: placeholders and malformed addresses in every place an IP can appear. */
function invalidAddresses(): Obj {
  return constructed({
    type: 'UnauthorizedAccess:EC2/TorClient',
    resource: {
      resourceType: 'Instance',
      instanceDetails: {
        instanceId: 'i-99999999',
        networkInterfaces: [{ privateIpAddress: 'GeneratedFindingPrivateIp', publicIp: '225.01.00.16', ipv6Addresses: ['fe80::1%eth0'], privateIpAddresses: [{ privateIpAddress: '999.1.1.1' }] }],
      },
    },
    service: service({
      actionType: 'NETWORK_CONNECTION',
      networkConnectionAction: {
        connectionDirection: 'INBOUND',
        protocol: 'Unknown',
        localIpDetails: { ipAddressV4: 'GeneratedFindingLocalIp' },
        remoteIpDetails: { ipAddressV4: 'GeneratedFindingIPAddress', country: { countryName: 'GeneratedFindingCountryName' }, geoLocation: { lat: 123, lon: 0.5 } },
      },
    }),
  });
}

describe('parseGuardDutyFinding invariants', () => {
  it('keeps invalid IP strings out of ip fields and only under aws.guardduty', () => {
    const { document } = parse(invalidAddresses());
    for (const field of IP_FIELDS) expect(at(document, field)).toBeUndefined();
    expect(at(document, 'aws.guardduty.action.remote_ip')).toBe('GeneratedFindingIPAddress');
    expect(at(document, 'aws.guardduty.action.local_ip')).toBe('GeneratedFindingLocalIp');
    // .address keeps what GuardDuty wrote (a keyword), so placeholders stay searchable where the ip cannot hold them
    expect(at(document, 'source.address')).toBe('GeneratedFindingIPAddress');
    expect(at(document, 'destination.address')).toBe('GeneratedFindingLocalIp');
    expect(at(document, 'source.geo')).toEqual({ country_name: 'GeneratedFindingCountryName' }); // lat 123 is out of range
    expect(at(document, 'network')).toEqual({ direction: 'ingress' }); // protocol "Unknown" is no transport
    expect(at(document, 'aws.guardduty.resource.instanceDetails.networkInterfaces')).toEqual([
      { privateIpAddress: 'GeneratedFindingPrivateIp', publicIp: '225.01.00.16', ipv6Addresses: ['fe80::1%eth0'], privateIpAddresses: [{ privateIpAddress: '999.1.1.1' }] },
    ]);
  });

  it('puts only valid addresses in ip fields of every document', () => {
    for (const { name, document } of allDocuments()) {
      for (const field of IP_FIELDS) {
        const value = at(document, field);
        const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
        for (const v of values) expect(isIP(String(v)), `${name}: ${field} = ${String(v)}`).not.toBe(0);
      }
      const related = at(document, 'related.ip') as string[] | undefined;
      if (related) expect(new Set(related).size, `${name}: related.ip unique`).toBe(related.length);
    }
  });

  it('leaves no empty values in any document', () => {
    const walk = (v: unknown, path: string): void => {
      expect(v, path).not.toBeNull();
      expect(v, path).not.toBe('');
      if (Array.isArray(v)) expect(v.length, path).toBeGreaterThan(0);
      else if (typeof v === 'object' && v !== null) {
        expect(Object.keys(v).length, path).toBeGreaterThan(0);
        // flat_object values are the finding's own sub-objects: only their top level is compacted here
        if (/^aws\.guardduty\.(resource|additional_info|evidence|detection|runtime_details|action\.details)$/.test(path)) return;
        for (const [k, inner] of Object.entries(v)) walk(inner, path ? `${path}.${k}` : k);
      }
    };
    for (const { document } of allDocuments()) walk(document, '');
  });

  it('produces only fields the guardduty index template maps (base + guardduty.json), with fitting types', () => {
    const leaves = (props: Obj, prefix = '', out = new Map<string, string>()): Map<string, string> => {
      for (const [k, def] of Object.entries(props)) {
        const d = def as Obj;
        const path = prefix ? `${prefix}.${k}` : k;
        if (d.properties) leaves(d.properties as Obj, path, out);
        else out.set(path, String(d.type));
      }
      return out;
    };
    const baseFields = leaves(((templateJson('base.json').template as Obj).mappings as Obj).properties as Obj);
    const familyFields = leaves(templateJson('guardduty.json').properties as Obj);
    // the family file adds its own fields under aws.guardduty, never repeats base ones
    for (const f of familyFields.keys()) {
      expect(f.startsWith('aws.guardduty.'), f).toBe(true);
      expect(baseFields.has(f), f).toBe(false);
    }
    const types = new Map([...baseFields, ...familyFields]);

    const fits = (type: string, v: unknown): boolean => {
      switch (type) {
        case 'keyword':
        case 'text':
          return typeof v === 'string';
        case 'long':
          return Number.isInteger(v);
        case 'float':
          return typeof v === 'number';
        case 'boolean':
          return typeof v === 'boolean';
        case 'date':
          return typeof v === 'string' && !Number.isNaN(Date.parse(v));
        case 'ip':
          return typeof v === 'string' && isIP(v) !== 0;
        case 'geo_point':
          return typeof v === 'object' && v !== null && typeof (v as Obj).lat === 'number' && typeof (v as Obj).lon === 'number';
        case 'flat_object':
          return typeof v === 'object' && v !== null && !Array.isArray(v);
        default:
          return false;
      }
    };
    const check = (v: unknown, path: string, name: string): void => {
      const type = types.get(path);
      if (type !== undefined) {
        for (const item of Array.isArray(v) ? v : [v]) expect(fits(type, item), `${name}: ${path} (${type}) = ${JSON.stringify(item)}`).toBe(true);
        return;
      }
      expect(typeof v === 'object' && v !== null && !Array.isArray(v), `${name}: ${path} is not mapped`).toBe(true);
      for (const [k, inner] of Object.entries(v as Obj)) check(inner, path ? `${path}.${k}` : k, name);
    };
    for (const { name, document } of allDocuments()) check(document, '', name);
  });
});
