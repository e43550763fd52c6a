/** GoBGP in a lab namespace: TOML config, gobgpd (by PID) and the gobgp CLI over a loopback API port. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor, type TrackedProcess } from '@tsnet/testkit';
import { nsRun, type BgpLab } from './bgp-lab.js';

export interface GobgpNeighbor {
  address: string;
  peerAs: number;
  localAs?: number;
  localAddress?: string;
  holdTimeSec?: number;
}

export function gobgpConfig(o: { asn: number; routerId: string; listen: string[]; neighbors: GobgpNeighbor[] }): string {
  const families = ['ipv4-unicast', 'ipv6-unicast']
    .map((f) => `  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "${f}"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
`)
    .join('');
  const neighbors = o.neighbors.map((n) => {
    const hold = n.holdTimeSec ?? 9;
    return `[[neighbors]]
  [neighbors.config]
    neighbor-address = "${n.address}"
    peer-as = ${n.peerAs}
${n.localAs ? `    local-as = ${n.localAs}\n` : ''}  [neighbors.timers.config]
    hold-time = ${hold}
    keepalive-interval = ${Math.max(1, Math.floor(hold / 3))}
    connect-retry = 2
    idle-hold-time-after-reset = 1
${n.localAddress ? `  [neighbors.transport.config]\n    local-address = "${n.localAddress}"\n` : ''}  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 60
${families}`;
  });
  return `[global.config]
  as = ${o.asn}
  router-id = "${o.routerId}"
  local-address-list = [${o.listen.map((l) => `"${l}"`).join(', ')}]
  port = 179

${neighbors.join('\n')}`;
}

export class Gobgp {
  private constructor(
    private readonly lab: BgpLab,
    readonly proc: TrackedProcess,
    readonly apiPort: number,
    readonly logFile: string,
  ) {}

  static async start(lab: BgpLab, config: string, apiPort = 50051, label = 'gobgpd'): Promise<Gobgp> {
    const conf = await lab.writeFile(`${label}.toml`, config);
    const proc = lab.spawnInB(label, 'gobgpd', ['-f', conf, '-t', 'toml', '--api-hosts', `127.0.0.1:${apiPort}`, '--pprof-disable', '-p']);
    const g = new Gobgp(lab, proc, apiPort, join(lab.dir, `${label}.log`));
    await waitFor('gobgpd API', async () => (await g.cli('global')).includes('AS') || undefined, { timeoutMs: 15_000, intervalMs: 200 });
    return g;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  cli(...args: string[]): Promise<string> {
    return nsRun(this.lab.b.ns.name, 'gobgp', ['-p', String(this.apiPort), ...args], 15_000);
  }

  log(): Promise<string> {
    return readFile(this.logFile, 'utf8');
  }

  /** session state of a neighbour as gobgp reports it ("established", "active", ...) */
  async state(address: string): Promise<string> {
    const j = JSON.parse(await this.cli('neighbor', address, '-j')) as { state?: { session_state?: number | string } };
    const s = j.state?.session_state;
    const names = ['unknown', 'idle', 'connect', 'active', 'opensent', 'openconfirm', 'established'];
    return typeof s === 'number' ? names[s] ?? String(s) : String(s ?? 'unknown').toLowerCase();
  }

  /** prefixes in the global RIB learned from `address` */
  async routesFrom(address: string, family: 'ipv4' | 'ipv6' = 'ipv4'): Promise<Array<{ prefix: string; stale: boolean; asPath: number[] }>> {
    const out = await this.cli('global', 'rib', '-a', family, '-j');
    const rib = JSON.parse(out || '{}') as Record<string, Array<{ 'neighbor-ip'?: string; stale?: boolean; attrs?: Array<{ type: number; as_paths?: Array<{ asns: number[] }> }> }>>;
    const res: Array<{ prefix: string; stale: boolean; asPath: number[] }> = [];
    for (const [prefix, paths] of Object.entries(rib)) {
      for (const p of paths) {
        if (p['neighbor-ip'] !== address) continue;
        const asPath = p.attrs?.find((x) => x.type === 2)?.as_paths?.flatMap((s) => s.asns) ?? [];
        res.push({ prefix, stale: !!p.stale, asPath });
      }
    }
    return res;
  }

  waitRoutes(address: string, pred: (prefixes: string[]) => boolean, what: string, family: 'ipv4' | 'ipv6' = 'ipv4', timeoutMs = 15_000): Promise<string[]> {
    return waitFor(`GoBGP ${what}`, async () => {
      const r = (await this.routesFrom(address, family)).map((x) => x.prefix);
      return pred(r) ? r : undefined;
    }, { timeoutMs, intervalMs: 150 });
  }
}
