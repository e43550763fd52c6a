/**
 * `tsctl status`: the local agent's view of its BGP sessions, read from its control socket and
 * rendered like calicoctl's status (one table per address family).
 */
import type { Argv } from 'yargs';
import { AgentNotRunningError, callAgent, type AgentStatus, type PeerStatus } from '@tsnet/node/control-api';
import { CliError } from '../errors.js';
import { renderTable, type Paint } from '../output.js';
import type { CommandGroup } from '../command.js';

export const NOT_RUNNING = 'tsnet node is not running';

export const statusCommand: CommandGroup = {
  tree: ['status'],
  register: (y: Argv, run) =>
    y.command(
      'status',
      "Show the local node agent's BGP sessions",
      (c) =>
        c
          .example('$0 status', 'peer tables of the agent on this host (run dir /run/tsnet)')
          .example('$0 status -o json', 'the same as JSON, with prefix counts per peer'),
      run(async (ctx) => {
        let status: AgentStatus;
        try {
          status = await callAgent<AgentStatus>(ctx.runDir, 'GET', '/status');
        } catch (err) {
          if (err instanceof AgentNotRunningError) throw new CliError(NOT_RUNNING);
          throw new CliError(`tsnet node on ${ctx.runDir} did not answer: ${(err as Error).message}`);
        }
        if (ctx.json) ctx.printJson(status);
        else ctx.out(renderStatus(status, new Date(), ctx.paint));
      }),
    ),
};

/** The whole `tsctl status` text for one AgentStatus. */
export function renderStatus(s: AgentStatus, now: Date, paint: Paint = (_c, t) => t): string {
  let text = `tsnet node is running. Status: Up ${humanDuration(s.uptimeSeconds)}\n`;
  for (const family of ['ipv4', 'ipv6'] as const) {
    const label = family === 'ipv4' ? 'IPv4' : 'IPv6';
    const ip = s.node[family];
    text += '\n';
    if (!ip) {
      text += `No ${label} address configured.\n`;
      continue;
    }
    text += `${label} BGP status\n`;
    text += `IP: ${ip}    AS Number: ${s.node.asn}${s.node.asnInherited ? ' (inherited)' : ''}\n`;
    const peers = s.peers.filter((p) => p.family === family);
    text += peers.length === 0 ? `No ${label} peers found.\n` : renderPeerTable(peers, now, paint);
  }
  if (s.errors.length > 0) {
    text += `\n${paint('yellow', 'Problems:')}\n` + s.errors.map((e) => `  - ${e}\n`).join('');
  }
  return text;
}

// State is as wide as the longest FSM state name, so the table keeps its shape whatever the states.
const STATE_COLUMN_WIDTH = 'OpenConfirm'.length + 2;

export function renderPeerTable(peers: PeerStatus[], now: Date, paint: Paint = (_c, t) => t): string {
  const colour = { up: 'green', start: 'yellow', down: 'red' } as const;
  const rows = peers.map((p) => [
    p.address,
    p.type,
    paint(colour[p.state], p.state),
    p.since ? formatSince(new Date(p.since), now) : '',
    p.info,
  ]);
  return renderTable(['Peer address', 'Peer type', 'State', 'Since', 'Info'], rows, {
    minWidths: [undefined, undefined, STATE_COLUMN_WIDTH],
  });
}

/** Like BIRD: time of day (local) within the last 24 hours, the date before that. */
export function formatSince(since: Date, now: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  if (now.getTime() - since.getTime() < 24 * 3600 * 1000) {
    return `${two(since.getHours())}:${two(since.getMinutes())}:${two(since.getSeconds())}`;
  }
  return `${since.getFullYear()}-${two(since.getMonth() + 1)}-${two(since.getDate())}`;
}

/** Docker's "Up 5 minutes" wording. */
export function humanDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (s < 1) return 'Less than a second';
  if (s < 60) return plural(s, 'second');
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return plural(m, 'minute');
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return plural(h, 'hour');
  const d = Math.floor(h / 24);
  if (d < 14) return plural(d, 'day');
  if (d < 60) return plural(Math.floor(d / 7), 'week');
  if (d < 730) return plural(Math.floor(d / 30), 'month');
  return plural(Math.floor(d / 365), 'year');
}
