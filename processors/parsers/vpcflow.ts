/**
 * VPC Flow Logs (and Transit Gateway Flow Logs) to ECS.
 *
 * A flow log record is one line of space-separated values in the order of its flow log's
 * format: the default (version 2) format, or a custom format chosen when the flow log was
 * created. A value of `-` means "not applicable / not computed" and is left out of the
 * document. Every field present is kept under `aws.vpcflow.<name with - as _>` with its
 * proper type; the well-known ones are also mapped to ECS (`source.*`, `destination.*`,
 * `network.*`, `event.*`, `cloud.*`, `related.ip`).
 *
 * Parsing is compiled once per format (`compileVpcFlowFormat`, cached) so that a line costs
 * one split, one cheap check per value and one object build.
 */
import { pad2 } from '../utc.ts';
import { ParseError, type EcsDocument, type ParseContext, type ParsedEvent } from './types.ts';
import { digits, isIpAddress } from './values.ts';

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

function isKnownField(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(VPC_FLOW_FIELDS, name);
}

/** `tcp-flags` -> `tcp_flags`. */
function docKey(name: string): string {
  return name.replace(/-/g, '_');
}

// ---------------------------------------------------------------------------------------
// Value checks

/** Longest digit string taken as a number: 18 digits always fit a signed 64-bit long. */
const MAX_COUNT_DIGITS = 18;
/** Unix seconds longer than this are far outside any date and are not stored. */
const MAX_TIME_DIGITS = 15;
/** Latest second that keeps a four-digit year (9999-12-31T23:59:59Z). */
const MAX_TIME_S = 253_402_300_799;

/** A time value that could not be placed on a date (kept only in event.original). */
const UNUSABLE_TIME = -2;

/**
 * Checks and types one value (never `-`): the typed value, or `undefined` when it does not
 * fit its field. A `time` of digits too long to be any date comes back as UNUSABLE_TIME
 * (left out of the document, not an error).
 */
