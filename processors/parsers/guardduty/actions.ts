/** `service.action` of a finding: network connection, port probe, DNS request, API calls, RDS logins. */
import type { EcsDocument } from '../types.ts';
import { bool, int, obj, str, type Obj } from '../values.ts';
import { arr, port, remoteEndpoint, localIp, transport, unique, type Builder, type Endpoint } from './builder.ts';

export interface ActionResult {
  gd: EcsDocument;
  dns?: EcsDocument;
  userAgent?: string;
  url?: string;
  orchestrator?: EcsDocument;
}

export function mapAction(action: Obj, b: Builder): ActionResult {
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
      b.destination = { address: local.raw, ip: local.ip, port: localPort };
    } else {
      b.destination = { ...remote.endpoint, port: remotePort };
      b.source = { address: local.raw, ip: local.ip, port: localPort };
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
    let firstLocalRaw: string | undefined;
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
      if (firstLocal === undefined && local.ip !== undefined) {
        firstLocal = local.ip;
        firstLocalRaw = local.raw;
      }
      firstLocalRaw ??= local.raw;
    }
    // The first prober with a valid address; else the first one's geo/AS without an ip.
    b.source = first ?? firstAny ?? {};
    b.destination = { address: firstLocalRaw, ip: firstLocal, port: localPorts[0] };
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
    b.source = { ...remote.endpoint, address: remote.raw ?? validSources[0] ?? sourceIps[0], ip: remote.endpoint.ip ?? validSources[0] };
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

