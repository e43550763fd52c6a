/** Locally originated routes: AnnounceAttributes (friendly) → PathAttributes (wire model). */
import { isIPv4, isIPv6 } from 'node:net';
import { Origin, type Family, type PathAttributes } from '../types.js';
import type { AnnounceAttributes } from './types.js';

const ORIGINS: Record<NonNullable<AnnounceAttributes['origin']>, Origin> = {
  igp: Origin.IGP,
  egp: Origin.EGP,
  incomplete: Origin.INCOMPLETE,
};

/** "65000:100" or a 32-bit number → the RFC 1997 community value. */
export function parseCommunity(c: string | number): number {
  if (typeof c === 'number') return c >>> 0;
  const m = /^(\d+):(\d+)$/.exec(c);
  if (!m || +m[1]! > 0xffff || +m[2]! > 0xffff) throw new Error(`invalid community "${c}": expected ASN:VALUE with both parts 0-65535`);
  return ((+m[1]! << 16) >>> 0) + +m[2]!;
}

/**
 * The attributes of a local route of `family`. A next hop of the other family is ignored (the
 * session's own address is used), so one call can announce IPv4 and IPv6 prefixes together.
 */
export function localAttributes(a: AnnounceAttributes, family: Family): PathAttributes {
  const out: PathAttributes = {
    origin: ORIGINS[a.origin ?? 'igp'],
    asPath: a.asPath && a.asPath.length > 0 ? [{ type: 2, asns: [...a.asPath] }] : [],
  };
  if (a.nextHop !== undefined) {
    if (!isIPv4(a.nextHop) && !isIPv6(a.nextHop)) throw new Error(`invalid next hop "${a.nextHop}": expected an IP address`);
    if (family === 'ipv4' && isIPv4(a.nextHop)) out.nextHop = a.nextHop;
    if (family === 'ipv6' && isIPv6(a.nextHop)) out.nextHopV6 = a.nextHop;
  }
  if (a.localPref !== undefined) out.localPref = a.localPref;
  if (a.med !== undefined) out.med = a.med;
  if (a.communities?.length) out.communities = a.communities.map(parseCommunity);
  return out;
}
