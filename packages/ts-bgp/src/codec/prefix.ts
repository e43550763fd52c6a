/**
 * NLRI prefixes (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 path identifiers) without an object per
 * prefix on the hot path.
 *
 * Key scheme (what the RIB indexes by):
 * - IPv4: a number, `network * 64 + len`, network being the uint32 address with host bits cleared.
 *   The largest key is below 2^38, so it is an exact double; key % 64 gives the length back.
 * - IPv6: a string, the canonical RFC 5952 text of the masked network plus "/len" ("2001:db8::/32").
 *
 * Host bits: RFC 4271 §4.3 says the value of the trailing bits is irrelevant, so decoding clears
 * them (10.1.2.3/8 on the wire becomes key of 10.0.0.0/8) rather than treating them as an error.
 * A length above 32 (IPv4) / 128 (IPv6) or a prefix running past its field is malformed NLRI.
 */
import { UpdateSubcode, type Family, type NlriView, type Prefix } from '../types.js';
import { ipv4ToUint, ipv6ToBytes, readIpv6, uintToIpv4 } from './bytes.js';
import { BgpError, updateError } from './errors.js';

export const maxPrefixLen = (family: Family): number => (family === 'ipv4' ? 32 : 128);

/** IPv4 key of `addr` (uint32) / `len`, host bits cleared. */
export const ipv4Key = (addr: number, len: number): number =>
  (len === 0 ? 0 : (addr & (0xffffffff << (32 - len))) >>> 0) * 64 + len;

export const ipv4KeyLen = (key: number): number => key % 64;
export const ipv4KeyAddr = (key: number): number => (key - (key % 64)) / 64;

export const ipv4KeyToPrefix = (key: number): Prefix => ({
  family: 'ipv4',
  addr: uintToIpv4(ipv4KeyAddr(key)),
  len: key % 64,
});

const scratch6 = Buffer.alloc(16);

/** IPv6 key of the first ceil(len/8) bytes at `bytes[at..]`, host bits cleared. */
export function ipv6Key(bytes: Uint8Array, len: number, at = 0): string {
  const n = (len + 7) >> 3;
  scratch6.fill(0);
  for (let i = 0; i < n; i++) scratch6[i] = bytes[at + i]!;
  if (len & 7) scratch6[n - 1]! &= (0xff << (8 - (len & 7))) & 0xff;
  return `${readIpv6(scratch6, 0)}/${len}`;
}

export function ipv6KeyToPrefix(key: string): Prefix {
  const slash = key.lastIndexOf('/');
  return { family: 'ipv6', addr: key.slice(0, slash), len: Number(key.slice(slash + 1)) };
}

/** The RIB key of a Prefix (normalizing host bits); throws a one-line Error on a bad address. */
export function prefixKey(p: Prefix): number | string {
  if (p.len < 0 || p.len > maxPrefixLen(p.family) || !Number.isInteger(p.len)) {
    throw new Error(`invalid prefix length ${p.len} for ${p.family} prefix ${p.addr}`);
  }
  return p.family === 'ipv4' ? ipv4Key(ipv4ToUint(p.addr), p.len) : ipv6Key(ipv6ToBytes(p.addr), p.len);
}

export const keyToPrefix = (key: number | string): Prefix =>
  typeof key === 'number' ? ipv4KeyToPrefix(key) : ipv6KeyToPrefix(key);

/** "10.0.0.0/8" or "2001:db8::/32" → Prefix (host bits cleared); throws a one-line Error if invalid. */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  if (slash < 0 || !/^\d{1,3}$/.test(text.slice(slash + 1))) {
    throw new Error(`invalid prefix "${text}": expected ADDRESS/LENGTH`);
  }
  const family: Family = text.includes(':') ? 'ipv6' : 'ipv4';
  return keyToPrefix(prefixKey({ family, addr: text.slice(0, slash), len: Number(text.slice(slash + 1)) }));
}

export const formatPrefix = (p: Prefix): string => `${p.addr}/${p.len}`;

/**
 * Check a run of NLRI; returns the number of prefixes, or -1 when malformed (length above the
 * family maximum, a prefix or path identifier running past `end`).
 */
export function countNlri(buf: Uint8Array, start: number, end: number, family: Family, addPath: boolean): number {
  const max = family === 'ipv4' ? 32 : 128;
  let p = start;
  let count = 0;
  while (p < end) {
    if (addPath) p += 4;
    if (p >= end) return -1;
    const len = buf[p]!;
    if (len > max) return -1;
    p += 1 + ((len + 7) >> 3);
    if (p > end) return -1;
    count++;
  }
  return count;
}

const malformed = (family: Family): BgpError =>
  updateError(UpdateSubcode.INVALID_NETWORK_FIELD, 'session-reset', `malformed ${family} NLRI`);

