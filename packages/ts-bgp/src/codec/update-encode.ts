/**
 * UPDATE encoding: one message (encodeUpdate) and the packer that splits any number of prefixes
 * sharing one attribute set into as few ≤4096-byte UPDATEs as possible. IPv4 goes in the body
 * fields; IPv6 in MP_REACH_NLRI / MP_UNREACH_NLRI, placed first (RFC 7606 §5.1).
 */
import {
  AttrFlag,
  AttrType,
  BGP_HEADER_LEN,
  BGP_MAX_MESSAGE_LEN,
  MessageType,
  Safi,
  type Family,
  type PathAttributes,
  type Prefix,
  type SessionCodecOptions,
} from '../types.js';
import { encodeAttributes, type AttrContext } from './attributes.js';
import { ipv6ToBytes } from './bytes.js';
import { afiOfFamily } from './capabilities.js';
import { writeHeader } from './messages.js';
import { prefixKey, prefixWireLen, writeIpv4Prefix, writeIpv6Prefix } from './prefix.js';

export interface UpdateEncodeOptions extends SessionCodecOptions {
  /** the peer is external: LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are not sent */
  ebgp?: boolean;
}

/** A prefix to send, with its add-path identifier when add-path send is negotiated. */
export type OutboundPrefix = Prefix & { pathId?: number };

const ctxOf = (o: UpdateEncodeOptions): AttrContext => (o.ebgp ? { fourOctetAs: o.fourOctetAs, ebgp: true } : { fourOctetAs: o.fourOctetAs });

const MP_HEADER = 4; // flags, type, 2-byte extended length

/** The MP_REACH_NLRI fields before the NLRI: AFI, SAFI, next hop length, next hop, reserved. */
function mpReachHead(family: Family, attrs: PathAttributes): Buffer {
  const afi = afiOfFamily(family);
  let nh: Buffer;
  if (family === 'ipv6') {
    if (attrs.nextHopV6 === undefined) throw new Error('IPv6 announcement without nextHopV6: set the IPv6 next hop');
    nh = attrs.nextHopLinkLocal !== undefined
      ? Buffer.concat([ipv6ToBytes(attrs.nextHopV6), ipv6ToBytes(attrs.nextHopLinkLocal)])
      : ipv6ToBytes(attrs.nextHopV6);
  } else {
    throw new Error('IPv4 prefixes are sent in the UPDATE body, not MP_REACH_NLRI');
  }
  return Buffer.concat([Buffer.from([afi >> 8, afi & 255, Safi.UNICAST, nh.length]), nh, Buffer.from([0])]);
}

type Writer = (buf: Buffer, at: number, key: number | string, pathId?: number) => number;
const writePrefix: Writer = (buf, at, key, pathId) =>
  typeof key === 'number' ? writeIpv4Prefix(buf, at, key, pathId) : writeIpv6Prefix(buf, at, key, pathId);
const keyLen = (key: number | string): number =>
  typeof key === 'number' ? key % 64 : Number(key.slice(key.lastIndexOf('/') + 1));

/**
 * Pack `keys` (RIB keys of one family, see prefix.ts) into UPDATEs. `attrs` null → withdrawals.
 * `pathIds[i]` is the add-path identifier of keys[i] (0 when absent) if add-path send is on.
 */
