/**
 * AWS CloudTrail events to ECS.
 *
 * The input is one CloudTrail event object, as CloudTrail writes it to CloudWatch Logs (or the
 * `detail` of an EventBridge "AWS API Call via CloudTrail" event, unwrapped by the caller).
 * Every CloudTrail event type is handled: AwsApiCall, AwsServiceEvent, AwsConsoleSignIn,
 * AwsCloudTrailInsight (whose eventName/eventSource live in `insightDetails`) and AwsVpceEvent.
 *
 * What goes where:
 * - ECS: `event.{action,provider,id,kind,outcome,category,type}`, `user.{name,id,roles,target.name}`,
 *   `source.{address,ip,domain}`, `user_agent.original`, `cloud.{account.id,region}`,
 *   `error.{code,message}`, `related.{user,ip}`. `@timestamp` comes from `eventTime` (returned as
 *   `ParsedEvent.timestamp`; the caller writes it).
 * - `aws.cloudtrail.*`: the CloudTrail fields that ECS has no place for, with explicit mappings in
 *   infra/opensearch/templates/cloudtrail.json. The volatile objects (`request_parameters`,
 *   `response_elements`, `additional_eventdata`, `service_event_details`, `insight_details`,
 *   `addendum`) are kept whole and mapped as `flat_object`, so no event can add fields to the
 *   index or conflict with another event's types. A value that is not an object there (a string
 *   or an array, which happens) is wrapped as `{value: ...}` for the same reason.
 *
 * Absent values are left out (prune() of ./types.ts).
 * Values that OpenSearch would reject are never emitted: `source.ip`/`related.ip` only hold
 * addresses that validate as IPv4/IPv6 (CloudTrail writes service names, "AWS Internal" and, in
 * anonymised data, things like `225.01.00.16` there), booleans and dates only from what ./values.ts
 * reads as such, and a string leaf inside a flat_object longer than FLAT_VALUE_MAX_CHARS is
 * shortened so that it stays under Lucene's term size limit.
 *
 * Only an unusable record throws (ParseError, so the event is indexed as generic, tagged):
 * `eventTime` missing or not a timestamp, `eventName`/`eventSource` missing or not strings.
 */
import { ParseError, prune, type EcsDocument, type ParseContext, type ParsedEvent } from './types.ts';
import { bool, isIpAddress, obj, parseTime, str, type Obj } from './values.ts';

// ---------------------------------------------------------------------------------------------
// Time

/**
 * The event's own time. `eventTime` is required; a Logstash/Beats-style `@timestamp` is accepted in its
 * place only when `eventTime` is absent (exports of CloudTrail data move it there).
 */
function eventTime(record: Obj): Date {
  const raw = record.eventTime ?? record['@timestamp'];
  if (raw === undefined || raw === null) throw new ParseError('cloudtrail', 'eventTime missing');
  if (typeof raw !== 'string') throw new ParseError('cloudtrail', `eventTime is not a string (${typeof raw})`);
  const t = parseTime(raw);
  if (!t) throw new ParseError('cloudtrail', `eventTime invalid: ${JSON.stringify(raw.slice(0, 64))}`);
  return t;
}

/** eventName / eventSource; an Insight event carries them in `insightDetails` instead. */
function requiredName(record: Obj, key: 'eventName' | 'eventSource', insight: Obj | undefined): string {
  const v = record[key];
  if (typeof v === 'string' && v !== '') return v;
  if (v === undefined || v === null) {
    const fromInsight = insight ? str(insight[key]) : undefined;
    if (fromInsight) return fromInsight;
    throw new ParseError('cloudtrail', `${key} missing`);
  }
  throw new ParseError('cloudtrail', `${key} is not a non-empty string (${typeof v})`);
}

