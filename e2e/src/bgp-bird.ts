/** BIRD 2 in a lab namespace: config text, the daemon (foreground, by PID) and birdc queries. */
import { join } from 'node:path';
import { run, waitFor, type TrackedProcess } from '@tsnet/testkit';
import type { BgpLab } from './bgp-lab.js';

export interface BirdSession {
  name: string;
  localIp: string;
  localAs: number;
  peerIp: string;
  peerAs: number;
  holdTimeSec?: number;
  /** IPv6 next hop to send over this (IPv4) session */
  ipv6NextHop?: string;
  ipv6?: boolean;
}

export function birdConfig(o: { routerId: string; sessions: BirdSession[]; static4?: string[]; static6?: string[] }): string {
  const statics = (name: string, fam: string, routes: string[] = []): string =>
    `protocol static ${name} {\n  ${fam};\n${routes.map((r) => `  route ${r} blackhole;\n`).join('')}}\n`;
  const sessions = o.sessions.map(
    (s) => `protocol bgp ${s.name} {
  local ${s.localIp} as ${s.localAs};
  neighbor ${s.peerIp} as ${s.peerAs};
  direct;
  hold time ${s.holdTimeSec ?? 9};
  keepalive time ${Math.max(1, Math.floor((s.holdTimeSec ?? 9) / 3))};
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 4;
  graceful restart on;
  graceful restart time 60;
  ipv4 { import all; export where source = RTS_STATIC; next hop self; gateway direct; };
${s.ipv6 === false ? '' : `  ipv6 { import all; export where source = RTS_STATIC; next hop address ${s.ipv6NextHop}; gateway direct; };\n`}}
`,
  );
  return `router id ${o.routerId};
log stderr all;
protocol device { scan time 2; }
${statics('s4', 'ipv4', o.static4)}${statics('s6', 'ipv6', o.static6)}${sessions.join('')}`;
}

export class Bird {
  private constructor(
    readonly proc: TrackedProcess,
    readonly socket: string,
  ) {}

  static async start(lab: BgpLab, config: string, label = 'bird'): Promise<Bird> {
    const conf = await lab.writeFile(`${label}.conf`, config);
    const socket = join(lab.dir, `${label}.ctl`);
    const proc = lab.spawnInB(label, 'bird', ['-c', conf, '-s', socket, '-P', join(lab.dir, `${label}.pid`), '-f']);
    const bird = new Bird(proc, socket);
    await waitFor(`${label} control socket`, async () => (await bird.birdc('show status')).includes('Daemon is up'), { timeoutMs: 10_000 });
    return bird;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  birdc(command: string): Promise<string> {
    return run('birdc', ['-s', this.socket, ...command.split(' ')], 10_000);
  }

  /** Prefixes in BIRD's table for a protocol ("show route protocol NAME"), as text. */
  async routesFrom(protocol: string, family: 'ipv4' | 'ipv6' = 'ipv4'): Promise<string[]> {
    const out = await this.birdc(`show route protocol ${protocol} table master${family === 'ipv4' ? 4 : 6}`);
    return [...out.matchAll(/^([0-9a-f:.]+\/\d+)\s/gm)].map((m) => m[1]!);
  }

  /** The "BGP state" line of a protocol: Established, Idle, Active, ... */
  async state(protocol: string): Promise<string> {
    const out = await this.birdc(`show protocols all ${protocol}`);
    return /BGP state:\s+(\S+)/.exec(out)?.[1] ?? 'unknown';
  }

  async lastError(protocol: string): Promise<string> {
    const out = await this.birdc(`show protocols all ${protocol}`);
    return /Last error:\s+(.*)/.exec(out)?.[1]?.trim() ?? '';
  }

  waitState(protocol: string, state: string, timeoutMs = 20_000): Promise<true> {
    return waitFor(`BIRD protocol ${protocol} in ${state}`, async () => (await this.state(protocol)) === state || undefined, {
      timeoutMs,
      intervalMs: 200,
    });
  }

  waitRoutes(protocol: string, pred: (routes: string[]) => boolean, what: string, family: 'ipv4' | 'ipv6' = 'ipv4', timeoutMs = 15_000): Promise<string[]> {
    return waitFor(`BIRD ${what}`, async () => {
      const r = await this.routesFrom(protocol, family);
      return pred(r) ? r : undefined;
    }, { timeoutMs, intervalMs: 100 });
  }
}
