/** The catalogue of VPC (and Transit Gateway) flow log fields, how each value is checked and typed, and shared conversions. */
import { pad2 } from '../../utc.ts';
import { digits, isIpAddress } from '../values.ts';

/** How a field's value is checked and typed. */
export type VpcFlowFieldKind =
  /** Non-negative integer (counters, version, bit masks, codes). */
  | 'count'
  /** 0-65535. */
  | 'port'
  /** IANA protocol number, 0-255. */
  | 'protocol'
  /** Unix seconds. */
  | 'time'
  /** IPv4 or IPv6 address. */
  | 'ip'
  /** ACCEPT | REJECT. */
  | 'action'
  /** OK | NODATA | SKIPDATA. */
  | 'log-status'
  /** Any token. */
  | 'string';

export interface VpcFlowFieldInfo {
  kind: VpcFlowFieldKind;
  /** Flow log version that introduced the field (Transit Gateway fields: 6). */
  version: number;
  /** Only in Transit Gateway flow logs. */
  transitGateway?: boolean;
}

const f = (kind: VpcFlowFieldKind, version: number, transitGateway?: boolean): VpcFlowFieldInfo =>
  transitGateway ? { kind, version, transitGateway } : { kind, version };

/**
 * Every documented field of VPC Flow Logs versions 2-8 and of Transit Gateway Flow Logs,
 * by its AWS name. See https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html
 * and https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html.
 */
export const VPC_FLOW_FIELDS: Readonly<Record<string, VpcFlowFieldInfo>> = Object.freeze({
  // version 2 (the default format, in its order)
  version: f('count', 2),
  'account-id': f('string', 2),
  'interface-id': f('string', 2),
  srcaddr: f('ip', 2),
  dstaddr: f('ip', 2),
  srcport: f('port', 2),
  dstport: f('port', 2),
  protocol: f('protocol', 2),
  packets: f('count', 2),
  bytes: f('count', 2),
  start: f('time', 2),
  end: f('time', 2),
  action: f('action', 2),
  'log-status': f('log-status', 2),
  // version 3
  'vpc-id': f('string', 3),
  'subnet-id': f('string', 3),
  'instance-id': f('string', 3),
  'tcp-flags': f('count', 3),
  type: f('string', 3),
  'pkt-srcaddr': f('ip', 3),
  'pkt-dstaddr': f('ip', 3),
  // version 4
  region: f('string', 4),
  'az-id': f('string', 4),
  'sublocation-type': f('string', 4),
  'sublocation-id': f('string', 4),
  // version 5
  'pkt-src-aws-service': f('string', 5),
  'pkt-dst-aws-service': f('string', 5),
  'flow-direction': f('string', 5),
  'traffic-path': f('count', 5),
  // version 7 (Amazon ECS)
  'ecs-cluster-arn': f('string', 7),
  'ecs-cluster-name': f('string', 7),
  'ecs-container-instance-arn': f('string', 7),
  'ecs-container-instance-id': f('string', 7),
  'ecs-container-id': f('string', 7),
  'ecs-second-container-id': f('string', 7),
  'ecs-service-name': f('string', 7),
  'ecs-task-definition-arn': f('string', 7),
  'ecs-task-arn': f('string', 7),
  'ecs-task-id': f('string', 7),
  // version 8
  'reject-reason': f('string', 8),
  // Transit Gateway Flow Logs (version 6)
  'resource-type': f('string', 6, true),
  'tgw-id': f('string', 6, true),
  'tgw-attachment-id': f('string', 6, true),
  'tgw-src-vpc-account-id': f('string', 6, true),
  'tgw-dst-vpc-account-id': f('string', 6, true),
  'tgw-src-vpc-id': f('string', 6, true),
  'tgw-dst-vpc-id': f('string', 6, true),
  'tgw-src-subnet-id': f('string', 6, true),
  'tgw-dst-subnet-id': f('string', 6, true),
  'tgw-src-eni': f('string', 6, true),
  'tgw-dst-eni': f('string', 6, true),
  'tgw-src-az-id': f('string', 6, true),
  'tgw-dst-az-id': f('string', 6, true),
  'tgw-pair-attachment-id': f('string', 6, true),
  'packets-lost-no-route': f('count', 6, true),
  'packets-lost-blackhole': f('count', 6, true),
  'packets-lost-mtu-exceeded': f('count', 6, true),
  'packets-lost-ttl-expired': f('count', 6, true),
});

/** The default (version 2) format, in order. */
export const DEFAULT_VPC_FLOW_FORMAT: string[] = [
  'version',
  'account-id',
  'interface-id',
  'srcaddr',
  'dstaddr',
  'srcport',
  'dstport',
  'protocol',
  'packets',
  'bytes',
  'start',
  'end',
  'action',
  'log-status',
];

