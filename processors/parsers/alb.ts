/**
 * Application Load Balancer access log entries -> ECS documents (`aws.elb` family).
 *
 * ECS fields where ECS has them: http.*, url.*, source.* (the client), destination.* (the
 * target), user_agent.original, tls.*, trace.id, event.start (request_creation_time), event.end
 * (time), event.duration (their difference, ns); every documented field, as written, under
 * `aws.elb.*`. Load balancers write only what they know: `-` stays absent, as do -1 processing
 * times (the request never reached a target or the target closed the connection).
 */
import { ALB_FIELDS, ALB_MIN_FIELDS, ALB_TYPES, splitAlbEntry, type AlbField } from './alb/fields.ts';
import { compact, ParseError, type EcsDocument, type ParseContext, type ParsedEvent } from './types.ts';
import { int, ip, num, parseTime } from './values.ts';

export { ALB_FIELDS, splitAlbEntry } from './alb/fields.ts';

const present = (v: string | undefined): string | undefined => (v === undefined || v === '-' || v === '' ? undefined : v);

/** `ip:port` (IPv6 addresses come bare before the last colon) -> its parts. */
function endpoint(v: string | undefined): { ip?: string; port?: number; address?: string } | undefined {
  const s = present(v);
  if (s === undefined) return undefined;
  const colon = s.lastIndexOf(':');
  if (colon <= 0) return { address: s, ip: ip(s) };
  const host = s.slice(0, colon);
  return { address: host, ip: ip(host.startsWith('[') ? host.slice(1, -1) : host), port: int(s.slice(colon + 1)) };
}

/** A processing time in seconds; -1 means "not measured". */
function seconds(v: string | undefined): number | undefined {
  const n = num(present(v));
  return n === undefined || n < 0 ? undefined : n;
}

/** "-" or "a,b" -> array of values; the list fields write one value per target. */
function list(v: string | undefined): string[] | undefined {
  const s = present(v);
  return s === undefined ? undefined : s.split(/[ ,]+/).filter((x) => x !== '' && x !== '-');
}

const ALB_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/;

/**
 * Microseconds since the epoch from `YYYY-MM-DDTHH:MM:SS.ffffffZ`: the two times are written to
 * the microsecond. That exact shape is read directly (it is on every line); anything else goes
 * through the general time parser.
 */
function micros(v: string | undefined): number | undefined {
  const s = present(v);
  if (s === undefined) return undefined;
  const m = ALB_TIME.exec(s);
  if (m) {
    const [, y, mo, d, h, mi, sec, frac] = m;
    const month = Number(mo);
    const day = Number(d);
    if (month >= 1 && month <= 12 && day >= 1 && Number(h) <= 23 && Number(mi) <= 59 && Number(sec) <= 59) {
      const t = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(sec));
      if (new Date(t).getUTCDate() === day && t >= 0) return t * 1000 + Number(frac);
    }
  }
  const date = parseTime(s);
  if (!date) return undefined;
  const frac = /\.(\d+)/.exec(s)?.[1] ?? '';
  return Math.floor(date.getTime() / 1000) * 1_000_000 + Number(frac.slice(0, 6).padEnd(6, '0'));
}

interface RequestLine {
  method?: string;
  url?: string;
  version?: string;
}

/** `"GET http://www.example.com:80/ HTTP/1.1"`; a request the load balancer could not parse is `- - - `. */
function requestLine(v: string | undefined): RequestLine {
  const s = present(v?.trim());
  if (s === undefined) return {};
  const first = s.indexOf(' ');
  const last = s.lastIndexOf(' ');
  if (first === -1) return { url: present(s) };
  const method = present(s.slice(0, first));
  const url = present(s.slice(first + 1, last > first ? last : undefined).trim());
  const version = last > first ? present(s.slice(last + 1)) : undefined;
  return { method, url, version };
}

