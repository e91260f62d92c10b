/**
 * GuardDuty findings -> ECS documents.
 *
 * A finding arrives bare (`{schemaVersion, id, type, severity, ...}`) or as the `detail` of an
 * EventBridge "GuardDuty Finding" event, whose envelope is then passed along for fallbacks
 * (account, region, time). GuardDuty republishes a finding under the same id each time it is
 * updated, so each update becomes its own document: id parts are the finding id and its
 * `updatedAt` exactly as given.
 *
 * ECS fields where ECS has them (event.*, rule.*, source/destination/network, dns, user,
 * user_agent, host.ip, cloud.*, orchestrator.*, container.*, threat.*, related.*); everything
 * else under `aws.guardduty.*`, with the volatile sub-objects (resource details, additionalInfo,
 * evidence, action details, attack sequence detection, runtime details) kept whole as
 * `flat_object`. Only syntactically valid IP addresses reach `ip` fields; placeholders such as
 * the `GeneratedFinding*` values of sample findings stay under `aws.guardduty.*`.
 */
import { compact, ParseError, type EcsDocument, type ParseContext, type ParsedEvent } from './types.ts';
import { bool, int, ip, num, obj, parseTime, str, type Obj } from './values.ts';

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function unique<T>(values: Iterable<T | undefined>): T[] {
  const out: T[] = [];
  for (const v of values) if (v !== undefined && !out.includes(v)) out.push(v);
  return out;
}

function isoTime(value: unknown): string | undefined {
  return parseTime(value)?.toISOString();
}

// ---------------------------------------------------------------------------------------------
// Severity, type, categories, tactics

/** GuardDuty's severity bands: Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0. */
export function severityLabel(severity: number): 'Low' | 'Medium' | 'High' | 'Critical' {
  if (severity < 4) return 'Low';
  if (severity < 7) return 'Medium';
  if (severity < 9) return 'High';
  return 'Critical';
}

/** `ThreatPurpose:ResourceTypeAffected/ThreatFamilyName.DetectionMechanism!Artifact`. */
function splitType(type: string | undefined): { purpose?: string; family?: string; name?: string } {
  if (!type) return {};
  const colon = type.indexOf(':');
  const purpose = colon > 0 ? type.slice(0, colon) : undefined;
  const rest = colon >= 0 ? type.slice(colon + 1) : type;
  const slash = rest.indexOf('/');
  const family = slash > 0 ? rest.slice(0, slash) : undefined;
  const name = slash >= 0 ? rest.slice(slash + 1) : undefined;
  return { purpose, family, name };
}

/** MITRE ATT&CK enterprise tactics by name. */
const ATTACK_TACTICS: Record<string, string> = {
  Reconnaissance: 'TA0043',
  'Resource Development': 'TA0042',
  'Initial Access': 'TA0001',
  Execution: 'TA0002',
  Persistence: 'TA0003',
  'Privilege Escalation': 'TA0004',
  'Defense Evasion': 'TA0005',
  'Credential Access': 'TA0006',
  Discovery: 'TA0007',
  'Lateral Movement': 'TA0008',
  Collection: 'TA0009',
  Exfiltration: 'TA0010',
  'Command and Control': 'TA0011',
  Impact: 'TA0040',
};

/** GuardDuty threat purposes that name an ATT&CK tactic outright. */
const PURPOSE_TACTIC: Record<string, string> = {
  CredentialAccess: 'Credential Access',
  DefenseEvasion: 'Defense Evasion',
  Discovery: 'Discovery',
  Execution: 'Execution',
  Exfiltration: 'Exfiltration',
  Impact: 'Impact',
  InitialAccess: 'Initial Access',
  Persistence: 'Persistence',
  PrivilegeEscalation: 'Privilege Escalation',
  Recon: 'Reconnaissance',
};

const NETWORK_ACTIONS = new Set(['NETWORK_CONNECTION', 'PORT_PROBE', 'DNS_REQUEST']);

/** ECS event.category values (all compatible with event.type `info`). */
function categories(
  purpose: string | undefined,
  family: string | undefined,
  name: string | undefined,
  actionType: string | undefined,
  resourceType: string | undefined,
): string[] {
  const out = new Set<string>(['intrusion_detection']);
  if (actionType && NETWORK_ACTIONS.has(actionType)) out.add('network');
  if (family === 'IAMUser' || family === 'IAM' || resourceType === 'AccessKey') out.add('iam');
  if (actionType === 'RDS_LOGIN_ATTEMPT' || (name && /BruteForce|Login|AnonymousAccess/i.test(name))) out.add('authentication');
  if (purpose === 'Trojan' || (name && /Malware|MaliciousFile/i.test(name))) out.add('malware');
  if (family === 'RDS' || resourceType === 'RDSDBInstance' || resourceType === 'RDSLimitlessDB') out.add('database');
  return [...out];
}

