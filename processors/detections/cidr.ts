/** The `cidr` modifier: IPv4 and IPv6 ranges, tested on addresses written as text. */

/** An address as 16-bit groups (IPv4: two groups), or undefined if the text is not one. */
function parseAddress(text: string): number[] | undefined {
  if (text.includes(':')) return parseIpv6(text);
  const v4 = parseIpv4(text);
  return v4 === undefined ? undefined : [v4 >>> 16, v4 & 0xffff];
}

function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

function parseIpv6(text: string): number[] | undefined {
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      if (i === pieces.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) out.push(parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  if (head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** A test for addresses inside `range` (`10.0.0.0/8`, `2001:db8::/32`; no prefix: one address). */
export function compileCidr(range: string): ((address: string) => boolean) | string {
  const slash = range.indexOf('/');
  const base = parseAddress(slash >= 0 ? range.slice(0, slash) : range);
  if (!base) return `'${range}' is not an IPv4 or IPv6 CIDR range`;
  const bits = base.length * 16;
  const prefix = slash >= 0 ? Number(range.slice(slash + 1)) : bits;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits || (slash >= 0 && !/^\d+$/.test(range.slice(slash + 1)))) {
    return `'${range}' has a prefix length outside 0-${bits}`;
  }
  return (address) => {
    const a = parseAddress(address.trim());
    if (!a || a.length !== base.length) return false;
    let left = prefix;
    for (let i = 0; left > 0; i++, left -= 16) {
      const mask = left >= 16 ? 0xffff : (0xffff << (16 - left)) & 0xffff;
      if ((a[i]! & mask) !== (base[i]! & mask)) return false;
    }
    return true;
  };
}