// scheme://host[:port][path][?query]: the absolute form the load balancer writes.
const ABSOLUTE_URL = /^([a-z][a-z0-9+.-]*):\/\/([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?(\/[^?#\s]*)?(?:\?([^#\s]*))?$/i;

function urlParts(original: string | undefined): EcsDocument | undefined {
  if (original === undefined) return undefined;
  const out: EcsDocument = { original };
  // The usual shape is read directly; WHATWG URL parsing (a tenth of a line's cost) only for the rest.
  const m = ABSOLUTE_URL.exec(original);
  if (m) {
    const host = m[2]!;
    out.scheme = m[1]!.toLowerCase();
    out.domain = (host.startsWith('[') ? host.slice(1, -1) : host).toLowerCase();
    out.port = m[3] !== undefined ? Number(m[3]) : undefined;
    out.path = m[4] ?? '/';
    out.query = m[5] ? m[5] : undefined;
    return out;
  }
  try {
    const u = new URL(original);
    out.scheme = u.protocol.replace(/:$/, '');
    out.domain = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    // The load balancer writes the port it listened on, even the scheme's default.
    const port = /^[a-z0-9+.-]+:\/\/[^/?#]*:(\d+)/i.exec(original)?.[1];
    out.port = port !== undefined ? Number(port) : undefined;
    out.path = u.pathname;
    out.query = u.search ? u.search.slice(1) : undefined;
  } catch {
    // not an absolute URL: kept as original only
  }
  return out;
}

/** `TLSv1.2` -> {protocol: tls, version: 1.2}; `-` on plain HTTP. */
function tlsVersion(v: string | undefined): { version_protocol?: string; version?: string } {
  const s = present(v);
  if (s === undefined) return {};
  const m = /^(TLS|SSL)v?(\d+(?:\.\d+)?)$/i.exec(s);
  return m ? { version_protocol: m[1]!.toLowerCase(), version: m[2] } : { version: s };
}

/** Region and account from an ARN (target group or certificate). */
function arnParts(arn: string | undefined): { region?: string; account?: string } {
  const p = arn?.split(':');
  return p && p.length >= 6 && p[0] === 'arn' ? { region: present(p[3]), account: present(p[4]) } : {};
}

/**
 * One access log entry as the source-specific part of an ECS document. Throws ParseError when
 * the line is not an entry (unknown type, too few fields, a quoted field left open, no usable time).
 */
export function parseAlbLogEntry(line: string, ctx: Pick<ParseContext, 'owner'> & { region?: string }): ParsedEvent {
  const raw = splitAlbEntry(line);
  if (raw === null) throw new ParseError('elb', 'a quoted field is not closed (truncated entry?)');
  if (raw.length < ALB_MIN_FIELDS) throw new ParseError('elb', `expected at least ${ALB_MIN_FIELDS} fields, got ${raw.length}`);
  const f = {} as Record<AlbField, string | undefined>;
  for (let i = 0; i < ALB_FIELDS.length; i++) f[ALB_FIELDS[i]!] = raw[i];
  const type = f.type!;
  if (!ALB_TYPES.has(type)) throw new ParseError('elb', `unknown entry type ${JSON.stringify(type.slice(0, 20))}`);
  const endMicros = micros(f.time);
  if (endMicros === undefined) throw new ParseError('elb', `time is not a timestamp: ${JSON.stringify(f.time?.slice(0, 40))}`);
  const startMicros = micros(f.request_creation_time);
  const timestamp = new Date(Math.floor(endMicros / 1000));

  const client = endpoint(f['client:port']);
  const target = endpoint(f['target:port']);
  const req = requestLine(f.request);
  const url = urlParts(req.url);
  const elbStatus = int(present(f.elb_status_code));
  const targetStatus = int(present(f.target_status_code));
  const tg = present(f.target_group_arn);
  const cert = present(f.chosen_cert_arn);
  const { region, account } = { ...arnParts(cert), ...arnParts(tg) };
  const elb = present(f.elb);
  // app/<name>/<id>: names the load balancer apart from its id.
  const elbParts = elb?.split('/');
  const priority = present(f.matched_rule_priority);
  const extra = raw.length > ALB_FIELDS.length ? raw.slice(ALB_FIELDS.length) : undefined;
  const traceId = present(f.trace_id);

  const document: EcsDocument = {
    event: {
      kind: 'event',
      category: ['web', 'network'],
      type: ['access'],
      outcome: elbStatus === undefined ? undefined : elbStatus < 400 ? 'success' : 'failure',
      start: startMicros !== undefined ? new Date(Math.floor(startMicros / 1000)).toISOString() : undefined,
      end: timestamp.toISOString(),
      duration: startMicros !== undefined && endMicros >= startMicros ? (endMicros - startMicros) * 1000 : undefined,
      reason: present(f.error_reason),
    },
    cloud: {
      provider: 'aws',
      service: { name: 'elasticloadbalancing' },
      region: ctx.region ?? region,
      account: { id: present(ctx.owner) ?? account },
    },
    source: client && { ip: client.ip, port: client.port, address: client.address },
    destination: target && { ip: target.ip, port: target.port, address: target.address },
    network: {
      transport: 'tcp',
      protocol: type === 'ws' || type === 'wss' ? 'websocket' : type === 'grpcs' ? 'grpc' : 'http',
    },
    http: {
      version: req.version?.replace(/^HTTP\//i, ''),
      request: { method: req.method, bytes: int(present(f.received_bytes)), id: traceId },
      response: { status_code: elbStatus, bytes: int(present(f.sent_bytes)) },
    },
    url,
    user_agent: { original: present(f.user_agent) },
    tls: present(f.ssl_cipher) || present(f.ssl_protocol) ? { cipher: present(f.ssl_cipher), ...tlsVersion(f.ssl_protocol), server: { name: present(f.domain_name) } } : undefined,
    trace: { id: traceId },
    related: { ip: [client?.ip, target?.ip].filter((x): x is string => x !== undefined), hosts: url?.domain ? [url.domain as string] : undefined },
    aws: {
      elb: {
        type,
        name: elbParts && elbParts.length >= 3 ? elbParts[1] : elb,
        id: elb,
        request_processing_time: { sec: seconds(f.request_processing_time) },
        target_processing_time: { sec: seconds(f.target_processing_time) },
        response_processing_time: { sec: seconds(f.response_processing_time) },
        elb_status_code: elbStatus,
        target_status_code: targetStatus,
        target_group: { arn: tg },
        trace_id: traceId,
        domain_name: present(f.domain_name),
        chosen_cert: { arn: cert },
        matched_rule_priority: priority === undefined ? undefined : int(priority),
        request_creation_time: startMicros !== undefined ? present(f.request_creation_time) : undefined,
        actions_executed: list(f.actions_executed),
        redirect_url: present(f.redirect_url),
        error_reason: present(f.error_reason),
        target_port_list: list(f['target:port_list']),
        target_status_code_list: list(f['target_status_code_list']),
        classification: present(f.classification),
        classification_reason: present(f.classification_reason),
        conn_trace_id: present(f.conn_trace_id),
        transformed_host: present(f.transformed_host),
        transformed_uri: present(f.transformed_uri),
        request_transform_status: present(f.request_transform_status),
        unknown_fields: extra,
      },
    },
  };
  return { timestamp, document: compact(document) };
}
