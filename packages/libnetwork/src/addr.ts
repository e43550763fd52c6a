/** Small address helpers over strings (no dependencies, pure). */
import { isIP } from 'node:net';

/** `10.0.0.5/32` → `10.0.0.5`; a bare address is returned as it is. */
export function stripPrefix(addr: string): string {
  const slash = addr.indexOf('/');
  return slash < 0 ? addr : addr.slice(0, slash);
}

export function familyOf(ip: string): 4 | 6 | 0 {
  return isIP(stripPrefix(ip)) as 4 | 6 | 0;
}

function v4ToBigInt(ip: string): bigint {
  return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6ToBigInt(ip: string): bigint {
  let text = ip;
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4tail) {
    const n = v4ToBigInt(v4tail[1]!);
    text =
      text.slice(0, -v4tail[1]!.length) +
      ((n >> 16n) & 0xffffn).toString(16) +
      ':' +
      (n & 0xffffn).toString(16);
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

export function ipToBigInt(ip: string): bigint {
  return familyOf(ip) === 6 ? v6ToBigInt(ip) : v4ToBigInt(ip);
}

/** True when `ip` lies inside `cidr` (same family). */
export function cidrContains(cidr: string, ip: string): boolean {
  const [net, lenText] = cidr.split('/');
  const fam = familyOf(net!);
  if (fam === 0 || fam !== familyOf(ip)) return false;
  const bits = fam === 4 ? 32 : 128;
  const len = Number(lenText ?? bits);
  const shift = BigInt(bits - len);
  return ipToBigInt(net!) >> shift === ipToBigInt(stripPrefix(ip)) >> shift;
}

/** Canonical form of a CIDR for comparison: network address, lower-case, `/len` always present. */
export function canonicalCidr(cidr: string): string | undefined {
  const [net, lenText] = cidr.trim().split('/');
  const fam = familyOf(net ?? '');
  if (fam === 0) return undefined;
  const bits = fam === 4 ? 32 : 128;
  const len = lenText === undefined ? bits : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > bits) return undefined;
  const shift = BigInt(bits - len);
  const n = (ipToBigInt(net!) >> shift) << shift;
  return `${bigIntToIp(n, fam)}/${len}`;
}

export function bigIntToIp(n: bigint, fam: 4 | 6): string {
  if (fam === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((n >> s) & 0xffffn).toString(16));
  // compress the longest run of zero groups
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
