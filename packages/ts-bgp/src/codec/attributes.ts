/**
 * Path attributes as a descriptor table (BIRD's attrs.c idea): one row per attribute with its
 * expected flags, length bounds, RFC 7606 error action, decoder and encoder. Adding an attribute
 * is adding a row. MP_REACH/MP_UNREACH carry NLRI and are decoded in mp.ts, encoded by the packer.
 */
import {
  AS_TRANS,
  AsPathSegmentType,
  AttrFlag,
  AttrType,
  Origin,
  UpdateSubcode,
  type AsPathSegment,
  type Family,
  type MpReach,
  type MpUnreach,
  type PathAttributes,
  type UpdateAction,
} from '../types.js';
import { ipv4ToUint, readIpv4, Writer } from './bytes.js';
import { decodeMpReach, decodeMpUnreach } from './mp.js';

/** Per-session facts the attribute codecs depend on. */
export interface AttrContext {
  fourOctetAs: boolean;
  /** the peer is external: LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST are discarded (RFC 7606 §7.5, §7.9, §7.10) */
  ebgp?: boolean;
  addPathReceive?: ReadonlySet<Family>;
}

/** Attributes decoded so far, including the ones merged or carried separately afterwards. */
export interface DecodedAttrs extends Partial<PathAttributes> {
  as4Path?: AsPathSegment[];
  as4Aggregator?: { asn: number; address: string };
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
}

/** A decoder's complaint: NOTIFICATION subcode, reason, and an action when it differs from the row's. */
export interface AttrProblem {
  subcode: number;
  reason: string;
  action?: UpdateAction;
}

export interface AttrDescriptor {
  code: number;
  name: string;
  /** expected Optional and Transitive bits (Partial and Extended Length are not compared) */
  flags: number;
  minLen: number;
  maxLen: number;
  /** the value length must be a multiple of this */
  multipleOf?: number;
  /** RFC 7606 action when the attribute is malformed (bad length or value) */
  onError: UpdateAction;
  /**
   * Action when the Optional/Transitive bits are wrong: RFC 7606 §3(c) says treat-as-withdraw
   * unless the attribute's own spec says otherwise (MP_* reset, RFC 6793 §6 discards AS4_*).
   */
  onFlagsError?: UpdateAction;
  /** RFC 7606 §7.5/7.9/7.10: silently dropped when received from an external peer */
  ibgpOnly?: boolean;
  decode(buf: Buffer, start: number, end: number, ctx: AttrContext, out: DecodedAttrs): AttrProblem | undefined;
  /** the value bytes to send, or undefined when the attribute is absent */
  encode?(a: PathAttributes, ctx: AttrContext): Buffer | undefined;
}

const WELL_KNOWN = AttrFlag.TRANSITIVE;
const OPT_TRANS = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;
const OPT = AttrFlag.OPTIONAL;

const problem = (subcode: number, reason: string, action?: UpdateAction): AttrProblem =>
  action ? { subcode, reason, action } : { subcode, reason };

const u32 = (v: number): Buffer => {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
};

/** AS_PATH / AS4_PATH segments with `asSize`-byte ASNs; a string says why they are malformed. */
export function decodeAsPath(buf: Buffer, start: number, end: number, asSize: number, allowConfed: boolean): AsPathSegment[] | string {
  const segs: AsPathSegment[] = [];
  let p = start;
  while (p < end) {
    if (p + 2 > end) return 'truncated segment header';
    const type = buf[p]!;
    const count = buf[p + 1]!;
    p += 2;
    if (type < AsPathSegmentType.AS_SET || type > (allowConfed ? AsPathSegmentType.AS_CONFED_SET : AsPathSegmentType.AS_SEQUENCE)) {
      return `invalid segment type ${type}`;
    }
    if (count === 0) return 'empty segment';
    if (p + count * asSize > end) return 'segment overruns the attribute';
    const asns = new Array<number>(count);
    for (let i = 0; i < count; i++, p += asSize) asns[i] = asSize === 4 ? buf.readUInt32BE(p) : buf.readUInt16BE(p);
    segs.push({ type, asns });
  }
  return segs;
}

