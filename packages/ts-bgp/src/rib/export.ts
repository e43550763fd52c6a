/**
 * Which routes go to which peer, and with what attributes: iBGP split horizon, route reflection
 * (RFC 4456), eBGP AS_PATH prepending and next hop, LOCAL_PREF default (RFC 4271 §5.1.5), and the
 * loop checks on import. Pure functions over Paths and plain config.
 */
import type { AsPathSegment, Family, PathAttributes } from '../types.js';
import { DEFAULT_LOCAL_PREF } from './decision.js';
import { numberToIpv4, type Path, type Source } from './path.js';

export interface LocalIdentity {
  asn: number;
  routerId: string;
  /** RFC 4456 CLUSTER_ID; defaults to the router id */
  clusterId: string;
}

export interface ExportTarget {
  source: Source;
  nextHopSelf: boolean;
  /** our address on the session, per family, used as "self" next hop */
  selfNextHop: Partial<Record<Family, string>>;
}

/** RFC 4271 §9.2 and RFC 4456 §8: may `path` be advertised to `target` at all? */
export function mayAdvertise(path: Path, target: Source): boolean {
  const from = path.source;
  if (from === target) return false;
  if (from.local || !from.ibgp || !target.ibgp) return true;
  // iBGP → iBGP only by reflection: a client's routes go to everyone, a non-client's to clients
  return from.routeReflectorClient || target.routeReflectorClient;
}

/** The next hop of `attrs` for `family` (IPv6 travels in MP_REACH_NLRI: nextHopV6). */
export const nextHopOf = (attrs: PathAttributes, family: Family): string | undefined =>
  family === 'ipv4' ? attrs.nextHop : attrs.nextHopV6;

/** The attributes `path` carries to `target` for `family`, or undefined when there is no usable next hop. */
export function exportAttributes(
  path: Path,
  target: ExportTarget,
  local: LocalIdentity,
  family: Family,
): PathAttributes | undefined {
  const a = path.attrs.attrs;
  const from = path.source;
  const self = target.selfNextHop[family];
  const out: PathAttributes = { ...a };
  const own = nextHopOf(a, family);
  let nextHop = own;
  if (target.source.ibgp) {
    out.localPref = a.localPref ?? DEFAULT_LOCAL_PREF;
    if (target.nextHopSelf || (from.local && !own)) nextHop = self;
    if (!from.local && from.ibgp) {
      out.originatorId = a.originatorId ?? numberToIpv4(from.routerId);
      out.clusterList = [local.clusterId, ...(a.clusterList ?? [])];
    }
  } else {
    out.asPath = prependAs(a.asPath, local.asn);
    nextHop = from.local && own ? own : self;
    delete out.localPref;
    delete out.originatorId;
    delete out.clusterList;
    // a MED learned from one AS is not passed to another (RFC 4271 §5.1.4)
    if (!from.local) delete out.med;
  }
  if (!nextHop) return undefined;
  if (family === 'ipv4') {
    out.nextHop = nextHop;
    delete out.nextHopV6;
    delete out.nextHopLinkLocal;
  } else {
    delete out.nextHop;
    out.nextHopV6 = nextHop;
    if (nextHop !== own) delete out.nextHopLinkLocal;
  }
  return out;
}

export function prependAs(path: readonly AsPathSegment[], asn: number): AsPathSegment[] {
  const first = path[0];
  if (first && first.type === 2 && first.asns.length < 255) {
    return [{ type: 2, asns: [asn, ...first.asns] }, ...path.slice(1)];
  }
  return [{ type: 2, asns: [asn] }, ...path];
}

/**
 * Why an incoming route must be ignored (RFC 4271 §9.1.2 AS loop, RFC 4456 §8 ORIGINATOR_ID and
 * CLUSTER_LIST loops), or undefined when it is acceptable.
 */
export function importLoop(attrs: PathAttributes, from: Source, local: LocalIdentity): string | undefined {
  if (!from.ibgp) {
    for (const seg of attrs.asPath) if (seg.asns.includes(local.asn)) return 'AS_PATH contains our AS';
  }
  if (attrs.originatorId === local.routerId) return 'ORIGINATOR_ID is our router id';
  if (attrs.clusterList?.includes(local.clusterId)) return 'CLUSTER_LIST contains our cluster id';
  return undefined;
}
