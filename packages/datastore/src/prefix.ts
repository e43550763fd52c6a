// CIDR text in records (a peer's import list): parse it, and write it in one canonical form so
// that equal prefixes compare equal as strings (IPv6 lower-case and compressed, length in decimal).
import { isIP } from 'node:net';

export interface ParsedPrefix {
  family: 4 | 6;
  /** the network in canonical text, host bits cleared, e.g. '10.0.0.0/8', 'fd00::/8' */
  canonical: string;
  /** the text had bits set after the prefix length (e.g. 10.1.0.0/8) */
  hostBitsSet: boolean;
}

/** Parses 'ADDRESS/LENGTH'; undefined when it is not a CIDR of either family. */
export function parsePrefix(text: string): ParsedPrefix | undefined {
  const m = /^([0-9A-Fa-f.:]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const family = isIP(m[1]!);
  if (family !== 4 && family !== 6) return undefined;
  const width = family === 4 ? 32 : 128;
  const len = Number(m[2]);
  if (len > width) return undefined;
  const value = family === 4 ? v4ToBig(m[1]!) : v6ToBig(m[1]!);
  const hostMask = (1n << BigInt(width - len)) - 1n;
  const net = value & ~hostMask;
  return { family, canonical: `${bigToIp(net, family)}/${len}`, hostBitsSet: net !== value };
}

function v4ToBig(ip: string): bigint {
  return ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function v6ToBig(ip: string): bigint {
  // the URL parser turns an embedded IPv4 tail into hex groups and compresses: expand from there
  const text = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function bigToIp(n: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((n >> s) & 0xffffn).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}
