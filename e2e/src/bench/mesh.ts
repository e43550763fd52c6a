// Mesh benchmark: N node agents (one per network namespace on one underlay, real etcd in the
// switch namespace) are launched together; measured: time until every agent answers, time until
// all N·(N-1) sessions are Established, time until every host has a route to every other host's
// block (with a VXLAN pool: the block of each agent's VTEP address), then, in the settled cluster,
// the time from a new block written for one host to its route on every other host (watched with
// `ip monitor route`, no polling), the CPU each agent used until all answered, and agent RSS.
// Run: e2e/bench/mesh [--nodes 10,25,50] [--samples 100] [--routed] [--node-flags '--v8-flag ...']
//   [--node-options '--cpu-prof --cpu-prof-dir=/tmp/p']   (root; all inside namespaces).
// Default: one underlay subnet, native routing. The kernel's ARP table is shared by all namespaces
// (gc_thresh3 = 1024 entries here), and a full mesh on one subnet needs about N² entries, so above
// ~30 hosts use --routed: every host in its own subnet behind the switch and a VXLAN pool, so a
// host needs one ARP entry (its gateway) and the VTEP neighbours are permanent entries.
import { cp, readFile } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { netnsUnsupportedReason, sleep, uniquePrefix, waitFor } from '@tsnet/testkit';
import { Ipam } from '@tsnet/ipam';
import { AgentLab } from '../agent-lab.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

/** RSS and PSS (shared pages such as the node binary split between the processes mapping them). */
async function memMb(pid: number): Promise<{ rss: number; pss: number }> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) / 1024;
  return { rss: field('Rss'), pss: field('Pss') };
}

/** CPU seconds (user + system) a process has used so far; `children`: of its reaped children. */
async function cpuSeconds(pid: number, children = false): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  // utime, stime (cutime, cstime) in clock ticks (USER_HZ 100)
  const [u, s] = children ? [13, 14] : [11, 12];
  return (Number(fields[u]) + Number(fields[s])) / 100;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

interface Row {
  nodes: number;
  answeringS: number;
  /** CPU per agent until all answered */
  startCpuS: number;
  meshS: number;
  /** every host has a route to every other host's block */
  routesS: number;
  propP50: number;
  propP99: number;
  hostP99: number;
  rssAvg: number;
  rssMax: number;
  pssAvg: number;
}

/** First time each namespace printed a route for each prefix (ip monitor route). */
class RouteWatch {
  readonly seen = new Map<string, Map<string, number>>();
  private readonly procs: ChildProcess[] = [];

