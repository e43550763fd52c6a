/**
 * MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760 §3–4) for IPv4 and IPv6 unicast. Any malformation
 * here resets the session (RFC 7606 §7.11: the NLRI cannot be trusted); a family we do not
 * route is dropped (attribute-discard) instead, since its NLRI has a format we cannot read.
 */
import { UpdateSubcode, type Family } from '../types.js';
import type { AttrContext, AttrProblem, DecodedAttrs } from './attributes.js';
import { readIpv4, readIpv6 } from './bytes.js';
import { unicastFamily } from './capabilities.js';
import { countNlri } from './prefix.js';

const bad = (reason: string): AttrProblem => ({ subcode: UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR, reason });

function family(buf: Buffer, s: number, what: string): Family | AttrProblem {
  const afi = buf.readUInt16BE(s);
  const safi = buf[s + 2]!;
  return (
    unicastFamily(afi, safi) ?? {
      subcode: UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR,
      reason: `${what} for unsupported AFI ${afi} / SAFI ${safi} ignored`,
      action: 'attribute-discard',
    }
  );
}

export function decodeMpReach(buf: Buffer, s: number, e: number, ctx: AttrContext, out: DecodedAttrs): AttrProblem | undefined {
  const f = family(buf, s, 'MP_REACH_NLRI');
  if (typeof f !== 'string') return f;
  const nhLen = buf[s + 3]!;
  const nh = s + 4;
  const nlriStart = nh + nhLen + 1; // one reserved byte after the next hop
  if (nlriStart > e) return bad(`MP_REACH_NLRI next hop length ${nhLen} overruns the attribute`);
  let nextHop: string;
  let linkLocal: string | undefined;
  if (f === 'ipv4') {
    if (nhLen !== 4) return bad(`MP_REACH_NLRI IPv4 next hop length ${nhLen} (expected 4)`);
    nextHop = readIpv4(buf, nh);
  } else {
    if (nhLen !== 16 && nhLen !== 32) return bad(`MP_REACH_NLRI IPv6 next hop length ${nhLen} (expected 16 or 32)`);
    nextHop = readIpv6(buf, nh);
    if (nhLen === 32) linkLocal = readIpv6(buf, nh + 16);
  }
  const addPath = ctx.addPathReceive?.has(f) ?? false;
  const count = countNlri(buf, nlriStart, e, f, addPath);
  if (count < 0) return bad(`malformed ${f} NLRI in MP_REACH_NLRI`);
  out.mpReach = { family: f, nextHop, nlri: { family: f, buf, start: nlriStart, end: e, count, addPath } };
  if (linkLocal !== undefined) out.mpReach.linkLocalNextHop = linkLocal;
  if (f === 'ipv6') {
    out.nextHopV6 = nextHop;
    if (linkLocal !== undefined) out.nextHopLinkLocal = linkLocal;
  }
  return undefined;
}

export function decodeMpUnreach(buf: Buffer, s: number, e: number, ctx: AttrContext, out: DecodedAttrs): AttrProblem | undefined {
  const f = family(buf, s, 'MP_UNREACH_NLRI');
  if (typeof f !== 'string') return f;
  const addPath = ctx.addPathReceive?.has(f) ?? false;
  const count = countNlri(buf, s + 3, e, f, addPath);
  if (count < 0) return bad(`malformed ${f} withdrawn routes in MP_UNREACH_NLRI`);
  out.mpUnreach = { family: f, withdrawn: { family: f, buf, start: s + 3, end: e, count, addPath } };
  return undefined;
}
