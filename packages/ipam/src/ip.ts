// Pure address arithmetic on bigints: parse/format IPv4 and IPv6, CIDR containment and overlap,
// block and ordinal computation. No I/O; tested with plain values.
import { isIP } from 'node:net';

export type Family = 4 | 6;

export interface ParsedIp {
  family: Family;
  value: bigint;
}

export interface ParsedCidr {
  family: Family;
  /** Network address (host bits zero). */
  network: bigint;
  prefix: number;
}

export const familyBits = (f: Family): number => (f === 4 ? 32 : 128);

/** Parses an IPv4 or IPv6 address (no prefix); undefined when invalid. */
export function parseIp(text: string): ParsedIp | undefined {
  const v = isIP(text);
  if (v === 4) {
    return { family: 4, value: text.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n) };
  }
  if (v !== 6) return undefined;
  let s = text;
  // Embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m) {
    const v4 = parseIp(m[2]!)!.value;
    s = `${m[1]}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

/** Canonical text of an address (IPv6 compressed per RFC 5952). */
export function formatIp(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt((7 - i) * 16)) & 0xffffn));
  // Longest run (>= 2) of zero groups is written as '::'.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Canonical form of an address text; undefined when invalid. */
export function canonicalIp(text: string): string | undefined {
  const p = parseIp(text);
  return p && formatIp(p.family, p.value);
}

/**
 * Parses 'ADDR/LEN'. With `strict`, host bits must be zero (a pool or block CIDR); otherwise
 * they are masked off. Undefined when invalid.
 */
export function parseCidr(text: string, strict = false): ParsedCidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lenText)) return undefined;
  const prefix = Number(lenText);
  const bits = familyBits(ip.family);
  if (prefix > bits) return undefined;
  const network = ip.value & maskOf(ip.family, prefix);
  if (strict && network !== ip.value) return undefined;
  return { family: ip.family, network, prefix };
}

export function maskOf(family: Family, prefix: number): bigint {
  const bits = BigInt(familyBits(family));
  const hostBits = bits - BigInt(prefix);
  return ((1n << bits) - 1n) ^ ((1n << hostBits) - 1n);
}

export function formatCidr(c: ParsedCidr): string {
  return `${formatIp(c.family, c.network)}/${c.prefix}`;
}

/** Number of addresses in a CIDR. */
export function cidrSize(c: ParsedCidr): bigint {
  return 1n << BigInt(familyBits(c.family) - c.prefix);
}

export function cidrContainsIp(c: ParsedCidr, ip: ParsedIp): boolean {
  return c.family === ip.family && (ip.value & maskOf(c.family, c.prefix)) === c.network;
}

/** True when `inner` lies within `outer` (equal counts). */
export function cidrContainsCidr(outer: ParsedCidr, inner: ParsedCidr): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && (inner.network & maskOf(outer.family, outer.prefix)) === outer.network;
}

export function cidrsOverlap(a: ParsedCidr, b: ParsedCidr): boolean {
  return cidrContainsCidr(a, b) || cidrContainsCidr(b, a);
}

/** The block (of prefix length `blockSize`) that holds an address. */
export function blockOf(ip: ParsedIp, blockSize: number): ParsedCidr {
  return { family: ip.family, network: ip.value & maskOf(ip.family, blockSize), prefix: blockSize };
}

/** Address offset of `ip` inside `block`. */
export function ordinalOf(block: ParsedCidr, ip: ParsedIp): number {
  return Number(ip.value - block.network);
}

export function ipAt(block: ParsedCidr, ordinal: number): string {
  return formatIp(block.family, block.network + BigInt(ordinal));
}

/** Parses an address or a CIDR (an address is a host prefix); undefined when invalid. */
export function parseIpOrCidr(text: string): ParsedCidr | undefined {
  if (text.includes('/')) return parseCidr(text);
  const ip = parseIp(text);
  return ip && { family: ip.family, network: ip.value, prefix: familyBits(ip.family) };
}
