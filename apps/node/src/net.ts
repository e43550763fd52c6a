/**
 * Small address arithmetic the controller needs (containment, same-subnet, VTEP derivation), on
 * bigints so IPv4 and IPv6 share one code path. Pure.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  family: 'ipv4' | 'ipv6';
  /** network address as a number (host bits cleared) */
  net: bigint;
  len: number;
  bits: 32 | 128;
}

export function ipToBigint(ip: string): bigint {
  if (isIPv4(ip)) return ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  if (!isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const parse = (s: string | undefined): string[] => (s ? s.split(':') : []);
  let h = parse(head);
  let t = parse(tail);
  // an embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups
  const v4 = (groups: string[]): string[] => {
    const last = groups[groups.length - 1];
    if (last && last.includes('.')) {
      const n = ipToBigint(last);
      return [...groups.slice(0, -1), (n >> 16n).toString(16), (n & 0xffffn).toString(16)];
    }
    return groups;
  };
  if (tail === undefined) h = v4(h);
  else t = v4(t);
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

export function bigintToIp(n: bigint, family: 'ipv4' | 'ipv6'): string {
  if (family === 'ipv4') return [24n, 16n, 8n, 0n].map((s) => Number((n >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((n >> s) & 0xffffn).toString(16));
  // compress the longest run of zero groups (RFC 5952)
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export function parseCidr(text: string): Cidr {
  const [addr, lenText] = text.split('/');
  const family = isIPv4(addr ?? '') ? 'ipv4' : 'ipv6';
  const bits = family === 'ipv4' ? 32 : 128;
  const len = lenText === undefined ? bits : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > bits) throw new Error(`bad prefix length in ${text}`);
  const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - len)) - 1n);
  return { family, net: ipToBigint(addr!) & mask, len, bits };
}

export const formatCidr = (c: Cidr): string => `${bigintToIp(c.net, c.family)}/${c.len}`;

/** Is `inner` (a prefix or an address) entirely inside `outer`? */
export function cidrContains(outer: string | Cidr, inner: string | Cidr): boolean {
  const o = typeof outer === 'string' ? parseCidr(outer) : outer;
  const i = typeof inner === 'string' ? parseCidr(inner) : inner;
  if (o.family !== i.family || i.len < o.len) return false;
  return i.net >> BigInt(o.bits - o.len) === o.net >> BigInt(o.bits - o.len);
}

/** Both addresses inside one subnet of the given node's address/len (for cross-subnet modes). */
export function sameSubnet(nodeCidr: string, otherIp: string): boolean {
  if (!nodeCidr.includes('/')) return false;
  const c = parseCidr(nodeCidr);
  return cidrContains(c, otherIp);
}

/** A stable locally administered unicast MAC for a node's VXLAN device (from its name). */
export function vtepMacFor(nodeName: string): string {
  const h = createHash('sha256').update(`tsnet-vtep:${nodeName}`).digest();
  const bytes = [(h[0]! & 0xfc) | 0x02, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export const familyOf = (ip: string): 'ipv4' | 'ipv6' => (isIPv4(ip.split('/')[0] ?? '') ? 'ipv4' : 'ipv6');