export function encodeAsPath(segs: readonly AsPathSegment[], asSize: number): Buffer {
  const w = new Writer(64);
  for (const s of segs) {
    for (let i = 0; i < s.asns.length || i === 0; i += 255) {
      const part = s.asns.slice(i, i + 255);
      if (part.length === 0) break;
      w.u8(s.type).u8(part.length);
      for (const asn of part) {
        if (asSize === 4) w.u32(asn);
        else w.u16(asn > 0xffff ? AS_TRANS : asn);
      }
    }
  }
  return w.toBuffer();
}

const needsAs4 = (asn: number): boolean => asn > 0xffff;
const isConfed = (s: AsPathSegment): boolean =>
  s.type === AsPathSegmentType.AS_CONFED_SEQUENCE || s.type === AsPathSegmentType.AS_CONFED_SET;

const aggregatorValue = (asn: number, address: string, asSize: number): Buffer => {
  const b = Buffer.allocUnsafe(asSize + 4);
  if (asSize === 4) b.writeUInt32BE(asn >>> 0, 0);
  else b.writeUInt16BE(needsAs4(asn) ? AS_TRANS : asn, 0);
  b.writeUInt32BE(ipv4ToUint(address), asSize);
  return b;
};

const u32List = (buf: Buffer, start: number, end: number): number[] => {
  const out: number[] = [];
  for (let p = start; p < end; p += 4) out.push(buf.readUInt32BE(p));
  return out;
};

