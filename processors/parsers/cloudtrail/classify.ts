/** ECS `event.category` / `event.type` of a CloudTrail event, from its service and API name. */
import { obj, str } from '../values.ts';

/** What an API call does, from the first word of its name. */
type Verb = 'create' | 'delete' | 'change' | 'read' | 'other';

const VERBS: ReadonlyMap<string, Verb> = new Map<string, Verb>([
  ...['Create', 'Allocate', 'Import', 'Copy', 'Provision', 'Launch', 'Upload', 'Clone', 'Issue'].map(
    (w) => [w, 'create'] as const,
  ),
  ...['Delete', 'Destroy', 'Purge', 'Release', 'Deprovision', 'Terminate'].map((w) => [w, 'delete'] as const),
  ...[
    'Put', 'Update', 'Modify', 'Set', 'Attach', 'Detach', 'Add', 'Remove', 'Enable', 'Disable', 'Tag', 'Untag',
    'Associate', 'Disassociate', 'Change', 'Replace', 'Reset', 'Register', 'Deregister', 'Authorize', 'Revoke',
    'Apply', 'Assign', 'Unassign', 'Accept', 'Reject', 'Restore', 'Rotate', 'Start', 'Stop', 'Reboot', 'Resume',
    'Suspend', 'Cancel', 'Upgrade', 'Rename', 'Move', 'Link', 'Unlink', 'Edit', 'Configure', 'Activate',
    'Deactivate', 'Share', 'Unshare', 'Schedule', 'Leave', 'Enroll', 'Promote', 'Lock', 'Unlock', 'Subscribe',
    'Unsubscribe', 'Grant', 'Retire', 'Invite', 'Decline', 'Merge', 'Failover', 'Renew', 'Resync', 'Write',
  ].map((w) => [w, 'change'] as const),
  ...[
    'Get', 'Describe', 'List', 'Lookup', 'Head', 'Search', 'Scan', 'Query', 'Select', 'Check', 'Simulate', 'View',
    'Preview', 'Estimate', 'Validate', 'Test', 'Verify', 'Download', 'Discover', 'Export', 'Filter', 'Read',
  ].map((w) => [w, 'read'] as const),
]);

const FIRST_WORD = /^[A-Z][a-z]+/;

/**
 * The verb of an API name (`BatchGetSecretValue` reads, `AddPermission20150331v2` changes). `readOnly`
 * is not used: CloudTrail marks KMS Decrypt or Bedrock InvokeModel read-only, which reads no configuration.
 */
function verbOf(eventName: string): Verb {
  let word = FIRST_WORD.exec(eventName)?.[0];
  if (word === 'Batch' || word === 'Transact') word = FIRST_WORD.exec(eventName.slice(word.length))?.[0];
  return (word && VERBS.get(word)) || 'other';
}

export interface Classification {
  category: string[];
  type: string[];
}

const none: Classification = { category: [], type: [] };
const insight: Classification = { category: [], type: ['info'] };
const cls = (category: string[], type: string[]): Classification => ({ category, type });

/** ECS type of a verb in categories that allow creation/deletion (configuration, file). */
const CHANGE_TYPE: Readonly<Record<Verb, string>> = {
  create: 'creation',
  delete: 'deletion',
  change: 'change',
  read: 'access',
  other: 'info',
};

/** ECS type of a verb in the iam category (no `access` there). */
const IAM_TYPE: Readonly<Record<Verb, string>> = { ...CHANGE_TYPE, read: 'info' };

/**
 * Sign-in and token events: authentication start/end. Elastic's AWS integration types them `info`;
 * ECS lists start/end for authentication, which say more (a session begins or ends), so they stay.
 */
const AUTH_START = new Set([
  'ConsoleLogin', 'SwitchRole', 'UserAuthentication', 'Federate', 'Authenticate', 'CreateToken', 'GetRoleCredentials',
  'StartDeviceAuthorization', 'InitiateAuth', 'AdminInitiateAuth', 'RespondToAuthChallenge',
  'AdminRespondToAuthChallenge',
]);
const AUTH_END = new Set(['ConsoleLogout', 'Logout', 'ExitRole', 'GlobalSignOut', 'AdminUserGlobalSignOut', 'RevokeToken']);
/** STS calls that hand out credentials: a new session. */
const STS_SESSION = new Set([
  'AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity', 'AssumeRoot', 'GetSessionToken',
  'GetFederationToken',
]);
/** Identity Center (SSO) sources: sign-in events are authentication, the rest administers identities. */
const SSO_SOURCES = new Set([
  'sso.amazonaws.com', 'sso-oauth.amazonaws.com', 'portal.sso.amazonaws.com', 'sso-directory.amazonaws.com',
  'identitystore.amazonaws.com',
]);
/** Services whose calls administer identities and permissions. */
export const IAM_SOURCES = new Set([
  'iam.amazonaws.com', 'identitystore.amazonaws.com', 'sso-directory.amazonaws.com', 'rolesanywhere.amazonaws.com',
]);
const IAM_USER_OBJECT = /User|LoginProfile|AccessKey|MFADevice|SSHPublicKey|ServiceSpecificCredential|SigningCertificate/;

