// IPAM allocation benchmark: N hosts (separate etcd clients, as separate machines) each take M
// addresses from one pool at the same time on a real etcd (testkit, loopback), then release them.
// Prints allocations and releases per second and the optimistic-concurrency retries.
// Run: e2e/bench/ipam [--hosts 8] [--per-host 500] [--rounds 3] [--endpoints URL,...]
import { Datastore, parseEndpoints } from '@tsnet/datastore';
import { Ipam } from '@tsnet/ipam';
import { EtcdCluster } from '@tsnet/testkit';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
function strArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Round {
  allocPerSec: number;
  releasePerSec: number;
  retries: number;
}

async function round(endpoints: string[], prefix: string, hosts: number, per: number): Promise<Round> {
  const clients = await Promise.all(Array.from({ length: hosts + 1 }, () => Datastore.connect({ endpoints, prefix })));
  try {
    const admin = new Ipam(clients[hosts]!);
    await admin.addPool({ cidr: '10.128.0.0/16' });
    const ipams = clients.slice(0, hosts).map((ds) => new Ipam(ds));
    let t = performance.now();
    const ips = await Promise.all(
      ipams.map(async (ipam, h) => {
        const out: string[] = [];
        for (let i = 0; i < per; i++) out.push((await ipam.autoAssign({ handle: `h${h}-${i}`, node: `host${h}` })).ip);
        return out;
      }),
    );
    const allocSec = (performance.now() - t) / 1000;
    const all = ips.flat();
    if (new Set(all).size !== hosts * per) throw new Error('duplicate addresses: the allocator is broken');
    const retries = ipams.reduce((n, i) => n + i.retries, 0);
    t = performance.now();
    await Promise.all(ipams.map(async (ipam, h) => {
      for (let i = 0; i < per; i++) await ipam.releaseByHandle(`h${h}-${i}`);
    }));
    const releaseSec = (performance.now() - t) / 1000;
    for (let h = 0; h < hosts; h++) await admin.releaseNode(`host${h}`);
    await admin.removePool('10.128.0.0/16');
    return { allocPerSec: (hosts * per) / allocSec, releasePerSec: (hosts * per) / releaseSec, retries };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const hosts = arg('hosts', 8);
  const per = arg('per-host', 500);
  const rounds = arg('rounds', 3);
  const given = strArg('endpoints');
  const etcd = given ? undefined : await EtcdCluster.start(1);
  try {
    const endpoints = given ? parseEndpoints(given) : etcd!.endpoints;
    const results: Round[] = [];
    for (let r = 0; r < rounds; r++) {
      const res = await round(endpoints, `/tsnet-bench-${process.pid}-${r}`, hosts, per);
      results.push(res);
      console.log(`round ${r + 1}: ${res.allocPerSec.toFixed(0)} allocations/s, ${res.releasePerSec.toFixed(0)} releases/s, ${res.retries} retries`);
    }
    const alloc = median(results.map((r) => r.allocPerSec));
    console.log(`ipam: ${hosts} hosts x ${per} addresses, median of ${rounds}: ${alloc.toFixed(0)} allocations/s ` +
      `(target >= 500), ${median(results.map((r) => r.releasePerSec)).toFixed(0)} releases/s, ` +
      `retries per round ${results.map((r) => r.retries).join('/')}`);
    if (alloc < 500) process.exitCode = 1;
  } finally {
    await etcd?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
