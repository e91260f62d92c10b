/** What every part of a GuardDuty finding's mapping shares: small readers and the document's endpoints and related values. */
import type { EcsDocument } from '../types.ts';
import { int, ip, num, obj, parseTime, str } from '../values.ts';

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function unique<T>(values: Iterable<T | undefined>): T[] {
  const out: T[] = [];
  for (const v of values) if (v !== undefined && !out.includes(v)) out.push(v);
  return out;
}

export function isoTime(value: unknown): string | undefined {
  return parseTime(value)?.toISOString();
}

// ---------------------------------------------------------------------------------------------
// The document under construction

export interface Endpoint {
  /** The address as GuardDuty wrote it, valid or not (sample findings hold placeholders); `ip` only when valid. */
  address?: string;
  ip?: string;
  port?: number;
  domain?: string;
  geo?: EcsDocument;
  as?: EcsDocument;
}

export class Builder {
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

export function endpointDoc(e: Endpoint): EcsDocument {
  return { address: e.address, ip: e.ip, port: e.port, domain: e.domain, geo: e.geo, as: e.as };
}

/** A GuardDuty `remoteIpDetails` as an ECS endpoint (ip only when valid), plus the raw address. */
export function remoteEndpoint(details: unknown, b: Builder): { endpoint: Endpoint; raw?: string } {
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
      address: raw,
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

export function localIp(details: unknown, b: Builder): { ip?: string; raw?: string } {
  const d = obj(details);
  if (!d) return {};
  return { raw: str(d.ipAddressV4) ?? str(d.ipAddressV6), ip: b.ip(d.ipAddressV4) ?? b.ip(d.ipAddressV6) };
}

export function port(details: unknown): number | undefined {
  const p = int(obj(details)?.port);
  return p !== undefined && p >= 0 && p <= 65535 ? p : undefined;
}

export function transport(protocol: unknown): string | undefined {
  const p = str(protocol)?.toLowerCase();
  return p && p !== 'unknown' ? p : undefined;
}

