/**
 * The agent's control API: HTTP+JSON on the unix socket `<run-dir>/tsnet.sock`. This file is the
 * contract between the agent (server) and tsctl (client); both import these types.
 */
import { unixHttp } from '@tsnet/unix-http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentOptions } from './options.js';

export const CONTROL_SOCKET_NAME = 'tsnet.sock';
export const PID_FILE_NAME = 'tsnet.pid';
export const controlSocketPath = (runDir: string): string => join(runDir, CONTROL_SOCKET_NAME);
export const pidFilePath = (runDir: string): string => join(runDir, PID_FILE_NAME);

export type PeerType = 'node-to-node mesh' | 'global' | 'node specific';

/** One BGP peer as `tsctl status` shows it. */
export interface PeerStatus {
  address: string;
  family: 'ipv4' | 'ipv6';
  asn: number;
  type: PeerType;
  /** `up` when Established, `start` while connecting, `down` when idle after an error or admin stop */
  state: 'up' | 'start' | 'down';
  /** RFC 4271 FSM state: Idle, Connect, Active, OpenSent, OpenConfirm, Established */
  fsmState: string;
  /** ISO time of the last state change */
  since: string | null;
  /** `Established`, the FSM state, or the last error (e.g. "Hold timer expired") */
  info: string;
  prefixesReceived: number;
  prefixesAccepted: number;
  prefixesAdvertised: number;
}

/** GET /status */
export interface AgentStatus {
  running: true;
  pid: number;
  version: string;
  startedAt: string;
  uptimeSeconds: number;
  node: {
    name: string;
    ipv4: string | null;
    ipv6: string | null;
    asn: number;
    /** true when the AS is the cluster default rather than the node's own */
    asnInherited: boolean;
  };
  peers: PeerStatus[];
  /** problems the agent wants the operator to see (e.g. "pool 10.0.0.0/16 needs ipip: kernel has no ipip module") */
  errors: string[];
}

/** A control-API call failed because nothing answers on the socket. */
export class AgentNotRunningError extends Error {
  constructor(readonly socketPath: string) {
    super('tsnet node is not running');
  }
}

/** GET/POST a JSON path on the agent's control socket, bounded by timeoutMs. */
export async function callAgent<T>(
  runDir: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<T> {
  const socketPath = controlSocketPath(runDir);
  const reply = await unixHttp({ socketPath, method, path, body, timeoutMs, what: 'agent' }).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? new AgentNotRunningError(socketPath) : err;
  });
  let parsed: unknown;
  try {
    parsed = reply.text ? JSON.parse(reply.text) : undefined;
  } catch {
    throw new Error(`agent sent invalid JSON for ${path}`);
  }
  if (reply.status >= 400) throw new Error((parsed as { error?: string } | undefined)?.error ?? `HTTP ${reply.status}`);
  return parsed as T;
}

/** The agent process entry (bin/tsnet-agent.mjs: the bundle when current, else dist/). */
export const AGENT_LAUNCHER: string = fileURLToPath(new URL('../bin/tsnet-agent.mjs', import.meta.url));

/**
 * The argv (after the node binary) of an agent process for `opts`: the launcher and the resolved
 * options as one JSON argument. Callbacks (onProgress, handleSignals) stay behind: the process
 * prints progress on stdout and handles its signals itself. No V8 flags on the command line: the
 * process sets its own once loaded (AGENT_V8_FLAGS in agent-main.ts says why).
 */
export function agentProcessArgs(opts: AgentOptions): string[] {
  const { onProgress: _onProgress, handleSignals: _handleSignals, ...plain } = opts;
  return [AGENT_LAUNCHER, JSON.stringify(plain)];
}