export function encodeUpdatesByKey(
  family: Family,
  attrs: PathAttributes | null,
  keys: ReadonlyArray<number | string>,
  opts: UpdateEncodeOptions,
  pathIds?: ArrayLike<number>,
): Buffer[] {
  const addPath = opts.addPathSend?.has(family) ?? false;
  const ctx = ctxOf(opts);
  // layout: header | withdrawn len | [withdrawn] | attr len | [MP attr head + NLRI] [attrs] | [NLRI]
  let before: Buffer; // attribute bytes written before the prefixes (MP_* head) — IPv6 only
  let after: Buffer; // attribute bytes after the prefixes (the rest of the attribute block)
  let inBody: 'withdrawn' | 'nlri' | 'mp';
  if (family === 'ipv4') {
    before = Buffer.alloc(0);
    if (attrs) {
      if (attrs.nextHop === undefined) throw new Error('IPv4 announcement without nextHop: set the NEXT_HOP');
      after = encodeAttributes(attrs, ctx);
      inBody = 'nlri';
    } else {
      after = Buffer.alloc(0);
      inBody = 'withdrawn';
    }
  } else {
    const afi = afiOfFamily(family);
    before = attrs ? mpReachHead(family, attrs) : Buffer.from([afi >> 8, afi & 255, Safi.UNICAST]);
    after = attrs ? encodeAttributes({ ...attrs, nextHop: undefined }, ctx) : Buffer.alloc(0);
    inBody = 'mp';
  }
  const fixed = BGP_HEADER_LEN + 4 + (inBody === 'mp' ? MP_HEADER + before.length : 0) + after.length;
  const room = BGP_MAX_MESSAGE_LEN - fixed;
  if (room < prefixWireLen(family === 'ipv4' ? 32 : 128, addPath)) {
    throw new Error(`path attributes too large (${after.length} bytes) to fit any prefix in a 4096-byte UPDATE`);
  }
  const scratch = Buffer.allocUnsafe(BGP_MAX_MESSAGE_LEN);
  const out: Buffer[] = [];
  let i = 0;
  while (i < keys.length) {
    // prefix area starts after the fixed fields in front of it
    let pos = BGP_HEADER_LEN + 2;
    if (inBody === 'mp') pos += 2 + MP_HEADER + before.length;
    else if (inBody === 'nlri') pos += 2 + after.length;
    const startPos = pos;
    while (i < keys.length && pos - startPos + prefixWireLen(keyLen(keys[i]!), addPath) <= room) {
      pos = writePrefix(scratch, pos, keys[i]!, addPath ? (pathIds?.[i] ?? 0) : undefined);
      i++;
    }
    const prefixBytes = pos - startPos;
    const b = BGP_HEADER_LEN;
    if (inBody === 'withdrawn') {
      scratch.writeUInt16BE(prefixBytes, b);
      scratch.writeUInt16BE(0, pos);
      pos += 2;
    } else if (inBody === 'nlri') {
      scratch.writeUInt16BE(0, b);
      scratch.writeUInt16BE(after.length, b + 2);
      after.copy(scratch, b + 4);
    } else {
      scratch.writeUInt16BE(0, b);
      const mpLen = before.length + prefixBytes;
      scratch.writeUInt16BE(MP_HEADER + mpLen + after.length, b + 2);
      scratch[b + 4] = AttrFlag.OPTIONAL | AttrFlag.EXTENDED_LENGTH;
      scratch[b + 5] = attrs ? AttrType.MP_REACH_NLRI : AttrType.MP_UNREACH_NLRI;
      scratch.writeUInt16BE(mpLen, b + 6);
      before.copy(scratch, b + 8);
      pos += after.copy(scratch, pos);
    }
    writeHeader(scratch, 0, MessageType.UPDATE, pos);
    out.push(Buffer.from(scratch.subarray(0, pos)));
  }
  return out;
}

function byFamily(prefixes: ReadonlyArray<OutboundPrefix>): Map<Family, { keys: Array<number | string>; ids: number[] }> {
  const m = new Map<Family, { keys: Array<number | string>; ids: number[] }>();
  for (const p of prefixes) {
    let g = m.get(p.family);
    if (!g) m.set(p.family, (g = { keys: [], ids: [] }));
    g.keys.push(prefixKey(p));
    g.ids.push(p.pathId ?? 0);
  }
  return m;
}

/** Announce `prefixes` (any mix of families) with one attribute set, packed into ≤4096-byte UPDATEs. */
export function encodeUpdates(attrs: PathAttributes, prefixes: ReadonlyArray<OutboundPrefix>, opts: UpdateEncodeOptions): Buffer[] {
  const out: Buffer[] = [];
  for (const [family, g] of byFamily(prefixes)) out.push(...encodeUpdatesByKey(family, attrs, g.keys, opts, g.ids));
  return out;
}

