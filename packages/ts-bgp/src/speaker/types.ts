/** The public vocabulary of BgpSpeaker: options, peer config, events and statistics. */
import type { Clock } from '../fsm/clock.js';
import type { FsmState } from '../fsm/fsm.js';
import type { Family, PathAttributes } from '../types.js';
import type { PeerCounters } from '../session/peer-types.js';

export type PeerState = FsmState;

export interface SpeakerOptions {
  /** local AS (2- or 4-octet) */
  asn: number;
  /** BGP identifier, dotted quad */
  routerId: string;
  /** where to accept connections; default { host: '::', port: 179 }; false = outgoing only */
  listen?: { host: string; port: number } | false;
  /** offered hold time in seconds (0 or >= 3); default 90 */
  holdTimeSec?: number;
  /** first connect retry delay in seconds (doubles per failure up to 120 s); default 5 */
  connectRetrySec?: number;
  /**
   * Graceful restart (RFC 4724), advertised unless false. `restarting`: this process restarted
   * and peers should keep our routes (sets the R bit). `forwardingPreserved` (default true) sets
   * the F bit per family: the forwarding state survived the restart.
   */
  gracefulRestart?: { restartTimeSec: number; restarting?: boolean; forwardingPreserved?: boolean } | false;
  /** route reflector CLUSTER_ID; default the router id */
  clusterId?: string;
  /** families offered to peers unless a peer says otherwise; default both */
  families?: Family[];
  /** time source (tests pass a FakeClock) */
  clock?: Clock;
}

/**
 * A route policy: return `route.attrs` (the same object) to accept unchanged, a new attributes
 * object to accept modified, or null/undefined to reject. Called per prefix, so keep it cheap.
 */
export type RoutePolicy = (route: { prefix: string; family: Family; peer: string; attrs: PathAttributes }) =>
  | PathAttributes
  | null
  | undefined;

export interface PeerOptions {
  address: string;
  asn: number;
  /** TCP port to connect to; default 179 */
  port?: number;
  /** never connect, only accept */
  passive?: boolean;
  routeReflectorClient?: boolean;
  /** set our address as next hop towards this (iBGP) peer */
  nextHopSelf?: boolean;
  importPolicy?: RoutePolicy;
  exportPolicy?: RoutePolicy;
  /** more prefixes than this from the peer → NOTIFICATION Cease 1 (RFC 4486) */
  maxPrefixes?: number;
  families?: Family[];
  holdTimeSec?: number;
  /** source address for outgoing connections */
  localAddress?: string;
  /** "self" next hop per family (default: our address on the session for its family) */
  nextHop?: Partial<Record<Family, string>>;
}

/** Attributes of a locally originated route. */
export interface AnnounceAttributes {
  /** next hop; default our address on each session (eBGP/iBGP) */
  nextHop?: string;
  origin?: 'igp' | 'egp' | 'incomplete';
  /** AS_PATH as a sequence (default empty: originated here) */
  asPath?: number[];
  localPref?: number;
  med?: number;
  /** RFC 1997 communities as "ASN:VALUE" or 32-bit numbers */
  communities?: Array<string | number>;
}

export interface BestRoute {
  /** peer address the route came from; undefined when originated locally */
  peer?: string;
  nextHop?: string;
  ibgp: boolean;
  /** kept from a restarting peer (graceful restart), not yet refreshed */
  stale: boolean;
  attrs: PathAttributes;
}

export interface BestPathChange {
  /** "10.0.0.0/24" or "2001:db8::/64" */
  prefix: string;
  family: Family;
  /** null: no route left */
  best: BestRoute | null;
}

export interface PeerStateEvent {
  address: string;
  state: PeerState;
  previous: PeerState;
  /** the reason (last error, NOTIFICATION) when it went down */
  info?: string;
}

export interface EndOfRibEvent {
  peer: string;
  family: Family;
  /** prefixes held from the peer for the family */
  prefixes: number;
}

export interface NotificationEvent {
  peer: string;
  direction: 'sent' | 'received';
  code: number;
  subcode: number;
  reason: string;
}

/** A peer's statistics for the API: its message and prefix counters plus the session state. */
export interface PeerStats extends PeerCounters {
  address: string;
  asn: number;
  state: PeerState;
  /** ms since epoch when the state was entered */
  stateSince: number;
  lastError?: string;
  families: Family[];
  holdTimeSec: number;
  /** held in the Adj-RIB-In now (per family) */
  prefixesAccepted: Record<Family, number>;
  /** in the Adj-RIB-Out now (per family) */
  prefixesAdvertised: Record<Family, number>;
  /** routes kept stale for a restarting peer */
  prefixesStale: number;
}

export interface SpeakerEvents {
  peerState: [PeerStateEvent];
  bestPathChanges: [BestPathChange[]];
  endOfRib: [EndOfRibEvent];
  notification: [NotificationEvent];
}
