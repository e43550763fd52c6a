/** Plain-data views of speaker state for the API: best routes and per-peer statistics. */
import { nextHopOf } from '../rib/export.js';
import type { Path } from '../rib/path.js';
import type { Family } from '../types.js';
import type { Neighbor } from './neighbor.js';
import type { BestRoute, PeerStats } from './types.js';

export function bestRoute(path: Path, family: Family): BestRoute {
  const attrs = path.attrs.attrs;
  const nextHop = nextHopOf(attrs, family);
  return {
    ...(path.source.local ? {} : { peer: path.source.address }),
    ...(nextHop ? { nextHop } : {}),
    ibgp: path.source.ibgp,
    stale: path.stale,
    attrs,
  };
}

export function peerStatsOf(nb: Neighbor): PeerStats {
  const p = nb.peer;
  return {
    address: nb.address,
    asn: nb.options.asn,
    state: p.state,
    stateSince: p.stateSince,
    ...(p.lastError ? { lastError: p.lastError } : {}),
    families: nb.sessionFamilies,
    holdTimeSec: p.fsm.snapshot.holdTimeSec,
    ...p.counters,
    prefixesAccepted: { ipv4: nb.src.count('ipv4'), ipv6: nb.src.count('ipv6') },
    prefixesAdvertised: { ipv4: nb.out.count('ipv4'), ipv6: nb.out.count('ipv6') },
    prefixesStale: nb.src.staleCount('ipv4') + nb.src.staleCount('ipv6'),
  };
}
