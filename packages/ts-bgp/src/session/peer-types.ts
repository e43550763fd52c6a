/** The vocabulary between a Peer and its speaker: host callbacks, session config, counters. */
import type { Socket } from 'node:net';
import type { Clock } from '../fsm/clock.js';
import type { FsmState } from '../fsm/fsm.js';
import type { RouteRefreshMessage } from '../types.js';
import type { LocalOpenConfig } from './open.js';
import type { Peer } from './peer.js';

export interface PeerCounters {
  messagesIn: number;
  messagesOut: number;
  updatesIn: number;
  updatesOut: number;
  notificationsIn: number;
  notificationsOut: number;
  /** NLRI received in UPDATEs since the peer was added */
  prefixesReceived: number;
  /** times the session reached Established */
  establishedCount: number;
}

export interface NotificationInfo {
  direction: 'sent' | 'received';
  code: number;
  subcode: number;
  reason: string;
}

/** What a Peer needs from its speaker. */
export interface PeerHost {
  readonly clock: Clock;
  openConfig(peer: Peer): LocalOpenConfig;
  dial(peer: Peer): Socket;
  sessionUp(peer: Peer): void;
  /** `graceful`: the peer may be restarting (RFC 4724): keep its routes as stale */
  sessionDown(peer: Peer, reason: string, graceful: boolean): void;
  update(peer: Peer, frame: Buffer): void;
  routeRefresh(peer: Peer, msg: RouteRefreshMessage): void;
  batchEnd(): void;
  stateChanged(peer: Peer, state: FsmState, previous: FsmState, info: string | undefined): void;
  notification(peer: Peer, n: NotificationInfo): void;
}

export interface PeerSessionConfig {
  address: string;
  asn: number;
  port: number;
  passive: boolean;
  holdTimeSec: number;
  connectRetrySec: number;
}