/** The table, by type code (RFC 4271 §5, RFC 1997, RFC 4456, RFC 4760, RFC 6793, RFC 8092). */
export const ATTRIBUTES: readonly AttrDescriptor[] = [
  {
    code: AttrType.ORIGIN, name: 'ORIGIN', flags: WELL_KNOWN, minLen: 1, maxLen: 1, onError: 'treat-as-withdraw',
    decode(buf, s, _e, _c, out) {
      if (buf[s]! > Origin.INCOMPLETE) return problem(UpdateSubcode.INVALID_ORIGIN_ATTRIBUTE, `undefined ORIGIN value ${buf[s]}`);
      out.origin = buf[s]!;
      return undefined;
    },
    encode: (a) => Buffer.from([a.origin]),
  },
  {
    code: AttrType.AS_PATH, name: 'AS_PATH', flags: WELL_KNOWN, minLen: 0, maxLen: 0xffff, onError: 'treat-as-withdraw',
    decode(buf, s, e, ctx, out) {
      const segs = decodeAsPath(buf, s, e, ctx.fourOctetAs ? 4 : 2, true);
      if (typeof segs === 'string') return problem(UpdateSubcode.MALFORMED_AS_PATH, `malformed AS_PATH: ${segs}`);
      // RFC 5065 §5.3 / RFC 7606 §7.2: confederation segments never come from an external peer
      if (ctx.ebgp && segs.some(isConfed)) return problem(UpdateSubcode.MALFORMED_AS_PATH, 'AS_PATH with confederation segments from an external peer');
      out.asPath = segs;
      return undefined;
    },
    encode: (a, ctx) => encodeAsPath(a.asPath, ctx.fourOctetAs ? 4 : 2),
  },
  {
    code: AttrType.NEXT_HOP, name: 'NEXT_HOP', flags: WELL_KNOWN, minLen: 4, maxLen: 4, onError: 'treat-as-withdraw',
    decode(buf, s, _e, _c, out) {
      const v = buf.readUInt32BE(s);
      // RFC 4271 §6.3: not a valid host address (0.0.0.0, multicast, class E)
      if (v === 0 || v >= 0xe0000000) return problem(UpdateSubcode.INVALID_NEXT_HOP_ATTRIBUTE, `invalid NEXT_HOP ${readIpv4(buf, s)}`);
      out.nextHop = readIpv4(buf, s);
      return undefined;
    },
    encode: (a) => (a.nextHop !== undefined && !a.nextHop.includes(':') ? u32(ipv4ToUint(a.nextHop)) : undefined),
  },
  {
    code: AttrType.MED, name: 'MULTI_EXIT_DISC', flags: OPT, minLen: 4, maxLen: 4, onError: 'treat-as-withdraw',
    decode(buf, s, _e, _c, out) {
      out.med = buf.readUInt32BE(s);
      return undefined;
    },
    encode: (a) => (a.med !== undefined ? u32(a.med) : undefined),
  },
  {
    code: AttrType.LOCAL_PREF, name: 'LOCAL_PREF', flags: WELL_KNOWN, minLen: 4, maxLen: 4, onError: 'treat-as-withdraw', ibgpOnly: true,
    decode(buf, s, _e, _c, out) {
      out.localPref = buf.readUInt32BE(s);
      return undefined;
    },
    encode: (a, ctx) => (a.localPref !== undefined && !ctx.ebgp ? u32(a.localPref) : undefined),
  },
  {
    code: AttrType.ATOMIC_AGGREGATE, name: 'ATOMIC_AGGREGATE', flags: WELL_KNOWN, minLen: 0, maxLen: 0, onError: 'attribute-discard',
    decode(_b, _s, _e, _c, out) {
      out.atomicAggregate = true;
      return undefined;
    },
    encode: (a) => (a.atomicAggregate ? Buffer.alloc(0) : undefined),
  },
  {
    code: AttrType.AGGREGATOR, name: 'AGGREGATOR', flags: OPT_TRANS, minLen: 6, maxLen: 8, onError: 'attribute-discard',
    decode(buf, s, e, ctx, out) {
      const asSize = ctx.fourOctetAs ? 4 : 2;
      if (e - s !== asSize + 4) return problem(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, `AGGREGATOR length ${e - s} on a ${asSize}-octet AS session`);
      out.aggregator = { asn: asSize === 4 ? buf.readUInt32BE(s) : buf.readUInt16BE(s), address: readIpv4(buf, s + asSize) };
      return undefined;
    },
    encode: (a, ctx) => (a.aggregator ? aggregatorValue(a.aggregator.asn, a.aggregator.address, ctx.fourOctetAs ? 4 : 2) : undefined),
  },
  {
    code: AttrType.COMMUNITIES, name: 'COMMUNITIES', flags: OPT_TRANS, minLen: 4, maxLen: 0xffff, multipleOf: 4, onError: 'treat-as-withdraw',
    decode(buf, s, e, _c, out) {
      out.communities = u32List(buf, s, e);
      return undefined;
    },
    encode: (a) => (a.communities?.length ? Buffer.concat(a.communities.map(u32)) : undefined),
  },
  {
    code: AttrType.ORIGINATOR_ID, name: 'ORIGINATOR_ID', flags: OPT, minLen: 4, maxLen: 4, onError: 'treat-as-withdraw', ibgpOnly: true,
    decode(buf, s, _e, _c, out) {
      out.originatorId = readIpv4(buf, s);
      return undefined;
    },
    encode: (a, ctx) => (a.originatorId !== undefined && !ctx.ebgp ? u32(ipv4ToUint(a.originatorId)) : undefined),
  },
  {
    code: AttrType.CLUSTER_LIST, name: 'CLUSTER_LIST', flags: OPT, minLen: 4, maxLen: 0xffff, multipleOf: 4, onError: 'treat-as-withdraw', ibgpOnly: true,
    decode(buf, s, e, _c, out) {
      out.clusterList = [];
      for (let p = s; p < e; p += 4) out.clusterList.push(readIpv4(buf, p));
      return undefined;
    },
    encode: (a, ctx) =>
      a.clusterList?.length && !ctx.ebgp ? Buffer.concat(a.clusterList.map((c) => u32(ipv4ToUint(c)))) : undefined,
  },
  {
    code: AttrType.MP_REACH_NLRI, name: 'MP_REACH_NLRI', flags: OPT, minLen: 5, maxLen: 0xffff, onError: 'session-reset', onFlagsError: 'session-reset',
    decode: decodeMpReach,
  },
  {
    code: AttrType.MP_UNREACH_NLRI, name: 'MP_UNREACH_NLRI', flags: OPT, minLen: 3, maxLen: 0xffff, onError: 'session-reset', onFlagsError: 'session-reset',
    decode: decodeMpUnreach,
  },
  {
    // RFC 6793 §6: a malformed AS4_PATH is discarded; NEW speakers ignore it on 4-octet sessions
    code: AttrType.AS4_PATH, name: 'AS4_PATH', flags: OPT_TRANS, minLen: 0, maxLen: 0xffff, onError: 'attribute-discard', onFlagsError: 'attribute-discard',
    decode(buf, s, e, ctx, out) {
      const segs = decodeAsPath(buf, s, e, 4, false);
      if (typeof segs === 'string') return problem(UpdateSubcode.MALFORMED_AS_PATH, `malformed AS4_PATH: ${segs}`);
      if (!ctx.fourOctetAs) out.as4Path = segs;
      return undefined;
    },
    encode: (a, ctx) =>
      !ctx.fourOctetAs && a.asPath.some((s) => s.asns.some(needsAs4))
        ? encodeAsPath(a.asPath.filter((s) => !isConfed(s)), 4)
        : undefined,
  },
  {
    code: AttrType.AS4_AGGREGATOR, name: 'AS4_AGGREGATOR', flags: OPT_TRANS, minLen: 8, maxLen: 8, onError: 'attribute-discard', onFlagsError: 'attribute-discard',
    decode(buf, s, _e, ctx, out) {
      if (!ctx.fourOctetAs) out.as4Aggregator = { asn: buf.readUInt32BE(s), address: readIpv4(buf, s + 4) };
      return undefined;
    },
    encode: (a, ctx) =>
      !ctx.fourOctetAs && a.aggregator && needsAs4(a.aggregator.asn) ? aggregatorValue(a.aggregator.asn, a.aggregator.address, 4) : undefined,
  },
  {
    // RFC 8092 §6: length not a non-zero multiple of 12 → treat-as-withdraw
    code: AttrType.LARGE_COMMUNITY, name: 'LARGE_COMMUNITY', flags: OPT_TRANS, minLen: 12, maxLen: 0xffff, multipleOf: 12, onError: 'treat-as-withdraw',
    decode(buf, s, e, _c, out) {
      out.largeCommunities = [];
      for (let p = s; p < e; p += 12) out.largeCommunities.push([buf.readUInt32BE(p), buf.readUInt32BE(p + 4), buf.readUInt32BE(p + 8)]);
      return undefined;
    },
    encode(a) {
      if (!a.largeCommunities?.length) return undefined;
      const w = new Writer(12 * a.largeCommunities.length);
      for (const [g, l1, l2] of a.largeCommunities) w.u32(g).u32(l1).u32(l2);
      return w.toBuffer();
    },
  },
];