/**
 * Calls cb(key, len, pathId) for each IPv4 prefix in buf[start, end) — no allocation per prefix.
 * pathId is 0 without add-path. Throws BgpError on malformed NLRI (views from decodeUpdate are
 * already validated).
 */
export function forEachIpv4Prefix(
  buf: Uint8Array,
  start: number,
  end: number,
  cb: (key: number, len: number, pathId: number) => void,
  addPath = false,
): void {
  let p = start;
  while (p < end) {
    let pathId = 0;
    if (addPath) {
      if (p + 4 > end) throw malformed('ipv4');
      pathId = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
      p += 4;
    }
    if (p >= end) throw malformed('ipv4');
    const len = buf[p++]!;
    const n = (len + 7) >> 3;
    if (len > 32 || p + n > end) throw malformed('ipv4');
    let a = 0;
    for (let i = 0; i < 4; i++) a = (a << 8) | (i < n ? buf[p + i]! : 0);
    p += n;
    cb((len === 0 ? 0 : (a & (0xffffffff << (32 - len))) >>> 0) * 64 + len, len, pathId);
  }
}

/**
 * IPv6 counterpart of forEachIpv4Prefix; the key is the canonical "addr/len" string. The two
 * walkers stay separate on purpose: the IPv4 one builds its numeric key inline on the ingest hot
 * path (1 M prefixes), where a shared walker would cost a callback per prefix.
 */
export function forEachIpv6Prefix(
  buf: Uint8Array,
  start: number,
  end: number,
  cb: (key: string, len: number, pathId: number) => void,
  addPath = false,
): void {
  let p = start;
  while (p < end) {
    let pathId = 0;
    if (addPath) {
      if (p + 4 > end) throw malformed('ipv6');
      pathId = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
      p += 4;
    }
    if (p >= end) throw malformed('ipv6');
    const len = buf[p++]!;
    const n = (len + 7) >> 3;
    if (len > 128 || p + n > end) throw malformed('ipv6');
    cb(ipv6Key(buf, len, p), len, pathId);
    p += n;
  }
}

/** Iterate a view with the family's key type. */
export function forEachPrefix(
  view: NlriView,
  cb: (key: number | string, len: number, pathId: number) => void,
): void {
  if (view.family === 'ipv4') forEachIpv4Prefix(view.buf, view.start, view.end, cb, view.addPath);
  else forEachIpv6Prefix(view.buf, view.start, view.end, cb, view.addPath);
}

/** Materialize a view as Prefix objects (slow path: API, logs, tests). */
export function nlriToPrefixes(view: NlriView): Array<Prefix & { pathId?: number }> {
  const out: Array<Prefix & { pathId?: number }> = [];
  forEachPrefix(view, (key, _len, pathId) => {
    const p: Prefix & { pathId?: number } = keyToPrefix(key);
    if (view.addPath) p.pathId = pathId;
    out.push(p);
  });
  return out;
}

export const emptyNlri = (family: Family, addPath = false): NlriView => ({
  family,
  buf: Buffer.alloc(0),
  start: 0,
  end: 0,
  count: 0,
  addPath,
});

/** Bytes a prefix of `len` bits takes on the wire (plus 4 with a path identifier). */
export const prefixWireLen = (len: number, addPath = false): number => 1 + ((len + 7) >> 3) + (addPath ? 4 : 0);

/** Write an IPv4 key as NLRI at `at`; returns the position after it. */
export function writeIpv4Prefix(buf: Uint8Array, at: number, key: number, pathId?: number): number {
  if (pathId !== undefined) {
    buf[at++] = pathId >>> 24;
    buf[at++] = (pathId >>> 16) & 255;
    buf[at++] = (pathId >>> 8) & 255;
    buf[at++] = pathId & 255;
  }
  const len = key % 64;
  const addr = (key - len) / 64;
  buf[at++] = len;
  const n = (len + 7) >> 3;
  for (let i = 0; i < n; i++) buf[at++] = (addr >>> (24 - 8 * i)) & 255;
  return at;
}

/** Write an IPv6 key ("addr/len") as NLRI at `at`; returns the position after it. */
export function writeIpv6Prefix(buf: Uint8Array, at: number, key: string, pathId?: number): number {
  const p = ipv6KeyToPrefix(key);
  if (pathId !== undefined) {
    buf[at++] = pathId >>> 24;
    buf[at++] = (pathId >>> 16) & 255;
    buf[at++] = (pathId >>> 8) & 255;
    buf[at++] = pathId & 255;
  }
  buf[at++] = p.len;
  const bytes = ipv6ToBytes(p.addr);
  const n = (p.len + 7) >> 3;
  for (let i = 0; i < n; i++) buf[at++] = bytes[i]!;
  return at;
}