/** Withdraw `prefixes` (any mix of families), packed into ≤4096-byte UPDATEs. */
export function encodeWithdrawals(prefixes: ReadonlyArray<OutboundPrefix>, opts: UpdateEncodeOptions): Buffer[] {
  const out: Buffer[] = [];
  for (const [family, g] of byFamily(prefixes)) out.push(...encodeUpdatesByKey(family, null, g.keys, opts, g.ids));
  return out;
}

/**
 * One UPDATE with withdrawals (any families) and/or announcements of one family sharing
 * `attributes`. Throws an Error when it would exceed 4096 bytes — use encodeUpdates for big lists.
 */
export function encodeUpdate(
  u: { withdrawn?: ReadonlyArray<OutboundPrefix>; attributes?: PathAttributes; nlri?: ReadonlyArray<OutboundPrefix> },
  opts: UpdateEncodeOptions,
): Buffer {
  const nlri = u.nlri ?? [];
  if (nlri.length > 0 && !u.attributes) throw new Error('announcing prefixes needs path attributes');
  if (new Set(nlri.map((p) => p.family)).size > 1) throw new Error('one UPDATE announces one family: use encodeUpdates');
  const messages = [
    ...(u.withdrawn?.length ? encodeWithdrawals(u.withdrawn, opts) : []),
    ...(nlri.length > 0 ? encodeUpdates(u.attributes!, nlri, opts) : []),
  ];
  const expected = new Set((u.withdrawn ?? []).map((p) => p.family)).size + (nlri.length > 0 ? 1 : 0);
  if (messages.length > expected) {
    throw new Error('UPDATE too large for one message: use encodeUpdates / encodeWithdrawals');
  }
  // splice the fields of the per-family messages into one UPDATE
  const withdrawnBody: Buffer[] = [];
  const attrBlocks: Buffer[] = [];
  const nlriBody: Buffer[] = [];
  for (const m of messages) {
    const b = BGP_HEADER_LEN;
    const wEnd = b + 2 + m.readUInt16BE(b);
    const aEnd = wEnd + 2 + m.readUInt16BE(wEnd);
    withdrawnBody.push(m.subarray(b + 2, wEnd));
    attrBlocks.push(m.subarray(wEnd + 2, aEnd));
    nlriBody.push(m.subarray(aEnd));
  }
  const wb = Buffer.concat(withdrawnBody);
  const ab = Buffer.concat(attrBlocks);
  const nb = Buffer.concat(nlriBody);
  const total = BGP_HEADER_LEN + 4 + wb.length + ab.length + nb.length;
  if (total > BGP_MAX_MESSAGE_LEN) throw new Error(`UPDATE of ${total} bytes exceeds 4096: use encodeUpdates`);
  const buf = Buffer.allocUnsafe(total);
  writeHeader(buf, 0, MessageType.UPDATE, total);
  let p = BGP_HEADER_LEN;
  p = buf.writeUInt16BE(wb.length, p);
  p += wb.copy(buf, p);
  p = buf.writeUInt16BE(ab.length, p);
  p += ab.copy(buf, p);
  nb.copy(buf, p);
  return buf;
}

/** End-of-RIB marker (RFC 4724 §2): empty UPDATE for IPv4, empty MP_UNREACH_NLRI otherwise. */
export function encodeEndOfRib(family: Family): Buffer {
  if (family === 'ipv4') {
    const buf = Buffer.alloc(BGP_HEADER_LEN + 4);
    writeHeader(buf, 0, MessageType.UPDATE, buf.length);
    return buf;
  }
  const afi = afiOfFamily(family);
  const body = [0, 0, 0, 6, AttrFlag.OPTIONAL, AttrType.MP_UNREACH_NLRI, 3, afi >> 8, afi & 255, Safi.UNICAST];
  const buf = Buffer.alloc(BGP_HEADER_LEN + body.length);
  writeHeader(buf, 0, MessageType.UPDATE, buf.length);
  buf.set(body, BGP_HEADER_LEN);
  return buf;
}
