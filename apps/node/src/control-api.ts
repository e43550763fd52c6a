/**
 * The agent's control API: HTTP+JSON on the unix socket `<run-dir>/tsnet.sock`. This file is the
 * contract between the agent (server) and tsctl (client); both import these types.
 */
import { request } from 'node:http';
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
export function callAgent<T>(
  runDir: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<T> {
  const socketPath = controlSocketPath(runDir);
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        socketPath,
        path,
        method,
        timeout: timeoutMs,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            return reject(new Error(`agent sent invalid JSON for ${path}`));
          }
          if ((res.statusCode ?? 500) >= 400) {
            const msg = (parsed as { error?: string } | undefined)?.error ?? `HTTP ${res.statusCode}`;
            return reject(new Error(msg));
          }
          resolve(parsed as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`agent did not answer ${path} within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new AgentNotRunningError(socketPath));
      else reject(err);
    });
    req.end(payload);
  });
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
