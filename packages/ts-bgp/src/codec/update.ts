/**
 * UPDATE decoding (RFC 4271 §4.3) with RFC 7606 error handling: never throws; returns the message
 * with the RFC 7606 action and the errors found. Prefixes stay in the frame as validated views.
 */
import {
  AS_TRANS,
  AsPathSegmentType,
  AttrFlag,
  AttrType,
  BGP_HEADER_LEN,
  MessageType,
  Origin,
  UpdateSubcode,
  type AsPathSegment,
  type PathAttributes,
  type SessionCodecOptions,
  type UpdateMessage,
} from '../types.js';
import { ATTRIBUTE_BY_CODE, type AttrContext, type DecodedAttrs } from './attributes.js';
import { updateError, worseAction, type BgpError } from './errors.js';
import { countNlri, emptyNlri } from './prefix.js';

export interface UpdateDecodeOptions extends SessionCodecOptions {
  /** the peer is external (RFC 7606 §7.5/7.9/7.10 discard LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST) */
  ebgp?: boolean;
}

const isMp = (type: number): boolean => type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI;

/** Count of ASes for RFC 6793 §4.2.3: AS_SET counts one, confederation segments none. */
const pathCount = (segs: readonly AsPathSegment[]): number =>
  segs.reduce(
    (n, s) => n + (s.type === AsPathSegmentType.AS_SEQUENCE ? s.asns.length : s.type === AsPathSegmentType.AS_SET ? 1 : 0),
    0,
  );

/**
 * RFC 6793 §4.2.3 on a 2-octet session: keep the leading (count(AS_PATH) − count(AS4_PATH)) ASes
 * of AS_PATH and append AS4_PATH; AS4_PATH is ignored when it is the longer one.
 */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  let keep = pathCount(asPath) - pathCount(as4Path);
  if (keep < 0) return asPath.map((s) => ({ type: s.type, asns: [...s.asns] }));
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (keep === 0) break;
    if (s.type === AsPathSegmentType.AS_SEQUENCE) {
      const take = Math.min(keep, s.asns.length);
      out.push({ type: s.type, asns: s.asns.slice(0, take) });
      keep -= take;
    } else {
      out.push({ type: s.type, asns: [...s.asns] });
      if (s.type === AsPathSegmentType.AS_SET) keep -= 1;
    }
  }
  for (const s of as4Path) out.push({ type: s.type, asns: [...s.asns] });
  return out;
}

function reconcileAs4(a: DecodedAttrs): void {
  let useAs4Path = a.as4Path !== undefined;
  if (a.aggregator && a.as4Aggregator) {
    // RFC 6793 §4.2.3: an AGGREGATOR that is not AS_TRANS means a 2-octet speaker aggregated after
    // the AS4_* attributes were set: both are stale and ignored.
    if (a.aggregator.asn !== AS_TRANS) useAs4Path = false;
    else a.aggregator = a.as4Aggregator;
  }
  if (useAs4Path && a.asPath && a.as4Path) a.asPath = mergeAs4Path(a.asPath, a.as4Path);
}

function toPathAttributes(a: DecodedAttrs): PathAttributes {
  const out: PathAttributes = { origin: a.origin ?? Origin.INCOMPLETE, asPath: a.asPath ?? [] };
  if (a.nextHop !== undefined) out.nextHop = a.nextHop;
  if (a.med !== undefined) out.med = a.med;
  if (a.localPref !== undefined) out.localPref = a.localPref;
  if (a.atomicAggregate) out.atomicAggregate = true;
  if (a.aggregator) out.aggregator = a.aggregator;
  if (a.communities) out.communities = a.communities;
  if (a.originatorId !== undefined) out.originatorId = a.originatorId;
  if (a.clusterList) out.clusterList = a.clusterList;
  if (a.largeCommunities) out.largeCommunities = a.largeCommunities;
  if (a.nextHopV6 !== undefined) out.nextHopV6 = a.nextHopV6;
  if (a.nextHopLinkLocal !== undefined) out.nextHopLinkLocal = a.nextHopLinkLocal;
  if (a.unknown) out.unknown = a.unknown;
  return out;
}