function convertValue(kind: VpcFlowFieldKind, raw: string): string | number | undefined {
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

const EXPECTED: Record<VpcFlowFieldKind, string> = {
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

const IANA_NUMBER_TEXT: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

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

// ---------------------------------------------------------------------------------------
// Formats

const FIELD_NAME_SYNTAX = /^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$/;
const LOG_FORMAT_TOKEN = /^\$\{([^{}\s]*)\}$/;

export interface VpcFlowFormatOptions {
  /**
   * Accept well-formed field names this catalogue does not know (a field AWS added later);
   * their values are kept as strings. Default false: an unknown name is an error, so a typo
   * in a configured format is caught at start-up instead of producing wrong documents.
   */
  allowUnknown?: boolean;
}

function resolveName(token: string, spec: string, options: VpcFlowFormatOptions): string {
  if (!FIELD_NAME_SYNTAX.test(token)) {
    throw new ParseError('vpcflow', `invalid token '${token}' in flow log format '${spec}': not a field name`);
  }
  if (isKnownField(token)) return token;
  // Athena / Parquet column spelling (tcp_flags) of a known field
  const hyphenated = token.replace(/_/g, '-');
  if (isKnownField(hyphenated)) return hyphenated;
  if (options.allowUnknown) return hyphenated;
  throw new ParseError('vpcflow', `unknown field '${token}' in flow log format '${spec}'`);
}

/**
 * The field names of a flow log format, from either the header form
 * (`version account-id interface-id ...`, as S3 files begin) or the AWS LogFormat form
 * (`${version} ${account-id} ...`). Throws a ParseError naming the first token that is not
 * a field (or a duplicated one).
 */
export function parseVpcFlowFormat(spec: string, options: VpcFlowFormatOptions = {}): string[] {
  const trimmed = spec.trim();
  if (trimmed === '') throw new ParseError('vpcflow', 'empty flow log format');
  const tokens = trimmed.split(/\s+/);
  const logFormat = tokens[0]!.startsWith('$');
  const names: string[] = [];
  const seen = new Set<string>();
  for (const token of tokens) {
    let name = token;
    if (logFormat) {
      const m = LOG_FORMAT_TOKEN.exec(token);
      if (!m) throw new ParseError('vpcflow', `invalid token '${token}' in flow log format '${spec}': expected \${field-name}`);
      name = m[1]!;
    } else if (token.startsWith('$')) {
      throw new ParseError('vpcflow', `invalid token '${token}' in flow log format '${spec}': mixes \${field} and plain field names`);
    }
    const resolved = resolveName(name, spec, options);
    if (seen.has(resolved)) throw new ParseError('vpcflow', `duplicate field '${name}' in flow log format '${spec}'`);
    seen.add(resolved);
    names.push(resolved);
  }
  return names;
}

/**
 * True for a header line: at least two whitespace-separated tokens, every one a known field
 * name, none repeated (`version account-id interface-id ...`).
 */
export function isVpcFlowHeader(line: string): boolean {
  const trimmed = line.trim();
  if (trimmed.length < 3 || trimmed.length > 4096) return false;
  // every field name starts with a lowercase letter; records and JSON are rejected here
  const c = trimmed.charCodeAt(0);
  if (c < 97 || c > 122) return false;
  const tokens = trimmed.split(/\s+/);
  if (tokens.length < 2) return false;
  const seen = new Set<string>();
  for (const token of tokens) {
    if (!isKnownField(token) || seen.has(token)) return false;
    seen.add(token);
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Compiled formats

/** A format compiled once: every field's key, kind and the positions of the mapped ones. */
export interface CompiledVpcFlowFormat {
  readonly format: readonly string[];
  /** True when `fields` (a line split on whitespace) plausibly are a record of this format (see looksLikeVpcFlowLine). */
  matches(fields: readonly string[]): boolean;
  /** One line to its ECS document; throws ParseError naming the field and value that do not fit. */
  parse(line: string, ctx: ParseContext): ParsedEvent;
}

interface Positions {
  version: number;
  account: number;
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  protocol: number;
  packets: number;
  bytes: number;
  start: number;
  end: number;
  action: number;
  status: number;
  type: number;
  pktSrc: number;
  pktDst: number;
  region: number;
  instance: number;
  direction: number;
  rejectReason: number;
  ecsCluster: number;
  ecsContainer: number;
}


/** Splits a line on single spaces, falling back to any run of whitespace when that does not give `n` clean values. */
function splitLine(line: string, n: number): string[] {
  const fast = line.split(' ');
  if (fast.length === n) {
    let clean = true;
    for (let i = 0; i < n; i++) {
      const v = fast[i]!;
      if (v.length === 0) {
        clean = false;
        break;
      }
    }
    const last = fast[n - 1];
    if (clean && last !== undefined && last.charCodeAt(last.length - 1) > 32) return fast;
  }
  const trimmed = line.trim();
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}

type Typed = (string | number | undefined)[];

/** A value as quoted in an error message. */
function shorten(value: string): string {
  return value.length > 64 ? `${value.slice(0, 64)}...` : value;
}

/** The typed value at a field position (-1: the format has no such field). */
function strAt(typed: Typed, i: number): string | undefined {
  return i < 0 ? undefined : (typed[i] as string | undefined);
}

function numAt(typed: Typed, i: number): number | undefined {
  return i < 0 ? undefined : (typed[i] as number | undefined);
}

class VpcFlowFormat implements CompiledVpcFlowFormat {
  readonly format: readonly string[];
  private readonly n: number;
  private readonly keys: string[];
  private readonly kinds: VpcFlowFieldKind[];
  private readonly at: Positions;
  private readonly formatText: string;
  /** Positions whose value, when present, must look like an AWS account id (detection only). */
  private readonly accountPositions: number[];
  /** The version a record of this format must carry when every field is a version 2 one, else 0. */
  private readonly exactVersion: number;

  constructor(format: readonly string[]) {
    this.format = Object.freeze([...format]);
    this.n = format.length;
    this.keys = format.map(docKey);
    this.kinds = format.map((name) => VPC_FLOW_FIELDS[name]?.kind ?? 'string');
    this.formatText = format.join(' ');
    this.accountPositions = [];
    format.forEach((name, i) => {
      if (name === 'account-id' || name === 'tgw-src-vpc-account-id' || name === 'tgw-dst-vpc-account-id') this.accountPositions.push(i);
    });
    this.exactVersion = format.every((name) => VPC_FLOW_FIELDS[name]?.version === 2) ? 2 : 0;
    const pos = (name: string): number => format.indexOf(name);
    this.at = {
      version: pos('version'),
      account: pos('account-id'),
      src: pos('srcaddr'),
      dst: pos('dstaddr'),
      srcPort: pos('srcport'),
      dstPort: pos('dstport'),
      protocol: pos('protocol'),
      packets: pos('packets'),
      bytes: pos('bytes'),
      start: pos('start'),
      end: pos('end'),
      action: pos('action'),
      status: pos('log-status'),
      type: pos('type'),
      pktSrc: pos('pkt-srcaddr'),
      pktDst: pos('pkt-dstaddr'),
      region: pos('region'),
      instance: pos('instance-id'),
      direction: pos('flow-direction'),
      rejectReason: pos('reject-reason'),
      ecsCluster: pos('ecs-cluster-name'),
      ecsContainer: pos('ecs-container-id'),
    };
  }

  matches(fields: readonly string[]): boolean {
    const n = this.n;
    if (n === 0 || fields.length !== n) return false;
    let present = 0;
    for (let i = 0; i < n; i++) {
      const raw = fields[i]!;
      if (raw === '-') continue;
      if (convertValue(this.kinds[i]!, raw) === undefined) return false;
      present++;
    }
    if (present === 0) return false;
    // Beyond the per-field checks parse() makes, detection asks for what AWS always writes:
    // 12-digit account ids (or "unknown" for AWS-managed interfaces) and, in a format of
    // version 2 fields only (the default), version 2. Custom formats are only tried on the
    // log groups they are configured for, so their version is not pinned.
    for (const i of this.accountPositions) {
      const raw = fields[i]!;
      if (raw !== '-' && raw !== 'unknown' && !(raw.length === 12 && digits(raw, 12) >= 0)) return false;
    }
    const v = this.at.version;
    if (v >= 0 && fields[v] !== '-') {
      const version = digits(fields[v]!, 3);
      if (version < 2 || (this.exactVersion !== 0 && version !== this.exactVersion)) return false;
    }
    return true;
  }

  private countError(values: string[]): ParseError {
    const n = this.n;
    const got = values.length;
    let detail: string;
    if (got < n) {
      detail = `first missing field is '${this.format[got]}'`;
    } else {
      detail = `${got - n} extra value(s), the first '${shorten(values[n]!)}'`;
    }
    return new ParseError('vpcflow', `line has ${got} field(s) but the flow log format has ${n} (${this.formatText}): ${detail}`);
  }

  parse(line: string, ctx: ParseContext): ParsedEvent {
    const n = this.n;
    const values = splitLine(line, n);
    if (values.length !== n) throw this.countError(values);

    const kinds = this.kinds;
    const keys = this.keys;
    const typed: Typed = new Array(n);
    const vpcflow: EcsDocument = {};
    for (let i = 0; i < n; i++) {
      const raw = values[i]!;
      if (raw === '-') continue;
      const kind = kinds[i]!;
      const v = convertValue(kind, raw);
      if (v === undefined) {
        throw new ParseError(
          'vpcflow',
          `field '${this.format[i]}' (position ${i + 1}) has invalid value '${shorten(raw)}': expected ${EXPECTED[kind]} or '-'`,
        );
      }
      if (v === UNUSABLE_TIME) continue;
      typed[i] = v;
      vpcflow[keys[i]!] = v;
    }

    const at = this.at;

    // time: end, else start, else the CloudWatch Logs event time
    const startS = numAt(typed, at.start);
    const endS = numAt(typed, at.end);
    const startOk = startS !== undefined && startS <= MAX_TIME_S;
    const endOk = endS !== undefined && endS <= MAX_TIME_S;
    const timestamp = new Date(endOk ? endS * 1000 : startOk ? startS * 1000 : ctx.timestamp);

    const status = strAt(typed, at.status);
    const noData = status === 'NODATA' || status === 'SKIPDATA';
    const action = noData ? undefined : strAt(typed, at.action);

    // Built with only the values present, so it is already what compact() would return
    // (compact() itself would cost more than all of the rest of the parse).
    const event: EcsDocument = { kind: 'event', category: ['network'] };
    if (noData) {
      event.type = ['info'];
      event.outcome = 'unknown';
    } else if (action === 'ACCEPT') {
      event.type = ['connection', 'allowed'];
      event.action = 'accept';
      event.outcome = 'success';
    } else if (action === 'REJECT') {
      event.type = ['connection', 'denied'];
      event.action = 'reject';
      event.outcome = 'failure';
    } else {
      event.type = ['connection'];
      event.outcome = 'unknown';
    }
    const rejectReason = strAt(typed, at.rejectReason);
    if (rejectReason !== undefined) event.reason = rejectReason;
    if (startOk) event.start = isoFromSeconds(startS);
    if (endOk) event.end = isoFromSeconds(endS);
    if (startOk && endOk && endS >= startS) event.duration = (endS - startS) * 1_000_000_000;
    event.original = line;

    const accountRaw = strAt(typed, at.account);
    const cloud: EcsDocument = {
      account: { id: accountRaw !== undefined && accountRaw !== 'unknown' ? accountRaw : ctx.owner },
    };
    const region = strAt(typed, at.region);
    if (region !== undefined) cloud.region = region;
    const instance = strAt(typed, at.instance);
    if (instance !== undefined) cloud.instance = { id: instance };

    const doc: EcsDocument = { event, cloud };

    if (!noData) {
      const src = strAt(typed, at.src);
      const dst = strAt(typed, at.dst);
      const pktSrc = strAt(typed, at.pktSrc);
      const pktDst = strAt(typed, at.pktDst);
      const srcPort = numAt(typed, at.srcPort);
      const dstPort = numAt(typed, at.dstPort);
      const protocol = numAt(typed, at.protocol);
      const bytes = numAt(typed, at.bytes);
      const packets = numAt(typed, at.packets);
      const type = strAt(typed, at.type);
      const direction = strAt(typed, at.direction);

      const source: EcsDocument = {};
      if (src !== undefined) source.ip = src;
      if (srcPort !== undefined) source.port = srcPort;
      if (bytes !== undefined) source.bytes = bytes;
      if (packets !== undefined) source.packets = packets;
      if (src !== undefined || srcPort !== undefined || bytes !== undefined || packets !== undefined) doc.source = source;
      if (dst !== undefined || dstPort !== undefined) {
        const destination: EcsDocument = {};
        if (dst !== undefined) destination.ip = dst;
        if (dstPort !== undefined) destination.port = dstPort;
        doc.destination = destination;
      }

      const network: EcsDocument = {};
      let hasNetwork = false;
      if (protocol !== undefined) {
        network.transport = vpcFlowTransport(protocol);
        network.iana_number = IANA_NUMBER_TEXT[protocol]!;
        hasNetwork = true;
      }
      const anyAddr = src ?? dst ?? pktSrc ?? pktDst;
      const networkType =
        type === 'IPv4' ? 'ipv4' : type === 'IPv6' ? 'ipv6' : anyAddr === undefined ? undefined : anyAddr.indexOf(':') === -1 ? 'ipv4' : 'ipv6';
      if (networkType !== undefined) {
        network.type = networkType;
        hasNetwork = true;
      }
      if (direction === 'ingress' || direction === 'egress') {
        network.direction = direction;
        hasNetwork = true;
      }
      if (bytes !== undefined) {
        network.bytes = bytes;
        hasNetwork = true;
      }
      if (packets !== undefined) {
        network.packets = packets;
        hasNetwork = true;
      }
      if (hasNetwork) doc.network = network;

      if (anyAddr !== undefined) {
        const ips: string[] = [];
        if (src !== undefined) ips.push(src);
        if (dst !== undefined && dst !== src) ips.push(dst);
        if (pktSrc !== undefined && pktSrc !== src && pktSrc !== dst) ips.push(pktSrc);
        if (pktDst !== undefined && pktDst !== src && pktDst !== dst && pktDst !== pktSrc) ips.push(pktDst);
        doc.related = { ip: ips };
      }
    }

    const ecsCluster = strAt(typed, at.ecsCluster);
    const ecsContainer = strAt(typed, at.ecsContainer);
    if (ecsContainer !== undefined) doc.container = { id: ecsContainer };
    if (ecsCluster !== undefined || ecsContainer !== undefined) {
      doc.orchestrator = ecsCluster === undefined ? { type: 'ecs' } : { type: 'ecs', cluster: { name: ecsCluster } };
    }

    doc.aws = { vpcflow };
    return { timestamp, document: doc };
  }
}

const byArray = new WeakMap<readonly string[], VpcFlowFormat>();
const byText = new Map<string, VpcFlowFormat>();
const MAX_CACHED_FORMATS = 1024;

function sameFormat(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The compiled parser of a format (a list of field names), cached by the format's text. */
export function compileVpcFlowFormat(format: readonly string[]): CompiledVpcFlowFormat {
  const cached = byArray.get(format);
  if (cached && sameFormat(cached.format, format)) return cached;
  const text = format.join(' ');
  let compiled = byText.get(text);
  if (!compiled) {
    if (byText.size >= MAX_CACHED_FORMATS) byText.clear();
    compiled = new VpcFlowFormat(format);
    byText.set(text, compiled);
  }
  byArray.set(format, compiled);
  return compiled;
}

/**
 * True when the values (a line split on whitespace) fit the format: same count, and each
 * value plausible for its field (counters numeric, ports 0-65535, protocol 0-255, addresses
 * IPv4/IPv6, action ACCEPT/REJECT, log-status OK/NODATA/SKIPDATA, account ids 12 digits or
 * "unknown", version at least 2 and exactly 2 in a format of version 2 fields such as the
 * default; `-` anywhere), with at least one value present.
 */
export function looksLikeVpcFlowLine(fields: string[], format: string[]): boolean {
  if (fields.length !== format.length) return false;
  return compileVpcFlowFormat(format).matches(fields);
}

/** One flow log record in the given format to its ECS document. */
export function parseVpcFlowLine(line: string, format: string[], ctx: ParseContext): ParsedEvent {
  return compileVpcFlowFormat(format).parse(line, ctx);
}