/** A DNS-like name (service principals such as `ec2.amazonaws.com`), never a dotted-number string. */
const DOMAIN_RE = /^(?=.{1,253}$)(?!\d+(\.\d+)*$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

// ---------------------------------------------------------------------------------------------
// Flat objects

/**
 * A flat_object indexes each leaf value as one keyword term, and Lucene rejects a term over 32,766
 * UTF-8 bytes (the whole document fails). A UTF-16 code unit is at most 3 bytes, so 8,000 code units
 * plus the path stay well below the limit. Longer values keep their first 8,000 code units and a
 * marker; the complete event is in the S3 archive.
 */
export const FLAT_VALUE_MAX_CHARS = 8000;

/** Nesting below which values are neither checked nor shortened (bounds the recursion on hostile input). */
const MAX_WALK_DEPTH = 64;

function hasLongString(v: unknown, depth: number): boolean {
  if (typeof v === 'string') return v.length > FLAT_VALUE_MAX_CHARS;
  if (depth > MAX_WALK_DEPTH || typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (hasLongString(x, depth + 1)) return true;
    return false;
  }
  for (const k in v) if (hasLongString((v as Obj)[k], depth + 1)) return true;
  return false;
}

function shortenLongStrings(v: unknown, depth: number): unknown {
  if (typeof v === 'string') {
    return v.length > FLAT_VALUE_MAX_CHARS
      ? `${v.slice(0, FLAT_VALUE_MAX_CHARS)}…[truncated ${v.length - FLAT_VALUE_MAX_CHARS} chars]`
      : v;
  }
  if (depth > MAX_WALK_DEPTH || typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map((x) => shortenLongStrings(x, depth + 1));
  const out: Obj = {};
  for (const k in v) out[k] = shortenLongStrings((v as Obj)[k], depth + 1);
  return out;
}

/**
 * A volatile CloudTrail value ready for a flat_object field: objects whole, anything else wrapped as
 * `{value}` (a flat_object field only takes objects); absent, null, '' , [] and {} give undefined.
 */
function flat(v: unknown): EcsDocument | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  let o = obj(v);
  if (o) {
    let empty = true;
    for (const _ in o) {
      empty = false;
      break;
    }
    if (empty) return undefined;
  } else {
    if (Array.isArray(v) && v.length === 0) return undefined;
    o = { value: v };
  }
  return hasLongString(o, 0) ? (shortenLongStrings(o, 0) as EcsDocument) : o;
}

// ---------------------------------------------------------------------------------------------
// userIdentity

/** Values CloudTrail puts where it hides a name; not worth pivoting on in related.user. */
const HIDDEN = 'HIDDEN_DUE_TO_SECURITY_REASONS';

interface Identity {
  /** ECS `user`. */
  user: EcsDocument;
  /** `aws.cloudtrail.user_identity`. */
  detail: EcsDocument;
  accountId: string | undefined;
  /** Names for related.user, in order. */
  names: string[];
}

/** The last `/`-separated part of an ARN's resource (`user/path/Alice` -> `Alice`). */
function arnLastSegment(arn: string | undefined): string | undefined {
  if (!arn) return undefined;
  const i = arn.lastIndexOf('/');
  return i >= 0 && i < arn.length - 1 ? arn.slice(i + 1) : undefined;
}

/** `arn:aws:sts::1:assumed-role/Role/Session` -> {role: 'Role', session: 'Session'}. */
function assumedRoleArn(arn: string | undefined): { role?: string; session?: string } {
  if (!arn) return {};
  const i = arn.indexOf(':assumed-role/');
  if (i < 0) return {};
  const rest = arn.slice(i + ':assumed-role/'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return { role: rest || undefined };
  return { role: rest.slice(0, slash) || undefined, session: rest.slice(slash + 1) || undefined };
}

/** The part after the first `:` of a principalId (`AROA...:session-name` -> `session-name`). */
function principalSuffix(principalId: string | undefined): string | undefined {
  if (!principalId) return undefined;
  const i = principalId.indexOf(':');
  return i >= 0 && i < principalId.length - 1 ? principalId.slice(i + 1) : undefined;
}

function identity(input: unknown): Identity | undefined {
  const raw = obj(input);
  if (!raw) return undefined;
  const type = str(raw.type);
  const arn = str(raw.arn);
  const principalId = str(raw.principalId);
  const accountId = str(raw.accountId);
  const userName = str(raw.userName);
  const invokedBy = str(raw.invokedBy);

  const sc = obj(raw.sessionContext);
  const issuer = obj(sc?.sessionIssuer);
  const attributes = obj(sc?.attributes);
  const webId = obj(sc?.webIdFederationData);
  const issuerName = issuer ? str(issuer.userName) : undefined;
  const issuerType = issuer ? str(issuer.type) : undefined;
  const onBehalfOf = obj(raw.onBehalfOf);
  const creation = parseTime(attributes?.creationDate);

  let name: string | undefined;
  let id: string | undefined = principalId;
  let roles: string[] | undefined;
  switch (type) {
    case 'IAMUser':
      name = userName ?? arnLastSegment(arn);
      break;
    case 'AssumedRole': {
      const parsed = assumedRoleArn(arn);
      name = parsed.session ?? principalSuffix(principalId) ?? userName ?? arnLastSegment(arn);
      const role = (issuerType === undefined || issuerType === 'Role' ? issuerName : undefined) ?? parsed.role;
      if (role) roles = [role];
      break;
    }
    case 'Root':
      name = 'root';
      id = principalId ?? accountId;
      break;
    case 'FederatedUser':
      name = (arn && arn.includes(':federated-user/') ? arnLastSegment(arn) : undefined) ?? principalSuffix(principalId) ?? userName;
      break;
    case 'AWSService':
      name = invokedBy;
      break;
    case 'IdentityCenterUser':
      id = str(onBehalfOf?.userId) ?? str(raw.userId) ?? principalId;
      name = userName ?? arnLastSegment(arn);
      break;
    case 'AWSAccount':
      name = userName ?? principalSuffix(principalId);
      break;
    case 'Unknown':
    case 'SAMLUser':
    case 'WebIdentityUser':
      name = userName;
      break;
    default:
      // No type: service events ({accountId, invokedBy}); anything else: whatever names itself.
      name = userName ?? invokedBy ?? arnLastSegment(arn);
      break;
  }

  const names: string[] = [];
  if (name) names.push(name);
  if (issuerName) names.push(issuerName);

  return {
    user: { name, id, roles },
    accountId,
    names,
    detail: {
      type,
      arn,
      account_id: accountId,
      access_key_id: str(raw.accessKeyId),
      principal_id: principalId,
      invoked_by: invokedBy,
      user_name: userName,
      identity_provider: str(raw.identityProvider),
      credential_id: str(raw.credentialId),
      identity_store_arn: str(raw.identityStoreArn) ?? str(onBehalfOf?.identityStoreArn),
      on_behalf_of: onBehalfOf
        ? { user_id: str(onBehalfOf.userId), identity_store_arn: str(onBehalfOf.identityStoreArn) }
        : undefined,
      session_context: sc
        ? {
            mfa_authenticated: attributes ? bool(attributes.mfaAuthenticated) : undefined,
            creation_date: creation?.toISOString(),
            source_identity: str(sc.sourceIdentity),
            ec2_role_delivery: str(sc.ec2RoleDelivery),
            session_issuer: issuer
              ? {
                  type: issuerType,
                  principal_id: str(issuer.principalId),
                  arn: str(issuer.arn),
                  account_id: str(issuer.accountId),
                  user_name: issuerName,
                }
              : undefined,
            web_id_federation_data: webId ? { federated_provider: str(webId.federatedProvider) } : undefined,
          }
        : undefined,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// event.category / event.type

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

interface Classification {
  category: string[];
  type: string[];
}

const none: Classification = { category: [], type: [] };
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

/** Sign-in and token events: authentication start/end. */
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
const IAM_SOURCES = new Set([
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
 * 1. Insight events: none (they describe API call rates, not an action). Network activity events
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
function classify(
  eventName: string,
  eventSource: string,
  eventType: string | undefined,
  eventCategory: string | undefined,
  management: boolean,
  failed: boolean,
  requestParameters: unknown,
): Classification {
  if (eventType === 'AwsCloudTrailInsight') return none;
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

// ---------------------------------------------------------------------------------------------
// The parser

/** `resources[]` entries, keyed consistently (CloudTrail writes both `ARN` and `arn`). */
function resources(v: unknown): EcsDocument[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: EcsDocument[] = [];
  for (const item of v) {
    const r = obj(item);
    if (!r) continue;
    const doc = prune({
      arn: str(r.ARN) ?? str(r.arn),
      arn_prefix: str(r.ARNPrefix) ?? str(r.arnPrefix),
      type: str(r.type),
      account_id: str(r.accountId),
    });
    if (doc) out.push(doc);
  }
  return out.length > 0 ? out : undefined;
}

/** The result a sign-in event reports for itself (`responseElements.ConsoleLogin`, `...CheckMfa`, ...). */
function signInResult(eventName: string, response: unknown, serviceDetails: unknown): string | undefined {
  const r = obj(response);
  return str(r?.[eventName]) ?? str(r?.ConsoleLogin) ?? str(obj(serviceDetails)?.[eventName]);
}

/**
 * Turns one CloudTrail event into the CloudTrail part of its ECS document.
 * Throws ParseError (never anything else) when the record cannot be used.
 */
export function parseCloudTrailRecord(record: Record<string, unknown>, ctx: ParseContext): ParsedEvent {
  if (!obj(record)) throw new ParseError('cloudtrail', 'record is not an object');
  const timestamp = eventTime(record);
  const insight = obj(record.insightDetails);
  const eventName = requiredName(record, 'eventName', insight);
  const eventSource = requiredName(record, 'eventSource', insight);

  const eventType = str(record.eventType);
  const eventCategory = str(record.eventCategory);
  const managementEvent = bool(record.managementEvent);
  const readOnly = bool(record.readOnly);
  const errorCode = str(record.errorCode);
  const errorMessage = str(record.errorMessage);
  const requestParameters = record.requestParameters;
  const responseElements = record.responseElements;
  const additionalEventData = record.additionalEventData;
  const serviceEventDetails = record.serviceEventDetails;

  // outcome
  const isSignIn = eventType === 'AwsConsoleSignIn' || eventSource === 'signin.amazonaws.com';
  const signIn = isSignIn || eventType === 'AwsServiceEvent' ? signInResult(eventName, responseElements, serviceEventDetails) : undefined;
  let outcome: string;
  if (errorCode || errorMessage || signIn === 'Failure') outcome = 'failure';
  else if (eventType === 'AwsCloudTrailInsight') outcome = 'unknown';
  else outcome = 'success';

  // who
  const who = identity(record.userIdentity);
  const relatedUsers = new Set<string>();
  for (const n of who?.names ?? []) if (n !== HIDDEN) relatedUsers.add(n);
  let targetUser: string | undefined;
  const params = obj(requestParameters);
  if (IAM_SOURCES.has(eventSource) && params) {
    targetUser = str(params.userName);
    const roleName = str(params.roleName);
    if (targetUser && targetUser !== HIDDEN) relatedUsers.add(targetUser);
    if (roleName) relatedUsers.add(roleName);
  }

  // where from
  const sourceAddress = str(record.sourceIPAddress) ?? (who?.detail.type === 'AWSService' ? str(who.detail.invoked_by) : undefined);
  let sourceIp: string | undefined;
  let sourceDomain: string | undefined;
  if (sourceAddress) {
    if (isIpAddress(sourceAddress)) sourceIp = sourceAddress;
    else if (DOMAIN_RE.test(sourceAddress)) sourceDomain = sourceAddress;
  }

  const management = managementEvent ?? (eventCategory === undefined ? true : eventCategory === 'Management');
  const { category, type } = classify(
    eventName,
    eventSource,
    eventType,
    eventCategory,
    management,
    outcome === 'failure',
    requestParameters,
  );

  const tls = obj(record.tlsDetails);
  const extra = obj(additionalEventData);

  const document: EcsDocument =
    prune({
    event: {
      kind: 'event',
      action: eventName,
      provider: eventSource,
      id: str(record.eventID),
      outcome,
      category,
      type,
    },
    cloud: {
      account: { id: str(record.recipientAccountId) ?? who?.accountId ?? ctx.owner },
      region: str(record.awsRegion),
    },
    user: who ? { ...who.user, target: { name: targetUser } } : undefined,
    source: { address: sourceAddress, ip: sourceIp, domain: sourceDomain },
    user_agent: { original: str(record.userAgent) },
    error: { code: errorCode, message: errorMessage },
    related: {
      user: relatedUsers.size > 0 ? [...relatedUsers] : undefined,
      ip: sourceIp ? [sourceIp] : undefined,
    },
    aws: {
      cloudtrail: {
        event_version: str(record.eventVersion),
        event_type: eventType,
        event_category: eventCategory,
        management_event: managementEvent,
        read_only: readOnly,
        api_version: str(record.apiVersion),
        request_id: str(record.requestID),
        shared_event_id: str(record.sharedEventID),
        recipient_account_id: str(record.recipientAccountId),
        vpc_endpoint_id: str(record.vpcEndpointId),
        vpc_endpoint_account_id: str(record.vpcEndpointAccountId),
        session_credential_from_console: bool(record.sessionCredentialFromConsole),
        error_code: errorCode,
        error_message: errorMessage,
        console_login:
          eventName === 'ConsoleLogin'
            ? {
                result: signIn,
                mfa_used: extra ? bool(extra.MFAUsed) : undefined,
                mobile_version: extra ? bool(extra.MobileVersion) : undefined,
                login_to: extra ? str(extra.LoginTo) : undefined,
              }
            : undefined,
        tls_details: tls
          ? {
              tls_version: str(tls.tlsVersion),
              cipher_suite: str(tls.cipherSuite),
              client_provided_host_header: str(tls.clientProvidedHostHeader),
            }
          : undefined,
        resources: resources(record.resources),
        user_identity: who?.detail,
      },
    },
  }) ?? {};

  // The volatile objects go in after prune(): they are kept exactly as CloudTrail wrote them.
  const volatile: [string, EcsDocument | undefined][] = [
    ['request_parameters', flat(requestParameters)],
    ['response_elements', flat(responseElements)],
    ['additional_eventdata', flat(additionalEventData)],
    ['service_event_details', flat(serviceEventDetails)],
    ['insight_details', flat(record.insightDetails)],
    ['addendum', flat(record.addendum)],
  ];
  let aws = document.aws as EcsDocument | undefined;
  for (const [key, value] of volatile) {
    if (value === undefined) continue;
    if (!aws) aws = document.aws = {};
    const ct = (aws.cloudtrail ??= {}) as EcsDocument;
    ct[key] = value;
  }

  return { timestamp, document };
}
