/**
 * A flow log format compiled once: every field's key, kind and the positions of the mapped ones,
 * so that a line costs one split, one cheap check per value and one object build.
 */
import { ParseError, type EcsDocument, type ParseContext, type ParsedEvent } from '../types.ts';
import { digits } from '../values.ts';
import { convertValue, docKey, EXPECTED, UNUSABLE_TIME, VPC_FLOW_FIELDS, type VpcFlowFieldKind } from './fields.ts';
import { vpcFlowDocument, type Positions, type Typed } from './ecs.ts';


/** A format compiled once: every field's key, kind and the positions of the mapped ones. */
export interface CompiledVpcFlowFormat {
  readonly format: readonly string[];
  /** True when `fields` (a line split on whitespace) plausibly are a record of this format (see looksLikeVpcFlowLine). */
  matches(fields: readonly string[]): boolean;
  /** One line to its ECS document; throws ParseError naming the field and value that do not fit. */
  parse(line: string, ctx: ParseContext): ParsedEvent;
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


/** A value as quoted in an error message. */
function shorten(value: string): string {
  return value.length > 64 ? `${value.slice(0, 64)}...` : value;
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

    return vpcFlowDocument(typed, this.at, vpcflow, line, ctx);
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
