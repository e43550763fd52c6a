/** `tsctl node show`: registered nodes with their addresses, AS and liveness (agent heartbeat). */
import type { NodeRecord, NodeStatus } from '@tsnet/datastore';
import { renderTable, type Paint } from '../output.js';
import type { Context } from '../context.js';

/** A node is up while its agent's heartbeat (every 10 s) is at most this old. */
export const HEARTBEAT_FRESH_MS = 30_000;

export interface NodeJson {
  name: string;
  ipv4: string | null;
  ipv6: string | null;
  asn: number;
  asnInherited: boolean;
  status: 'up' | 'down';
  lastHeartbeat: string | null;
}

export function nodeRows(nodes: NodeRecord[], statuses: NodeStatus[], defaultAsn: number, now: Date): NodeJson[] {
  return nodes.map((n) => {
    const hb = statuses.find((s) => s.node === n.name)?.heartbeat ?? null;
    return {
      name: n.name,
      ipv4: n.ipv4 ?? null,
      ipv6: n.ipv6 ?? null,
      asn: n.asn ?? defaultAsn,
      asnInherited: n.asn === undefined,
      status: hb !== null && now.getTime() - Date.parse(hb) <= HEARTBEAT_FRESH_MS ? 'up' : 'down',
      lastHeartbeat: hb,
    };
  });
}

export function renderNodes(rows: NodeJson[], paint: Paint = (_c, t) => t): string {
  return renderTable(
    ['Hostname', 'IPv4', 'IPv6', 'AS Num', 'Status'],
    rows.map((r) => [
      r.name,
      r.ipv4 ?? '',
      r.ipv6 ?? '',
      r.asnInherited ? `${r.asn} (inherited)` : String(r.asn),
      paint(r.status === 'up' ? 'green' : 'red', r.status),
    ]),
  );
}

export async function showNodes(ctx: Context): Promise<void> {
  const ds = await ctx.datastore();
  const [nodes, statuses, config] = await Promise.all([ds.listNodes(), ds.listNodeStatus(), ds.getClusterConfig()]);
  const rows = nodeRows(nodes, statuses, config.defaultAsn, new Date());
  if (ctx.json) return ctx.printJson(rows);
  if (rows.length === 0) return ctx.out('No nodes registered. Start one with: tsctl node');
  ctx.out(renderNodes(rows, ctx.paint));
}
