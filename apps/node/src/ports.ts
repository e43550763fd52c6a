/**
 * The edges of the agent: the datastore, the BGP speaker and the dataplane, each behind a small
 * interface so the agent loop (agent.ts) reads as policy and the adapters stay thin.
 */
import type { Announcement, ClusterSnapshot, DesiredPeer, LearnedRoute } from './model.js';
import type { PeerRuntime } from './status.js';

export interface SelfRegistration {
  name: string;
  ipv4: string;
  /** the underlay subnet of ipv4, e.g. 198.51.100.0/24 */
  ipv4Network?: string;
  ipv6?: string;
  asn?: number;
}

/** The cluster as the datastore holds it, followed by watch. */
export interface ClusterStore {
  /** registers (or refreshes) this node and creates the default pools when none exist */
  register(self: SelfRegistration): Promise<void>;
  /** starts following the datastore; `onChange` fires (coalesced by the caller) after each change */
  follow(onChange: () => void): Promise<void>;
  /** the current view (after follow) */
  current(): ClusterSnapshot;
  /**
   * gives this node a VXLAN tunnel address/MAC when a VXLAN pool exists and it has none; true when
   * it wrote one (current() shows it once the watch brings it back)
   */
  ensureVtep(name: string): Promise<boolean>;
  heartbeat(status: { node: string; startedAt: string; pid: number; version: string }): Promise<void>;
  /** removes this node's heartbeat on a clean stop, so it reads as stopped at once (not after it ages) */
  clearHeartbeat(node: string): Promise<void>;
  /** problems with the datastore connection (for /healthz and status), empty when fine */
  problems(): string[];
  close(): Promise<void>;
}

export interface SpeakerEvents {
  /** best routes changed (batched) */
  onRoutesChanged(): void;
  /** a session changed state, or (`endOfRib`) an Established peer sent its End-of-RIB */
  onPeerState(address: string, state: string, endOfRib?: boolean): void;
}

/** The BGP speaker as the agent drives it. */
/** What a BGP speaker is to its peers: the local AS and the route reflector cluster id. */
export interface SpeakerIdentity {
  asn: number;
  clusterId?: string | undefined;
}

export interface RouteSpeaker {
  start(events: SpeakerEvents): Promise<void>;
  /** the identity the speaker runs with */
  identity(): SpeakerIdentity;
  /**
   * Restarts BGP with another identity: every session ends (Cease), nothing stays learned, no
   * peer and no announcement stays configured: the caller adds them again.
   */
  reconfigure(identity: SpeakerIdentity): Promise<void>;
  addPeer(peer: DesiredPeer, accept: (prefix: string) => boolean): void;
  removePeer(address: string): void;
  announce(routes: Announcement[]): void;
  withdraw(prefixes: string[]): void;
  /** asks the peer to resend its routes (route refresh) so the import policy judges them again */
  refreshIn(address: string): void;
  /** best routes learned from peers (after import policy) */
  learned(): LearnedRoute[];
  runtime(address: string): PeerRuntime | undefined;
  /** has this peer's End-of-RIB arrived for its family since the session came up */
  endOfRibReceived(address: string): boolean;
  /** Cease to every peer, close the listener; keeps nothing running */
  stop(): Promise<void>;
}

/** Result of one dataplane reconcile. */
export interface ReconcileResult {
  /** per-pool problems (missing kernel support, …) */
  problems: string[];
  /** routes the agent holds after the run, by kind */
  routes: { remote: number; blackhole: number; workload: number };
  /** part of the change was deferred: call again after this many ms */
  retryInMs?: number;
}

export interface DataplaneDriver {
  /**
   * Make the dataplane match (idempotent; only the difference is changed). `full`: read the whole
   * kernel state and repair drift even when nothing seems to have changed.
   */
  reconcile(snapshot: ClusterSnapshot, selfName: string, learned: LearnedRoute[], full: boolean): Promise<ReconcileResult>;
}