// ---------------------------------------------------------------------------------------------
// The document under construction

interface Endpoint {
  ip?: string;
  port?: number;
  domain?: string;
  geo?: EcsDocument;
  as?: EcsDocument;
}

class Builder {
  readonly ips: string[] = [];
  readonly users: string[] = [];
  source: Endpoint = {};
  destination: Endpoint = {};
  network: EcsDocument = {};

  /** Records a valid IP as related and returns it; invalid strings are dropped here. */
  ip(v: unknown): string | undefined {
    const valid = ip(v);
    if (valid !== undefined && !this.ips.includes(valid)) this.ips.push(valid);
    return valid;
  }

  relatedUser(v: unknown): string | undefined {
    const u = str(v);
    if (u !== undefined && !this.users.includes(u)) this.users.push(u);
    return u;
  }
}

function endpointDoc(e: Endpoint): EcsDocument {
  return { ip: e.ip, port: e.port, domain: e.domain, geo: e.geo, as: e.as };
}

/** A GuardDuty `remoteIpDetails` as an ECS endpoint (ip only when valid), plus the raw address. */
function remoteEndpoint(details: unknown, b: Builder): { endpoint: Endpoint; raw?: string } {
  const d = obj(details);
  if (!d) return { endpoint: {} };
  const raw = str(d.ipAddressV4) ?? str(d.ipAddressV6);
  const ip = b.ip(d.ipAddressV4) ?? b.ip(d.ipAddressV6);
  const org = obj(d.organization);
  const asn = int(org?.asn);
  const geo = obj(d.geoLocation);
  const lat = num(geo?.lat);
  const lon = num(geo?.lon);
  // GuardDuty reports an unknown location as 0,0: leave it out rather than plot Null Island.
  const location =
    lat !== undefined && lon !== undefined && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 && !(lat === 0 && lon === 0)
      ? { lat, lon }
      : undefined;
  return {
    raw,
    endpoint: {
      ip,
      geo: {
        country_name: str(obj(d.country)?.countryName),
        country_iso_code: str(obj(d.country)?.countryCode),
        city_name: str(obj(d.city)?.cityName),
        location,
      },
      as: {
        // -1 / 0 mean "unknown" in GuardDuty (sample findings use both).
        number: asn !== undefined && asn > 0 ? asn : undefined,
        organization: { name: str(org?.asnOrg) ?? str(org?.org) },
      },
    },
  };
}

function localIp(details: unknown, b: Builder): { ip?: string; raw?: string } {
  const d = obj(details);
  if (!d) return {};
  return { raw: str(d.ipAddressV4) ?? str(d.ipAddressV6), ip: b.ip(d.ipAddressV4) ?? b.ip(d.ipAddressV6) };
}

function port(details: unknown): number | undefined {
  const p = int(obj(details)?.port);
  return p !== undefined && p >= 0 && p <= 65535 ? p : undefined;
}

function transport(protocol: unknown): string | undefined {
  const p = str(protocol)?.toLowerCase();
  return p && p !== 'unknown' ? p : undefined;
}

// ---------------------------------------------------------------------------------------------
// Actions

interface ActionResult {
  gd: EcsDocument;
  dns?: EcsDocument;
  userAgent?: string;
  url?: string;
  orchestrator?: EcsDocument;
}

