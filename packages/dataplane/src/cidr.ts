// Small, pure IPv4/IPv6 address helpers: just what the desired-state computation needs
// (parse, contains, canonical text), on bigint so both families share one code path.
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** network address (host bits cleared) */
  addr: bigint;
  len: number;
  /** canonical text, e.g. `10.0.0.0/26`, `fd00::/122` */
  text: string;
}

export function familyOf(ip: string): Family {
  const bare = ip.split('/')[0]!;
  if (isIPv4(bare)) return 4;
  if (isIPv6(bare)) return 6;
  throw new Error(`"${ip}" is not an IP address`);
}

function v4ToBig(ip: string): bigint {
  return ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function v6ToBig(ip: string): bigint {
  let text = ip;
  // embedded IPv4 tail (::ffff:1.2.3.4)
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4tail) {
    const n = v4ToBig(v4tail[1]!);
    text = text.slice(0, -v4tail[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export function ipToBig(ip: string): bigint {
  return familyOf(ip) === 4 ? v4ToBig(ip) : v6ToBig(ip);
}

export function bigToIp(n: bigint, family: Family): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((n >> s) & 0xffffn).toString(16));
  // compress the longest run of zero groups (RFC 5952)
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
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

const bits = (f: Family): number => (f === 4 ? 32 : 128);

const V4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/;

/** IPv4 fast path on plain numbers: 10 k routes are parsed on every pass. */
function parseV4(m: RegExpExecArray, text: string): Cidr {
  const o = [m[1], m[2], m[3], m[4]].map(Number);
  const len = m[5] === undefined ? 32 : Number(m[5]);
  if (o.some((x) => x > 255) || len > 32) throw new Error(`"${text}" is not an IPv4 CIDR`);
  const n = ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
  const net = len === 0 ? 0 : (n & (0xffffffff << (32 - len))) >>> 0;
  const addr = `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}`;
  return { family: 4, addr: BigInt(net), len, text: `${addr}/${len}` };
}

/**
 * Parsed CIDRs by text: the agent parses the same few hundred pool, block and route texts on
 * every pass (BigInt arithmetic each time). Results are frozen, so sharing them is safe; the
 * cache is dropped whole when it grows past its bound.
 */
const parsedCidrs = new Map<string, Cidr>();
const PARSED_CIDRS_MAX = 8192;

/** Parses `a.b.c.d/n`, `x::/n` or a bare address (as a host route); clears host bits. */
export function parseCidr(text: string): Cidr {
  let c = parsedCidrs.get(text);
  if (c === undefined) {
    c = Object.freeze(parseCidrText(text));
    if (parsedCidrs.size >= PARSED_CIDRS_MAX) parsedCidrs.clear();
    parsedCidrs.set(text, c);
  }
  return c;
}

function parseCidrText(text: string): Cidr {
  const v4 = V4_CIDR.exec(text);
  if (v4) return parseV4(v4, text);
  const [ip, lenText] = text.split('/');
  const family = familyOf(ip!);
  const len = lenText === undefined ? bits(family) : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > bits(family))
    throw new Error(`"${text}" has a bad prefix length`);
  const hostBits = BigInt(bits(family) - len);
  const addr = (ipToBig(ip!) >> hostBits) << hostBits;
  return { family, addr, len, text: `${bigToIp(addr, family)}/${len}` };
}

/** Canonical `addr/len` text (host routes keep their /32 or /128). */
export function canonicalCidr(text: string): string {
  return parseCidr(text).text;
}

/** True when `inner` (a CIDR or an address) lies inside `outer`. */
export function contains(outer: Cidr, inner: Cidr | string): boolean {
  const c = typeof inner === 'string' ? parseCidr(inner) : inner;
  if (c.family !== outer.family || c.len < outer.len) return false;
  const hostBits = BigInt(bits(outer.family) - outer.len);
  return c.addr >> hostBits === outer.addr >> hostBits;
}