/** Descriptor by type code (sparse array indexed 0..255). */
export const ATTRIBUTE_BY_CODE: ReadonlyArray<AttrDescriptor | undefined> = (() => {
  const t = new Array<AttrDescriptor | undefined>(256).fill(undefined);
  for (const d of ATTRIBUTES) t[d.code] = d;
  return t;
})();

/** Write one attribute (flags, type, 1- or 2-byte length, value). */
export function writeAttribute(w: Writer, flags: number, type: number, value: Uint8Array): void {
  const ext = value.length > 255;
  w.u8((flags & ~AttrFlag.EXTENDED_LENGTH) | (ext ? AttrFlag.EXTENDED_LENGTH : 0)).u8(type);
  if (ext) w.u16(value.length);
  else w.u8(value.length);
  w.bytes(value);
}

/**
 * Encode every attribute of `a` except MP_REACH/MP_UNREACH, in ascending type order, unknown
 * optional transitive ones included with the Partial bit set (RFC 4271 §5).
 */
export function encodeAttributes(a: PathAttributes, ctx: AttrContext): Buffer {
  const entries: Array<{ flags: number; type: number; value: Uint8Array }> = [];
  for (const d of ATTRIBUTES) {
    const value = d.encode?.(a, ctx);
    if (value) entries.push({ flags: d.flags, type: d.code, value });
  }
  for (const u of a.unknown ?? []) {
    if ((u.flags & OPT_TRANS) === OPT_TRANS && !ATTRIBUTE_BY_CODE[u.type]) {
      entries.push({ flags: u.flags | AttrFlag.PARTIAL, type: u.type, value: u.value });
    }
  }
  entries.sort((x, y) => x.type - y.type);
  const w = new Writer(128);
  for (const e of entries) writeAttribute(w, e.flags, e.type, e.value);
  return w.toBuffer();
}