function mapAction(action: Obj, b: Builder): ActionResult {
  const actionType = str(action.actionType);
  const gd: EcsDocument = { type: actionType };
  const result: ActionResult = { gd };

  const nc = obj(action.networkConnectionAction);
  if (nc) {
    const direction = str(nc.connectionDirection)?.toUpperCase();
    const remote = remoteEndpoint(nc.remoteIpDetails, b);
    const local = localIp(nc.localIpDetails, b);
    const remotePort = port(nc.remotePortDetails);
    const localPort = port(nc.localPortDetails);
    if (direction === 'INBOUND') {
      b.source = { ...remote.endpoint, port: remotePort };
      b.destination = { ip: local.ip, port: localPort };
    } else {
      b.destination = { ...remote.endpoint, port: remotePort };
      b.source = { ip: local.ip, port: localPort };
    }
    b.network.direction = direction === 'INBOUND' ? 'ingress' : direction === 'OUTBOUND' ? 'egress' : direction ? 'unknown' : undefined;
    b.network.transport = transport(nc.protocol);
    Object.assign(gd, {
      connection_direction: str(nc.connectionDirection),
      protocol: str(nc.protocol),
      blocked: bool(nc.blocked),
      remote_ip: remote.raw,
      local_ip: local.raw,
      details: nc,
    });
  }

  const pp = obj(action.portProbeAction);
  if (pp) {
    const remoteRaw: string[] = [];
    const localRaw: string[] = [];
    const localPorts: number[] = [];
    let first: Endpoint | undefined;
    let firstAny: Endpoint | undefined;
    let firstLocal: string | undefined;
    for (const item of arr(pp.portProbeDetails)) {
      const detail = obj(item);
      if (!detail) continue;
      const remote = remoteEndpoint(detail.remoteIpDetails, b);
      const local = localIp(detail.localIpDetails, b);
      if (remote.raw !== undefined) remoteRaw.push(remote.raw);
      if (local.raw !== undefined) localRaw.push(local.raw);
      const p = port(detail.localPortDetails);
      if (p !== undefined && !localPorts.includes(p)) localPorts.push(p);
      if (first === undefined && remote.endpoint.ip !== undefined) first = remote.endpoint;
      firstAny ??= remote.endpoint;
      firstLocal ??= local.ip;
    }
    // The first prober with a valid address; else the first one's geo/AS without an ip.
    b.source = first ?? firstAny ?? {};
    b.destination = { ip: firstLocal, port: localPorts[0] };
    b.network.direction = 'ingress';
    Object.assign(gd, {
      blocked: bool(pp.blocked),
      remote_ip: unique(remoteRaw),
      local_ip: unique(localRaw),
      local_ports: localPorts,
      details: pp,
    });
  }

  const dnsAction = obj(action.dnsRequestAction);
  if (dnsAction) {
    const domain = str(dnsAction.domain);
    result.dns = { question: { name: domain } };
    b.network.protocol = 'dns';
    b.network.transport = transport(dnsAction.protocol);
    b.network.direction = 'egress';
    Object.assign(gd, { domain, protocol: str(dnsAction.protocol), blocked: bool(dnsAction.blocked), details: dnsAction });
  }

  const api = obj(action.awsApiCallAction);
  if (api) {
    const remote = remoteEndpoint(api.remoteIpDetails, b);
    const callerDomain = str(obj(api.domainDetails)?.domain);
    b.source = { ...remote.endpoint, domain: callerDomain };
    const remoteAccount = obj(api.remoteAccountDetails);
    result.userAgent = str(api.userAgent);
    Object.assign(gd, {
      api: str(api.api),
      service_name: str(api.serviceName),
      caller_type: str(api.callerType),
      error_code: str(api.errorCode),
      domain: callerDomain,
      remote_ip: remote.raw,
      remote_account_id: str(remoteAccount?.accountId),
      remote_account_affiliated: bool(remoteAccount?.affiliated),
      details: api,
    });
  }

  const k8s = obj(action.kubernetesApiCallAction);
  if (k8s) {
    const remote = remoteEndpoint(k8s.remoteIpDetails, b);
    const sourceIps = [...arr(k8s.sourceIPs), ...arr(k8s.sourceIps)].map((v) => str(v)).filter((v): v is string => v !== undefined);
    const validSources = sourceIps.map((v) => b.ip(v)).filter((v): v is string => v !== undefined);
    b.source = { ...remote.endpoint, ip: remote.endpoint.ip ?? validSources[0] };
    result.userAgent = str(k8s.userAgent);
    result.url = str(k8s.requestUri);
    result.orchestrator = {
      namespace: str(k8s.namespace),
      resource: { name: str(k8s.resourceName), type: str(k8s.resource) },
    };
    Object.assign(gd, {
      request_uri: str(k8s.requestUri),
      verb: str(k8s.verb),
      status_code: int(k8s.statusCode),
      remote_ip: unique([remote.raw, ...sourceIps]),
      details: k8s,
    });
  }

  const rds = obj(action.rdsLoginAttemptAction);
  if (rds) {
    const remote = remoteEndpoint(rds.remoteIpDetails, b);
    b.source = remote.endpoint;
    for (const attr of [...arr(rds.LoginAttributes), ...arr(rds.loginAttributes)]) b.relatedUser(obj(attr)?.user);
    Object.assign(gd, { remote_ip: remote.raw, details: rds });
  }

  return result;
}