/** S3 object-level (data event) operations and their ECS file type. */
const S3_OBJECT_TYPE: ReadonlyMap<string, string> = new Map([
  ...['PutObject', 'CopyObject', 'CreateMultipartUpload', 'UploadPart', 'UploadPartCopy', 'CompleteMultipartUpload', 'PostObject'].map(
    (n) => [n, 'creation'] as const,
  ),
  ...['DeleteObject', 'DeleteObjects'].map((n) => [n, 'deletion'] as const),
  ...[
    'PutObjectAcl', 'PutObjectTagging', 'DeleteObjectTagging', 'PutObjectRetention', 'PutObjectLegalHold',
    'RestoreObject', 'AbortMultipartUpload', 'WriteGetObjectResponse',
  ].map((n) => [n, 'change'] as const),
  ...[
    'GetObject', 'HeadObject', 'GetObjectAcl', 'GetObjectTagging', 'GetObjectAttributes', 'GetObjectRetention',
    'GetObjectLegalHold', 'GetObjectTorrent', 'SelectObjectContent',
  ].map((n) => [n, 'access'] as const),
  ...['ListObjects', 'ListObjectsV2', 'ListObjectVersions', 'ListParts', 'ListMultipartUploads'].map((n) => [n, 'info'] as const),
]);

const DATABASE_SOURCES = new Set([
  'rds.amazonaws.com', 'rds-data.amazonaws.com', 'dynamodb.amazonaws.com', 'redshift.amazonaws.com',
  'redshift-data.amazonaws.com', 'redshift-serverless.amazonaws.com', 'elasticache.amazonaws.com',
  'docdb-elastic.amazonaws.com', 'neptune-graph.amazonaws.com', 'dax.amazonaws.com', 'timestream.amazonaws.com',
  'cassandra.amazonaws.com', 'memorydb.amazonaws.com', 'qldb.amazonaws.com', 'dsql.amazonaws.com',
]);
/** Table/statement-level (data plane) database calls. */
const DB_DATA_ACCESS = new Set([
  'GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems', 'GetRecords', 'GetShardIterator',
  'ExecuteStatement', 'BatchExecuteStatement', 'ExecuteSql', 'GetStatementResult', 'Select',
]);
const DB_DATA_CHANGE = new Set([
  'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems', 'ExecuteTransaction',
]);

const NETWORK_SOURCES = new Set([
  'elasticloadbalancing.amazonaws.com', 'route53.amazonaws.com', 'route53resolver.amazonaws.com',
  'cloudfront.amazonaws.com', 'network-firewall.amazonaws.com', 'directconnect.amazonaws.com',
  'globalaccelerator.amazonaws.com', 'networkmanager.amazonaws.com', 'vpc-lattice.amazonaws.com',
  'ec2-instance-connect-endpoint.amazonaws.com',
]);
/** EC2 calls on network resources (VPCs, subnets, security groups, gateways, routes, flow logs...). */
const EC2_NETWORK =
  /SecurityGroup|Vpc|Subnet|Route|NetworkAcl|InternetGateway|NatGateway|NetworkInterface|TransitGateway|VpnConnection|VpnGateway|CustomerGateway|DhcpOptions|Address|PrefixList|TrafficMirror|CarrierGateway|LocalGateway|FlowLogs|NetworkInsights|IpamPool|Ipam/;
/** EC2 instance lifecycle. */
const EC2_HOST: ReadonlyMap<string, Classification> = new Map([
  ['RunInstances', cls(['host'], ['start'])],
  ['StartInstances', cls(['host'], ['start'])],
  ['StopInstances', cls(['host'], ['end'])],
  ['TerminateInstances', cls(['host'], ['end'])],
  ['RebootInstances', cls(['host'], ['change'])],
  ['GetPasswordData', cls(['host'], ['access'])],
  ['GetConsoleOutput', cls(['host'], ['access'])],
  ['GetConsoleScreenshot', cls(['host'], ['access'])],
]);
/** Systems Manager: remote commands and sessions on instances. */
const SSM_EVENTS: ReadonlyMap<string, Classification> = new Map([
  ['SendCommand', cls(['process'], ['start'])],
  ['CancelCommand', cls(['process'], ['end'])],
  ['GetCommandInvocation', cls(['process'], ['info'])],
  ['ListCommandInvocations', cls(['process'], ['info'])],
  ['StartSession', cls(['session'], ['start'])],
  ['ResumeSession', cls(['session'], ['start'])],
  ['TerminateSession', cls(['session'], ['end'])],
  ['DescribeInstanceInformation', cls(['host'], ['info'])],
]);

