/**
 * AWS CloudTrail events to ECS.
 *
 * The input is one CloudTrail event object, as CloudTrail writes it to CloudWatch Logs (or the
 * `detail` of an EventBridge "AWS API Call via CloudTrail" event, unwrapped by the caller).
 * Every CloudTrail event type is handled: AwsApiCall, AwsServiceEvent, AwsConsoleSignIn,
 * AwsCloudTrailInsight (whose eventName/eventSource live in `insightDetails`) and AwsVpceEvent.
 *
 * What goes where:
 * - ECS: `event.{action,provider,id,kind,outcome,category,type}`, `user.{name,id,email,roles,target.name}`,
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
import { classify, IAM_SOURCES } from './cloudtrail/classify.ts';
import { flat } from './cloudtrail/flat.ts';
import { HIDDEN, identity } from './cloudtrail/user-identity.ts';
import { ParseError, prune, type EcsDocument, type ParseContext, type ParsedEvent } from './types.ts';
import { bool, isIpAddress, obj, parseTime, str, type Obj } from './values.ts';

export { FLAT_VALUE_MAX_CHARS } from './cloudtrail/flat.ts';

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

/** ECS `tls.*` of CloudTrail's tlsDetails (`TLSv1.3` -> version 1.3, protocol tls), as Elastic's AWS integration fills them. */
function ecsTls(tls: Obj): EcsDocument {
  const v = str(tls.tlsVersion);
  const versioned = v !== undefined && v.startsWith('TLSv');
  return {
    version: versioned ? v.slice(4) : undefined,
    version_protocol: versioned ? 'tls' : undefined,
    cipher: str(tls.cipherSuite),
    client: { server_name: str(tls.clientProvidedHostHeader) },
  };
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
  // An Insight record reports an analysis CloudTrail completed, so it succeeded unless it says otherwise
  // (as in Elastic's AWS integration); the unusual API activity it describes is in insight_details.
  const outcome = errorCode || errorMessage || signIn === 'Failure' ? 'failure' : 'success';

  // who
  const who = identity(record.userIdentity, additionalEventData);
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
    tls: tls ? ecsTls(tls) : undefined,
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
        // additional_eventdata.* as Elastic's AWS integration names them, so its searches work here.
        console_login:
          eventName === 'ConsoleLogin'
            ? {
                result: signIn,
                additional_eventdata: extra
                  ? { mfa_used: bool(extra.MFAUsed), mobile_version: bool(extra.MobileVersion), login_to: str(extra.LoginTo) }
                  : undefined,
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