// ---------------------------------------------------------------------------------------------
// Resources

interface ResourceResult {
  gd: EcsDocument;
  cloud: EcsDocument;
  hostIps: string[];
  orchestrator: EcsDocument;
  container: EcsDocument;
  /** User names/ids in the order this resource type prefers them. */
  users: { name?: string; id?: string; groups?: string[] }[];
}

function firstContainer(list: unknown): EcsDocument {
  for (const item of arr(list)) {
    const c = obj(item);
    if (!c) continue;
    return { id: str(c.id), name: str(c.name), image: { name: str(c.image) } };
  }
  return {};
}

function mapResource(resource: Obj, b: Builder): ResourceResult {
  const resourceType = str(resource.resourceType);
  const out: ResourceResult = { gd: {}, cloud: {}, hostIps: [], orchestrator: {}, container: {}, users: [] };
  const accessKeyUser: { name?: string; id?: string } = {};
  const k8sUser: { name?: string; id?: string; groups?: string[] } = {};
  const rdsUser: { name?: string } = {};

  const instance = obj(resource.instanceDetails);
  if (instance) {
    out.cloud = { instance: { id: str(instance.instanceId) }, availability_zone: str(instance.availabilityZone) };
    const vpcs: (string | undefined)[] = [];
    const subnets: (string | undefined)[] = [];
    for (const item of arr(instance.networkInterfaces)) {
      const ni = obj(item);
      if (!ni) continue;
      vpcs.push(str(ni.vpcId));
      subnets.push(str(ni.subnetId));
      const addresses: unknown[] = [ni.privateIpAddress, ni.publicIp, ...arr(ni.ipv6Addresses)];
      for (const p of arr(ni.privateIpAddresses)) addresses.push(obj(p)?.privateIpAddress);
      for (const a of addresses) {
        const ip = b.ip(a);
        if (ip !== undefined && !out.hostIps.includes(ip)) out.hostIps.push(ip);
      }
    }
    out.gd.instance = {
      image_id: str(instance.imageId),
      type: str(instance.instanceType),
      state: str(instance.instanceState),
      vpc_id: unique(vpcs),
      subnet_id: unique(subnets),
    };
  }

  const accessKey = obj(resource.accessKeyDetails);
  if (accessKey) {
    accessKeyUser.name = b.relatedUser(accessKey.userName);
    accessKeyUser.id = str(accessKey.principalId);
    out.gd.access_key = { id: str(accessKey.accessKeyId), user_type: str(accessKey.userType) };
  }

  const buckets = arr(resource.s3BucketDetails).map(obj).filter((v): v is Obj => v !== undefined);
  if (buckets.length > 0) {
    out.gd.s3_bucket = {
      name: unique(buckets.map((x) => str(x.name))),
      arn: unique(buckets.map((x) => str(x.arn))),
      type: unique(buckets.map((x) => str(x.type))),
    };
  }

  const eks = obj(resource.eksClusterDetails);
  if (eks) out.orchestrator = { type: 'kubernetes', cluster: { name: str(eks.name) } };
  const k8s = obj(resource.kubernetesDetails);
  if (k8s) {
    const u = obj(k8s.kubernetesUserDetails);
    if (u) {
      k8sUser.name = b.relatedUser(u.username);
      k8sUser.id = str(u.uid);
      const groups = arr(u.groups).map((g) => str(g)).filter((g): g is string => g !== undefined);
      if (groups.length > 0) k8sUser.groups = groups;
    }
    const w = obj(k8s.kubernetesWorkloadDetails);
    if (w) {
      out.orchestrator = {
        type: 'kubernetes',
        ...out.orchestrator,
        namespace: str(w.namespace),
        resource: { name: str(w.name), type: str(w.type) },
      };
      out.container = firstContainer(w.containers);
    }
  }

  const ecs = obj(resource.ecsClusterDetails);
  if (ecs) {
    out.orchestrator = { type: 'ecs', cluster: { name: str(ecs.name) } };
    const task = obj(ecs.taskDetails);
    if (task) out.container = firstContainer(task.containers);
  }

  const container = obj(resource.containerDetails);
  if (container) out.container = firstContainer([container]);

  const rdsInstance = obj(resource.rdsDbInstanceDetails);
  const rdsLimitless = obj(resource.rdsLimitlessDbDetails);
  if (rdsInstance || rdsLimitless) {
    const r = rdsInstance ?? rdsLimitless ?? {};
    out.gd.rds = {
      db_instance_identifier: str(r.dbInstanceIdentifier),
      db_cluster_identifier: str(r.dbClusterIdentifier),
      db_shard_group_identifier: str(r.dbShardGroupIdentifier),
      engine: str(r.engine),
      engine_version: str(r.engineVersion),
    };
  }
  const rdsUserDetails = obj(resource.rdsDbUserDetails);
  if (rdsUserDetails) rdsUser.name = b.relatedUser(rdsUserDetails.user);

  const lambda = obj(resource.lambdaDetails);
  if (lambda) out.gd.lambda = { function_name: str(lambda.functionName), function_arn: str(lambda.functionArn) };

  // The resource's own principal first: the Kubernetes user of an EKS finding, the database
  // user of an RDS finding, else the IAM principal of the access key.
  if (resourceType === 'EKSCluster') out.users = [k8sUser, accessKeyUser, rdsUser];
  else if (resourceType === 'RDSDBInstance' || resourceType === 'RDSLimitlessDB') out.users = [rdsUser, accessKeyUser, k8sUser];
  else out.users = [accessKeyUser, k8sUser, rdsUser];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Extended Threat Detection (attack sequences)

interface SequenceResult {
  gd: EcsDocument;
  threat?: { tactics: string[]; techniques: { id?: string; name: string }[] };
}

const TECHNIQUE = /^(T\d{4}(?:\.\d{3})?)\s*-\s*(.+)$/;

function mapSequence(sequence: Obj, b: Builder): SequenceResult {
  for (const item of arr(sequence.actors)) {
    const user = obj(obj(item)?.user);
    b.relatedUser(user?.name);
  }
  for (const item of arr(sequence.endpoints)) b.ip(obj(item)?.ip);
  const tactics: string[] = [];
  const techniques: { id?: string; name: string }[] = [];
  for (const item of arr(sequence.sequenceIndicators)) {
    const indicator = obj(item);
    const key = str(indicator?.key);
    for (const value of arr(indicator?.values)) {
      const v = str(value);
      if (v === undefined) continue;
      if (key === 'ATTACK_TACTIC' && !tactics.includes(v)) tactics.push(v);
      if (key === 'ATTACK_TECHNIQUE') {
        const m = TECHNIQUE.exec(v);
        const t = m ? { id: m[1], name: m[2] ?? v } : { name: v };
        if (!techniques.some((x) => x.name === t.name)) techniques.push(t);
      }
    }
  }
  return {
    gd: { uid: str(sequence.uid), signal_count: arr(sequence.signals).length || undefined },
    threat: tactics.length > 0 || techniques.length > 0 ? { tactics, techniques } : undefined,
  };
}

// ---------------------------------------------------------------------------------------------

function looksLikeAsff(finding: Obj): boolean {
  return 'ProductArn' in finding || ('SchemaVersion' in finding && 'AwsAccountId' in finding);
}

/**
 * One GuardDuty finding as the source-specific part of an ECS document.
 * `finding` is the bare finding or the `detail` of an EventBridge "GuardDuty Finding" event
 * (then `envelope` is that event). Throws ParseError only when the finding has no `id`, or
 * neither a usable time (`updatedAt`, `createdAt`, the envelope's `time`) nor an `updatedAt` /
 * `createdAt` string to tell its updates apart.
 */
export function parseGuardDutyFinding(
  finding: Record<string, unknown>,
  ctx: ParseContext,
  envelope?: Record<string, unknown>,
): ParsedEvent {
  const id = str(finding.id);
  if (id === undefined) {
    const hint = looksLikeAsff(finding) ? ' (this looks like a Security Hub ASFF finding, not a GuardDuty finding)' : '';
    throw new ParseError('guardduty', `finding has no id${hint}`);
  }
  const updatedAt = str(finding.updatedAt);
  const createdAt = str(finding.createdAt);
  const version = updatedAt ?? createdAt;
  if (version === undefined) throw new ParseError('guardduty', `finding ${id} has no updatedAt or createdAt`);
  const timestamp =
    parseTime(finding.updatedAt) ?? parseTime(finding.createdAt) ?? parseTime(envelope?.time);
  if (timestamp === undefined) {
    throw new ParseError('guardduty', `finding ${id} has no usable updatedAt or createdAt (${JSON.stringify(version).slice(0, 64)})`);
  }

  const b = new Builder();
  const type = str(finding.type);
  const { purpose, family, name } = splitType(type);
  const severity = num(finding.severity);
  const service = obj(finding.service) ?? {};
  const action = obj(service.action);
  const actionType = str(action?.actionType);
  const resource = obj(finding.resource);
  const resourceType = str(resource?.resourceType);
  const additionalInfo = obj(service.additionalInfo);

  const resourceResult = resource ? mapResource(resource, b) : undefined;
  const actionResult = action ? mapAction(action, b) : undefined;
  const detection = obj(service.detection);
  const sequence = obj(detection?.sequence);
  const sequenceResult = sequence ? mapSequence(sequence, b) : undefined;

  const user = resourceResult?.users.find((u) => u.name !== undefined || u.id !== undefined) ?? {};
  const groups = resourceResult?.users.find((u) => u.groups !== undefined)?.groups;

  const tacticNames = unique([
    ...(purpose && PURPOSE_TACTIC[purpose] ? [PURPOSE_TACTIC[purpose]] : []),
    ...(sequenceResult?.threat?.tactics ?? []),
  ]);
  const techniques = sequenceResult?.threat?.techniques ?? [];
  const threat: EcsDocument | undefined =
    tacticNames.length > 0 || techniques.length > 0
      ? {
          framework: 'MITRE ATT&CK',
          tactic: { name: tacticNames, id: unique(tacticNames.map((t) => ATTACK_TACTICS[t])) },
          technique: {
            name: techniques.map((t) => t.name),
            id: unique(techniques.map((t) => t.id)),
          },
        }
      : undefined;

  const orchestrator: EcsDocument = { ...(resourceResult?.orchestrator ?? {}) };
  const k8sTarget = actionResult?.orchestrator;
  if (k8sTarget) {
    orchestrator.type ??= 'kubernetes';
    orchestrator.namespace ??= k8sTarget.namespace;
    orchestrator.resource ??= k8sTarget.resource;
  }

  const document: EcsDocument = {
    message: str(finding.title),
    event: {
      kind: 'alert',
      id,
      provider: 'guardduty',
      severity: severity !== undefined ? Math.round(severity) : undefined,
      created: isoTime(finding.createdAt),
      start: isoTime(service.eventFirstSeen),
      end: isoTime(service.eventLastSeen),
      category: categories(purpose, family, name, actionType, resourceType),
      type: ['info'],
      action: actionType?.toLowerCase(),
    },
    rule: { name: type, category: purpose, ruleset: family },
    cloud: {
      account: { id: str(finding.accountId) ?? str(envelope?.account) ?? str(ctx.owner) },
      region: str(finding.region) ?? str(envelope?.region),
      ...(resourceResult?.cloud ?? {}),
    },
    host: { ip: resourceResult?.hostIps ?? [] },
    source: endpointDoc(b.source),
    destination: endpointDoc(b.destination),
    network: b.network,
    dns: actionResult?.dns,
    url: { original: actionResult?.url },
    user_agent: { original: actionResult?.userAgent },
    user: { name: user.name, id: user.id, group: { name: groups } },
    orchestrator,
    container: resourceResult?.container,
    threat,
    related: { ip: b.ips, user: b.users },
    aws: {
      guardduty: {
        arn: str(finding.arn),
        schema_version: str(finding.schemaVersion),
        partition: str(finding.partition),
        severity,
        severity_label: severity !== undefined ? severityLabel(severity) : undefined,
        description: str(finding.description),
        detector_id: str(service.detectorId),
        count: int(service.count),
        archived: bool(service.archived),
        resource_role: str(service.resourceRole),
        feature_name: str(service.featureName),
        user_feedback: str(service.userFeedback),
        sample: bool(additionalInfo?.sample),
        associated_attack_sequence_arn: str(finding.associatedAttackSequenceArn),
        resource_type: resourceType,
        resource,
        ...(resourceResult?.gd ?? {}),
        action: actionResult?.gd,
        additional_info: additionalInfo,
        evidence: obj(service.evidence),
        detection,
        attack_sequence: sequenceResult?.gd,
        runtime_details: obj(service.runtimeDetails),
        ebs_volume_scan_details: obj(service.ebsVolumeScanDetails),
        malware_scan_details: obj(service.malwareScanDetails),
      },
    },
  };

  return { timestamp, document: compact(document), idParts: [id, version] };
}