export function isKnownField(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(VPC_FLOW_FIELDS, name);
}

/** `tcp-flags` -> `tcp_flags`. */
export function docKey(name: string): string {
  return name.replace(/-/g, '_');
}

// ---------------------------------------------------------------------------------------
// Value checks

/** Longest digit string taken as a number: 18 digits always fit a signed 64-bit long. */
const MAX_COUNT_DIGITS = 18;
/** Unix seconds longer than this are far outside any date and are not stored. */
const MAX_TIME_DIGITS = 15;
/** Latest second that keeps a four-digit year (9999-12-31T23:59:59Z). */
export const MAX_TIME_S = 253_402_300_799;

/** A time value that could not be placed on a date (kept only in event.original). */
export const UNUSABLE_TIME = -2;

/**
 * Checks and types one value (never `-`): the typed value, or `undefined` when it does not
 * fit its field. A `time` of digits too long to be any date comes back as UNUSABLE_TIME
 * (left out of the document, not an error).
 */
export function convertValue(kind: VpcFlowFieldKind, raw: string): string | number | undefined {
  switch (kind) {
    case 'count': {
      const n = digits(raw, MAX_COUNT_DIGITS);
      return n < 0 ? undefined : n;
    }
    case 'port': {
      const n = digits(raw, 5);
      return n < 0 || n > 65535 ? undefined : n;
    }
    case 'protocol': {
      const n = digits(raw, 3);
      return n < 0 || n > 255 ? undefined : n;
    }
    case 'time': {
      const n = digits(raw, MAX_TIME_DIGITS);
      return n >= 0 ? n : digits(raw, Infinity) >= 0 ? UNUSABLE_TIME : undefined;
    }
    case 'ip':
      return isIpAddress(raw) ? raw : undefined;
    case 'action':
      return raw === 'ACCEPT' || raw === 'REJECT' ? raw : undefined;
    case 'log-status':
      return raw === 'OK' || raw === 'NODATA' || raw === 'SKIPDATA' ? raw : undefined;
    default:
      return raw.length > 0 ? raw : undefined;
  }
}

export const EXPECTED: Record<VpcFlowFieldKind, string> = {
  count: 'a non-negative integer',
  port: 'a port number 0-65535',
  protocol: 'an IANA protocol number 0-255',
  time: 'Unix seconds',
  ip: 'an IPv4 or IPv6 address',
  action: 'ACCEPT or REJECT',
  'log-status': 'OK, NODATA or SKIPDATA',
  string: 'a value',
};

// ---------------------------------------------------------------------------------------
// IANA protocol numbers -> ECS network.transport

const TRANSPORT_NAMES: Readonly<Record<number, string>> = {
  0: 'hopopt',
  1: 'icmp',
  2: 'igmp',
  4: 'ipv4',
  6: 'tcp',
  8: 'egp',
  17: 'udp',
  27: 'rdp',
  33: 'dccp',
  41: 'ipv6',
  43: 'ipv6-route',
  44: 'ipv6-frag',
  46: 'rsvp',
  47: 'gre',
  50: 'esp',
  51: 'ah',
  58: 'ipv6-icmp',
  59: 'ipv6-nonxt',
  60: 'ipv6-opts',
  88: 'eigrp',
  89: 'ospf',
  94: 'ipip',
  97: 'etherip',
  103: 'pim',
  108: 'ipcomp',
  112: 'vrrp',
  115: 'l2tp',
  132: 'sctp',
  136: 'udplite',
  137: 'mpls-in-ip',
};

/** ECS `network.transport` for an IANA protocol number: its keyword when common, else the number. */
export function vpcFlowTransport(protocol: number): string {
  return TRANSPORT_NAMES[protocol] ?? String(protocol);
}

export const IANA_NUMBER_TEXT: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

// ---------------------------------------------------------------------------------------
// Time

/**
 * `YYYY-MM-DDTHH:MM:SS.000Z` of whole Unix seconds in 0..MAX_TIME_S: the same text as
 * Date#toISOString, several times cheaper (days to civil date after H. Hinnant).
 */
export function isoFromSeconds(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  let rem = seconds - days * 86_400;
  const hh = Math.floor(rem / 3600);
  rem -= hh * 3600;
  const mm = Math.floor(rem / 60);
  const ss = rem - mm * 60;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${y}-${pad2(m)}-${pad2(d)}T${pad2(hh)}:${pad2(mm)}:${pad2(ss)}.000Z`;
}