/** Decode one UPDATE frame (header included, already checked). Never throws. */
export function decodeUpdate(frame: Buffer, opts: UpdateDecodeOptions): UpdateMessage {
  const addPath4 = opts.addPathReceive?.has('ipv4') ?? false;
  const msg: UpdateMessage = {
    type: MessageType.UPDATE,
    withdrawn: emptyNlri('ipv4', addPath4),
    nlri: emptyNlri('ipv4', addPath4),
    attributesKey: '',
    attrStart: 0,
    attrEnd: 0,
    action: 'none',
    errors: [],
  };
  const fail = (e: BgpError): void => {
    msg.errors.push(e);
    msg.action = worseAction(msg.action, e.action);
  };
  const end = frame.length;
  const b = BGP_HEADER_LEN;
  const list = (why: string): UpdateMessage => {
    fail(updateError(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, 'session-reset', why));
    return msg;
  };
  if (b + 4 > end) return list('UPDATE shorter than its two length fields');
  const wStart = b + 2;
  const wEnd = wStart + frame.readUInt16BE(b);
  if (wEnd + 2 > end) return list('withdrawn routes length overruns the UPDATE');
  const aStart = wEnd + 2;
  const aEnd = aStart + frame.readUInt16BE(wEnd);
  if (aEnd > end) return list('total path attribute length overruns the UPDATE');
  msg.attrStart = aStart;
  msg.attrEnd = aEnd;

  // RFC 7606 §5.3: malformed withdrawn routes or NLRI fields cannot be handled short of a reset
  const wCount = countNlri(frame, wStart, wEnd, 'ipv4', addPath4);
  const nCount = countNlri(frame, aEnd, end, 'ipv4', addPath4);
  if (wCount < 0 || nCount < 0) {
    fail(updateError(UpdateSubcode.INVALID_NETWORK_FIELD, 'session-reset', `malformed IPv4 ${wCount < 0 ? 'withdrawn routes' : 'NLRI'} field`));
    return msg;
  }
  msg.withdrawn = { family: 'ipv4', buf: frame, start: wStart, end: wEnd, count: wCount, addPath: addPath4 };
  msg.nlri = { family: 'ipv4', buf: frame, start: aEnd, end, count: nCount, addPath: addPath4 };
  if (aStart === aEnd) {
    if (wCount === 0 && nCount === 0) msg.endOfRib = 'ipv4';
    else if (nCount > 0) for (const t of [AttrType.ORIGIN, AttrType.AS_PATH, AttrType.NEXT_HOP]) fail(missing(t));
    return msg;
  }

  const ctx: AttrContext = { fourOctetAs: opts.fourOctetAs };
  if (opts.ebgp) ctx.ebgp = true;
  if (opts.addPathReceive) ctx.addPathReceive = opts.addPathReceive;
  const out: DecodedAttrs = {};
  const seen = new Uint8Array(256);
  let keyParts: string[] | undefined; // only built when MP attributes must be left out of the key
  let runStart = aStart;
  let p = aStart;
  while (p < aEnd) {
    // RFC 7606 §4: attribute headers or values overrunning the block → treat-as-withdraw,
    // located by the Total Path Attribute Length (a reset if the overrunning one is MP_*)
    if (aEnd - p < 3 || ((frame[p]! & AttrFlag.EXTENDED_LENGTH) !== 0 && aEnd - p < 4)) {
      fail(updateError(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, 'treat-as-withdraw', 'truncated path attribute header'));
      break;
    }
    const at = p;
    const flags = frame[p]!;
    const type = frame[p + 1]!;
    const ext = (flags & AttrFlag.EXTENDED_LENGTH) !== 0;
    const len = ext ? frame.readUInt16BE(p + 2) : frame[p + 2]!;
    const vs = p + (ext ? 4 : 3);
    const ve = vs + len;
    if (ve > aEnd) {
      fail(updateError(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, isMp(type) ? 'session-reset' : 'treat-as-withdraw',
        `path attribute ${type} length ${len} overruns the attribute block`, Buffer.from(frame.subarray(at, aEnd)), type));
      break;
    }
    p = ve;
    const data = (): Buffer => Buffer.from(frame.subarray(at, ve));
    if (isMp(type)) {
      keyParts ??= [];
      keyParts.push(frame.toString('latin1', runStart, at));
      runStart = ve;
    }
    if (seen[type]) {
      // RFC 7606 §3(g)
      fail(updateError(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, isMp(type) ? 'session-reset' : 'attribute-discard',
        `duplicate path attribute ${type}`, data(), type));
      continue;
    }
    seen[type] = 1;
    const d = ATTRIBUTE_BY_CODE[type];
    if (!d) {
      if ((flags & AttrFlag.OPTIONAL) === 0) {
        fail(updateError(UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, 'session-reset', `unrecognized well-known attribute ${type}`, data(), type));
      } else if ((flags & AttrFlag.TRANSITIVE) !== 0) {
        (out.unknown ??= []).push({ flags: flags & ~AttrFlag.EXTENDED_LENGTH, type, value: Buffer.from(frame.subarray(vs, ve)) });
      } // unknown optional non-transitive: quietly ignored (RFC 4271 §5)
      continue;
    }
    if ((flags & (AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE)) !== d.flags) {
      fail(updateError(UpdateSubcode.ATTRIBUTE_FLAGS_ERROR, d.onFlagsError ?? 'treat-as-withdraw', `${d.name} has wrong flags 0x${flags.toString(16)}`, data(), type));
      continue;
    }
    if (len < d.minLen || len > d.maxLen || (d.multipleOf !== undefined && len % d.multipleOf !== 0)) {
      fail(updateError(UpdateSubcode.ATTRIBUTE_LENGTH_ERROR, d.onError, `${d.name} has invalid length ${len}`, data(), type));
      continue;
    }
    if (d.ibgpOnly && opts.ebgp) {
      fail(updateError(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, 'attribute-discard', `${d.name} from an external peer discarded`, data(), type));
      continue;
    }
    const problem = d.decode(frame, vs, ve, ctx, out);
    if (problem) fail(updateError(problem.subcode, problem.action ?? d.onError, problem.reason, data(), type));
  }

  if (!opts.fourOctetAs) reconcileAs4(out);
  if (out.mpReach) msg.mpReach = out.mpReach;
  if (out.mpUnreach) msg.mpUnreach = out.mpUnreach;
  if (out.mpReach?.family === 'ipv4' && out.nextHop === undefined) out.nextHop = out.mpReach.nextHop;

  // RFC 7606 §3(d): a missing well-known mandatory attribute → treat-as-withdraw (only matters
  // with NLRI to announce; NEXT_HOP is needed for body NLRI only, RFC 4760 §3)
  if (nCount > 0 || (out.mpReach && out.mpReach.nlri.count > 0)) {
    if (!seen[AttrType.ORIGIN]) fail(missing(AttrType.ORIGIN));
    if (!seen[AttrType.AS_PATH]) fail(missing(AttrType.AS_PATH));
    if (nCount > 0 && !seen[AttrType.NEXT_HOP]) fail(missing(AttrType.NEXT_HOP));
  }
  msg.attributes = toPathAttributes(out);
  if (keyParts) {
    keyParts.push(frame.toString('latin1', runStart, aEnd));
    if (out.mpReach) keyParts.push(`\u0000${out.mpReach.nextHop}\u0000${out.mpReach.linkLocalNextHop ?? ''}`);
    msg.attributesKey = keyParts.join('');
  } else {
    msg.attributesKey = frame.toString('latin1', aStart, aEnd);
  }
  const u = out.mpUnreach;
  if (u && u.withdrawn.count === 0 && !out.mpReach && wCount === 0 && nCount === 0 && msg.errors.length === 0) {
    msg.endOfRib = u.family; // RFC 4724 §2: MP_UNREACH_NLRI with no withdrawn routes
  }
  return msg;
}

const missing = (type: number): BgpError =>
  updateError(UpdateSubcode.MISSING_WELL_KNOWN_ATTRIBUTE, 'treat-as-withdraw', `missing well-known attribute ${type}`, Buffer.from([type]), type);