/**
 * ECS `event.category` and `event.type` of a CloudTrail event, by rules tried in order:
 * 1. Insight events: no category, type info (they describe API call rates, not an action). Network activity events
 *    (AwsVpceEvent, calls through a VPC endpoint): network access, `denied` when refused.
 * 2. Sign-in (signin, Identity Center, Cognito user pools) and STS credential calls: authentication.
 * 3. IAM, Identity Store, IAM Roles Anywhere: iam, with `user`/`group`/`admin` where the object says so.
 * 4. S3 object-level calls: file (creation/deletion/change/access/info).
 * 5. Database services: database; table/statement calls as access/change, control-plane changes
 *    also as configuration.
 * 6. Network services and EC2 network resources: network; changes also as configuration.
 * 7. EC2 instance lifecycle and access (host), Systems Manager commands (process) and sessions (session),
 *    EC2 Instance Connect key pushes (host access).
 * 8. Any other management event that creates, deletes, changes or reads something: configuration
 *    (CloudTrail StopLogging/DeleteTrail, Config, GuardDuty, KMS, Lambda, S3 bucket settings...).
 * Data events and calls of no clear kind (e.g. KMS Decrypt, Lambda Invoke) get no category.
 */
export function classify(
  eventName: string,
  eventSource: string,
  eventType: string | undefined,
  eventCategory: string | undefined,
  management: boolean,
  failed: boolean,
  requestParameters: unknown,
): Classification {
  if (eventType === 'AwsCloudTrailInsight') return insight;
  if (eventType === 'AwsVpceEvent' || eventCategory === 'NetworkActivity') {
    return cls(['network'], failed ? ['access', 'denied'] : ['access']);
  }
  const verb = verbOf(eventName);

  // 2. authentication
  if (eventSource === 'signin.amazonaws.com' || eventType === 'AwsConsoleSignIn') {
    if (eventName === 'PasswordUpdated' || eventName === 'PasswordRecoveryCompleted') return cls(['iam'], ['user', 'change']);
    if (AUTH_START.has(eventName)) return cls(['authentication'], ['start']);
    if (AUTH_END.has(eventName)) return cls(['authentication'], ['end']);
    return cls(['authentication'], ['info']);
  }
  if (eventSource === 'sts.amazonaws.com') {
    if (STS_SESSION.has(eventName)) return cls(['authentication', 'session'], ['start']);
    return cls(['iam'], ['info']);
  }
  if (SSO_SOURCES.has(eventSource) || eventSource === 'cognito-idp.amazonaws.com') {
    if (AUTH_START.has(eventName)) return cls(['authentication'], ['start']);
    if (AUTH_END.has(eventName)) return cls(['authentication'], ['end']);
  }

  // 3. iam
  if (IAM_SOURCES.has(eventSource) || eventSource === 'sso.amazonaws.com') {
    const types = [IAM_TYPE[verb]];
    if (eventName.includes('Group')) types.push('group');
    else if (IAM_USER_OBJECT.test(eventName)) types.push('user');
    const policyArn = str(obj(requestParameters)?.policyArn);
    if (policyArn?.endsWith(':policy/AdministratorAccess')) types.push('admin');
    return cls(['iam'], types);
  }

  // 4. file
  if (eventSource === 's3.amazonaws.com') {
    const t = S3_OBJECT_TYPE.get(eventName);
    if (t) return cls(['file'], [t]);
  }

  // 5. database
  if (DATABASE_SOURCES.has(eventSource)) {
    if (DB_DATA_ACCESS.has(eventName)) return cls(['database'], ['access']);
    if (DB_DATA_CHANGE.has(eventName)) return cls(['database'], ['change']);
    if (verb === 'read') return cls(['database'], ['info']);
    if (verb === 'other') return cls(['database'], ['info']);
    return cls(['database', 'configuration'], [CHANGE_TYPE[verb]]);
  }

  // 6. network
  if (NETWORK_SOURCES.has(eventSource) || (eventSource === 'ec2.amazonaws.com' && EC2_NETWORK.test(eventName))) {
    if (verb === 'read' || verb === 'other') return cls(['network'], ['info']);
    return cls(['network', 'configuration'], [CHANGE_TYPE[verb]]);
  }

  // 7. host, process, session
  if (eventSource === 'ec2.amazonaws.com') {
    const c = EC2_HOST.get(eventName);
    if (c) return c;
    if (eventName.includes('Instance')) {
      if (verb === 'read') return cls(['host'], ['info']);
      if (verb === 'change') return cls(['host'], ['change']);
    }
  }
  if (eventSource === 'ssm.amazonaws.com') {
    const c = SSM_EVENTS.get(eventName);
    if (c) return c;
  }
  if (eventSource === 'ec2-instance-connect.amazonaws.com') return cls(['host'], ['access']);

  // 8. configuration
  if (management && verb !== 'other') return cls(['configuration'], [CHANGE_TYPE[verb]]);
  return none;
}