  watch(ns: string): void {
    const p = spawn('ip', ['-n', ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.procs.push(p);
    // readline emits a chunk's lines as it arrives: performance.now() is the time of arrival
    createInterface({ input: p.stdout! }).on('line', (l) => {
      if (l.startsWith('Deleted')) return;
      const words = l.split(' ');
      const prefix = words[0] === 'blackhole' ? words[1]! : words[0]!;
      let m = this.seen.get(prefix);
      if (!m) this.seen.set(prefix, (m = new Map()));
      if (!m.has(ns)) m.set(ns, performance.now());
    });
  }

  stop(): void {
    for (const p of this.procs) p.kill('SIGTERM');
  }
}

async function runOne(n: number, samples: number, routed: boolean): Promise<Row> {
  const lab = await AgentLab.create(uniquePrefix('b'), 'meshbench');
  const watch = new RouteWatch();
  try {
    const names = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    if (routed) {
      // each host in its own subnet behind the switch: a host keeps one ARP entry (its gateway)
      for (const [i, name] of names.entries()) await lab.addHost(name, `10.${i + 1}.0.1/24`, `10.${i + 1}.0.254`);
      await lab.startEtcd('10.1.0.254');
      await new Ipam(lab.ds).addPool({ cidr: '192.168.0.0/16', vxlanMode: 'always' });
    } else {
      for (const [i, name] of names.entries()) await lab.addHost(name, `198.51.100.${i + 1}/24`, '198.51.100.254');
      await lab.startEtcd('198.51.100.254');
    }
    // watched from the start: the time by which every host has every other host's block route
    for (const name of names) watch.watch(lab.host(name).ns.name);
    const t0 = performance.now();
    // many agents per CPU: let each wait for etcd as long as the run may take. The agents run as
    // `tsctl node --detach` starts them (its node flags and launcher, hence the bundle when built).
    // NODE_EXTRA_CA_CERTS off: a VM that points it at the system bundle (this one does) makes each
    // node process parse ~150 certificates at start, 30 ms CPU, which the agents (plain HTTP to
    // etcd here) never use
    const env: Record<string, string> = { TSNET_ETCD_WAIT_MS: '300000', NODE_EXTRA_CA_CERTS: '' };
    if (arg('node-options', '')) env.NODE_OPTIONS = arg('node-options', '');
    const nodeFlags = arg('node-flags', '').split(' ').filter(Boolean);
    for (const name of names) lab.launchAgent(name, {}, env, nodeFlags);
    await Promise.all(names.map((name) => lab.waitAnswering(name, 300_000, 500)));
    const answering = performance.now() - t0;
    const startCpu = await Promise.all(names.map((name) => cpuSeconds(lab.agent(name).proc.pid!)));
    await waitFor(
      `all ${n * (n - 1)} sessions Established`,
      async () => {
        const st = await Promise.all(names.map((name) => lab.status(name)));
        return st.every((s) => s.peers.length === n - 1 && s.peers.every((p) => p.state === 'up'));
      },
      { timeoutMs: 300_000, intervalMs: 500 },
    );
    const mesh = performance.now() - t0;
    if (process.env.TSNET_BENCH_VERBOSE) {
      // where the CPU of the start went: the agents, the processes they ran, etcd, this process
      const pids = names.map((name) => lab.agent(name).proc.pid!);
      const own = sum(await Promise.all(pids.map((pid) => cpuSeconds(pid))));
      const kids = sum(await Promise.all(pids.map((pid) => cpuSeconds(pid, true))));
      const etcd = lab.etcdPid ? await cpuSeconds(lab.etcdPid) : NaN;
      const bench = (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
      console.error(`CPU until full mesh: agents ${own.toFixed(1)} s, their commands ${kids.toFixed(1)} s, etcd ${etcd.toFixed(1)} s, benchmark ${bench.toFixed(1)} s`);
    }

    // every agent's block: with the VXLAN pool each claims one for its VTEP address at start (wait
    // for all of them); natively none until a first workload
    const blocks = await waitFor(
      'a block for every agent',
      async () => {
        const all = (await lab.ds.list('block')).items.map((b) => b.value).filter((b) => b.affinity && names.includes(b.affinity));
        return !routed || new Set(all.map((b) => b.affinity)).size === n ? all : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    await waitFor(
      'every host has a route to every other host\u2019s block',
      () =>
        blocks.every((b) => {
          const seen = watch.seen.get(b.cidr);
          return names.every((name) => name === b.affinity || seen?.has(lab.host(name).ns.name));
        }),
      { timeoutMs: 120_000, intervalMs: 20 },
    );
    const routes = blocks.length > 0 ? performance.now() - t0 : NaN;
    if (process.env.TSNET_BENCH_VERBOSE) console.error(`${blocks.length} blocks, routed everywhere after ${(routes / 1000).toFixed(1)} s`);
    await sleep(500);
    const allHosts: number[] = [];
    const perHost: number[] = [];
    for (let s = 0; s < samples; s++) {
      const owner = names[s % n]!;
      const cidr = `192.168.${200 + Math.floor(s / 4)}.${(s % 4) * 64}/26`;
      const t = performance.now();
      await lab.ds.put('block', cidr, { cidr, pool: '192.168.0.0/16', affinity: owner, allocations: Array(64).fill(null), attributes: [] });
      const committed = performance.now() - t;
      const others = names.filter((x) => x !== owner).map((x) => lab.host(x).ns.name);
      await waitFor(
        `route ${cidr} on all other hosts`,
        () => {
          const m = watch.seen.get(cidr);
          return m !== undefined && others.every((ns) => m.has(ns));
        },
        { timeoutMs: 30_000, intervalMs: 2 },
      );
      const m = watch.seen.get(cidr)!;
      const times = others.map((ns) => m.get(ns)! - t);
      perHost.push(...times);
      allHosts.push(Math.max(...times));
      if (process.env.TSNET_BENCH_VERBOSE) {
        const slowest = others[times.indexOf(Math.max(...times))];
        const own = m.get(lab.host(owner).ns.name);
        const sorted = [...times].sort((a, b) => a - b);
        console.error(
          `sample ${s} at +${((t - t0) / 1000).toFixed(1)} s: etcd put ${committed.toFixed(0)} ms, owner ${owner} (own blackhole ${own === undefined ? '-' : (own - t).toFixed(0)} ms), ` +
            `others first/median/all ${sorted[0]!.toFixed(0)}/${sorted[sorted.length >> 1]!.toFixed(0)}/${sorted.at(-1)!.toFixed(0)} ms, slowest ${slowest}`,
        );
      }
      await sleep(100);
    }
    const mem = await Promise.all(names.map((name) => memMb(lab.agent(name).proc.pid!)));
    const rss = mem.map((m) => m.rss);
    return {
      nodes: n,
      answeringS: answering / 1000,
      startCpuS: startCpu.reduce((a, b) => a + b, 0) / n,
      meshS: mesh / 1000,
      routesS: routes / 1000,
      propP50: pct(allHosts, 50),
      propP99: pct(allHosts, 99),
      hostP99: pct(perHost, 99),
      rssAvg: rss.reduce((a, b) => a + b, 0) / rss.length,
      rssMax: Math.max(...rss),
      pssAvg: mem.reduce((a, m) => a + m.pss, 0) / mem.length,
    };
  } finally {
    watch.stop();
    const keep = process.env.TSNET_BENCH_KEEP_LOGS;
    if (keep) await cp(lab.dir.path, keep, { recursive: true, filter: (f) => !f.includes('/etcd') && !f.endsWith('.sock') }).catch(() => undefined);
    await lab.destroy();
  }
}

async function main(): Promise<void> {
  const skip = netnsUnsupportedReason();
  if (skip) {
    console.error(`mesh benchmark skipped: ${skip}`);
    process.exit(1);
  }
  const sizes = arg('nodes', '10,25,50').split(',').map(Number);
  // 100: a p99 of fewer samples is their maximum
  const samples = Number(arg('samples', '100'));
  const routed = process.argv.includes('--routed');
  console.log(routed ? 'underlay: a subnet per host behind one router, VXLAN pool (always)' : 'underlay: one subnet, native routing');
  console.log('| agents | all answering | start CPU/agent | full mesh | all routes | new block → all hosts p50 | p99 | per-host p99 | RSS avg | RSS max | PSS avg |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const n of sizes) {
    console.error(`mesh benchmark: ${n} agents ...`);
    const r = await runOne(n, samples, routed);
    console.log(
      `| ${r.nodes} | ${r.answeringS.toFixed(1)} s | ${r.startCpuS.toFixed(2)} s | ${r.meshS.toFixed(1)} s | ${Number.isNaN(r.routesS) ? '—' : `${r.routesS.toFixed(1)} s`} | ${r.propP50.toFixed(0)} ms | ${r.propP99.toFixed(0)} ms | ${r.hostP99.toFixed(0)} ms | ${r.rssAvg.toFixed(0)} MB | ${r.rssMax.toFixed(0)} MB | ${r.pssAvg.toFixed(0)} MB |`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
