/**
 * Builds the control API's AgentStatus from what the agent knows (pure), so `tsctl status` shows
 * one consistent picture.
 */
import type { AgentStatus, PeerStatus } from './control-api.js';
import type { DesiredPeer } from './model.js';
import { byText } from './net.js';

/** What the speaker reports about one session. */
export interface PeerRuntime {
  fsmState: string;
  since: Date | null;
  lastError?: string;
  /** administratively stopped (removed or shutting down) */
  adminDown?: boolean;
  prefixesReceived: number;
  prefixesAccepted: number;
  prefixesAdvertised: number;
}

export function peerStatus(peer: DesiredPeer, rt: PeerRuntime | undefined): PeerStatus {
  const fsmState = rt?.fsmState ?? 'Idle';
  const established = fsmState === 'Established';
  const state: PeerStatus['state'] = established ? 'up' : rt?.adminDown || (fsmState === 'Idle' && rt?.lastError) ? 'down' : 'start';
  return {
    address: peer.address,
    family: peer.family,
    asn: peer.asn,
    type: peer.type,
    state,
    fsmState,
    since: rt?.since ? rt.since.toISOString() : null,
    info: established ? 'Established' : (rt?.lastError ?? fsmState),
    prefixesReceived: rt?.prefixesReceived ?? 0,
    prefixesAccepted: rt?.prefixesAccepted ?? 0,
    prefixesAdvertised: rt?.prefixesAdvertised ?? 0,
  };
}

export interface StatusInput {
  pid: number;
  version: string;
  startedAt: Date;
  now: Date;
  node: AgentStatus['node'];
  peers: Array<{ peer: DesiredPeer; runtime: PeerRuntime | undefined }>;
  errors: string[];
}

export function buildStatus(input: StatusInput): AgentStatus {
  return {
    running: true,
    pid: input.pid,
    version: input.version,
    startedAt: input.startedAt.toISOString(),
    uptimeSeconds: Math.max(0, Math.floor((input.now.getTime() - input.startedAt.getTime()) / 1000)),
    node: input.node,
    peers: input.peers
      .map(({ peer, runtime }) => peerStatus(peer, runtime))
      .sort((a, b) => byText(a.family, b.family) || byText(a.address, b.address)),
    errors: [...input.errors],
  };
}
