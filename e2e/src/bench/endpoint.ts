// Endpoint benchmark. (1) Plugin-side time of one container's whole life as dockerd drives it —
// RequestAddress, CreateEndpoint, Join, Leave, DeleteEndpoint, ReleaseAddress — over N endpoints
// against a real etcd, with real veths (the process re-runs itself inside a fresh network
// namespace, so `ip`/`sysctl` run as on a host). (2) `docker run` to the first reply of a ping
// from a container on another host (two hosts with dockerd and an agent serving the plugin, as in the e2e).
// Also (3): the six calls against the plugin as the node agent serves it (libnetwork: true) on
// host a of (2), client round trips.
// Run: e2e/bench/endpoint [--endpoints N] [--agent-endpoints M] [--runs R] [--skip-docker]   (root).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Datastore } from '@tsnet/datastore';
import { Ipam } from '@tsnet/ipam';
import { ipamAllocator, startPluginServer } from '@tsnet/libnetwork';
import {
  EtcdCluster,
  Netns,
  dockerdUnsupportedReason,
  netnsUnsupportedReason,
  run,
  tempDir,
  uniquePrefix,
  waitFor,
} from '@tsnet/testkit';
import { AgentLab } from '../agent-lab.js';
import { DockerLab } from '../docker-lab.js';
import { LIFECYCLE_CALLS, post, runLifecycles } from './endpoint-client.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const pct = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const ms = (x: number): string => `${x.toFixed(1)} ms`;

function table(title: string, rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  console.log(title);
  rows.forEach((r, i) => {
    console.log(
      r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | '),
    );
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  });
}

/** Inside the namespace: etcd, the plugin, N endpoint lifecycles. */
async function pluginSide(n: number): Promise<void> {
  const etcd = await EtcdCluster.start();
  const dir = await tempDir('epbench');
  const ds = await Datastore.connect({ endpoints: etcd.endpoints });
  const serverMs = new Map<string, number>();
  const server = await startPluginServer({
    socketPath: join(dir.path, 'tsnet.sock'),
    datastore: ds,
    allocator: ipamAllocator(new Ipam(ds)),
    nodeName: 'bench',
    onCall: (path, t) => serverMs.set(path, t),
  });
  try {
    const sock = join(dir.path, 'tsnet.sock');
    await new Ipam(ds).addPool({ cidr: '10.90.0.0/16' });
    const netId = 'b'.repeat(64);
    await post(sock, '/NetworkDriver.CreateNetwork', {
      NetworkID: netId,
      IPv4Data: [{ Pool: '10.90.0.0/16' }],
    });
    const r = await runLifecycles(sock, netId, '10.90.0.0/16', n, 'b', (path) => serverMs.get(path)!);
    const rows = [['step', 'p50', 'p99']];
    for (const c of LIFECYCLE_CALLS) rows.push([c, ms(pct(r.per[c], 50)), ms(pct(r.per[c], 99))]);
    rows.push(['all six, plugin side (target p50 <= 20 ms)', ms(pct(r.totals, 50)), ms(pct(r.totals, 99))]);
    rows.push(['all six, client wall clock', ms(pct(r.wall, 50)), ms(pct(r.wall, 99))]);
    table(`endpoint benchmark (plugin side): ${n} endpoints, real etcd, real veths`, rows);
  } finally {
    await server.close();
    await ds.close();
    await etcd.stop();
    await dir.remove();
  }
}

/** Two docker hosts; `docker run` on a, a pinger already running in a container on b. */
async function dockerSide(runs: number, agentEndpoints: number): Promise<void> {
  const lab = await AgentLab.create(uniquePrefix('eb'));
  const dk = new DockerLab(lab);
  try {
    await lab.addHost('a', '198.51.100.1/24', '198.51.100.254');
    await lab.addHost('b', '198.51.100.2/24', '198.51.100.254');
    await lab.startEtcd('198.51.100.254');
    await new Ipam(lab.ds).addPool({ cidr: '10.91.0.0/16' });
    // per host: dockerd, then the agent serving the plugin to it (libnetwork: true)
    for (const h of ['a', 'b']) {
      await dk.addDockerHost(h);
      await dk.get(h).dockerd.importBusybox('tsnet/busybox');
    }
    await Promise.all(['a', 'b'].map((h) => lab.waitEstablished(h, 1)));
    await dk.docker('a', [
      'network',
      'create',
      '-d',
      'tsnet',
      '--ipam-driver',
      'tsnet',
      '--subnet',
      '10.91.0.0/16',
      'bench',
    ]);
    await waitFor(
      'the network on b (network sync)',
      async () => (await dk.docker('b', ['network', 'ls', '--format', '{{.Name}}'])).includes('bench'),
      {
        timeoutMs: 15_000,
        intervalMs: 200,
      },
    );
    // the six calls against the plugin as the node agent on a serves it (client round trips;
    // the agent programs each endpoint's route meanwhile, as in production)
    const dockerNetId = await dk.docker('a', ['network', 'inspect', '-f', '{{.Id}}', 'bench']);
    const viaAgent = await runLifecycles(
      join(dk.get('a').pluginDir, 'tsnet.sock'),
      dockerNetId,
      '10.91.0.0/16',
      agentEndpoints,
      'a',
    );
    const agentRows = [['step (client round trip)', 'p50', 'p99']];
    for (const c of LIFECYCLE_CALLS)
      agentRows.push([c, ms(pct(viaAgent.per[c], 50)), ms(pct(viaAgent.per[c], 99))]);
    agentRows.push(['all six, client wall clock', ms(pct(viaAgent.wall, 50)), ms(pct(viaAgent.wall, 99))]);
    table(`endpoint benchmark (plugin served by the node agent on a): ${agentEndpoints} endpoints`, agentRows);
    await dk.docker('b', [
      'run',
      '-d',
      '--name',
      'pinger',
      '--net',
      'bench',
      'tsnet/busybox',
      'sleep',
      '3600',
    ]);
    const samples: number[] = [];
    const vethAt: number[] = [];
    const routeAt: number[] = [];
    const remoteAt: number[] = [];
    for (let i = 0; i < runs; i++) {
      const ip = `10.91.250.${10 + i}`;
      const pinger = spawn('docker', [
        '-H',
        `unix://${dk.get('b').dockerd.socketPath}`,
        'exec',
        '-t', // a tty: ping's output is line-buffered, so the first reply is seen when it happens
        'pinger',
        'ping',
        '-i',
        '0.02',
        '-w',
        '60',
        ip,
      ]);
      const firstReply = new Promise<number>((resolve, reject) => {
        pinger.stdout.on('data', (c: Buffer) => {
          if (c.toString().includes('bytes from')) resolve(performance.now());
        });
        pinger.on('exit', () => reject(new Error(`no reply from ${ip} within 60 s`)));
      });
      await new Promise((r) => setTimeout(r, 300));
      const t0 = performance.now();
      // when the pieces appear on a: the veth (plugin's Join) and the /32 route (the agent)
      let stop = false;
      const seen = { veth: 0, route: 0, remote: 0 };
      const watcher = (async (): Promise<void> => {
        const ns = lab.host('a').ns;
        const nsB = lab.host('b').ns;
        while (!stop && (!seen.veth || !seen.route || !seen.remote)) {
          const [links, routes, remote] = await Promise.all([
            ns.ip('-o', 'link', 'show', 'type', 'veth'),
            ns.ip('route', 'show', `${ip}/32`),
            nsB.ip('route', 'show', 'match', ip),
          ]);
          if (!seen.remote && remote.split('\n').some((l) => l.startsWith('10.91.')))
            seen.remote = performance.now() - t0;
          if (!seen.veth && /: ts[0-9a-f]{11}@/.test(links)) seen.veth = performance.now() - t0;
          if (!seen.route && routes.trim() !== '') seen.route = performance.now() - t0;
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      await dk.docker('a', [
        'run',
        '-d',
        '--name',
        `c${i}`,
        '--net',
        'bench',
        '--ip',
        ip,
        'tsnet/busybox',
        'sleep',
        '3600',
      ]);
      samples.push((await firstReply) - t0);
      stop = true;
      await watcher;
      vethAt.push(seen.veth);
      routeAt.push(seen.route);
      remoteAt.push(seen.remote);
      pinger.kill('SIGTERM');
      await dk.docker('a', ['rm', '-f', `c${i}`]);
    }
    const bare: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await dk.docker('a', [
        'run',
        '-d',
        '--name',
        `n${i}`,
        '--network',
        'none',
        'tsnet/busybox',
        'sleep',
        '3600',
      ]);
      bare.push(performance.now() - t0);
      await dk.docker('a', ['rm', '-f', `n${i}`]);
    }
    table(`endpoint benchmark (docker): ${runs} runs, 2 hosts, vfs storage`, [
      ['step', 'p50', 'max'],
      [
        'docker run -d on a → host veth exists on a (plugin Join)',
        ms(pct(vethAt, 50)),
        ms(Math.max(...vethAt)),
      ],
      ['docker run -d on a → /32 route on a (node agent)', ms(pct(routeAt, 50)), ms(Math.max(...routeAt))],
      [
        'docker run -d on a → route to its block on b (BGP)',
        ms(pct(remoteAt, 50)),
        ms(Math.max(...remoteAt)),
      ],
      [
        'docker run -d on a → first ping reply from a container on b',
        ms(pct(samples, 50)),
        ms(Math.max(...samples)),
      ],
      [
        'docker run -d --network none on a (no tsnet, for comparison)',
        ms(pct(bare, 50)),
        ms(Math.max(...bare)),
      ],
    ]);
  } finally {
    await dk.destroy();
    await lab.destroy();
  }
}

async function main(): Promise<void> {
  const n = arg('endpoints', 200);
  if (process.argv.includes('--inner')) return pluginSide(n);
  const skip = netnsUnsupportedReason();
  if (skip) throw new Error(skip);
  const ns = await Netns.create(uniquePrefix('epb'));
  try {
    const self = fileURLToPath(import.meta.url);
    const out = await run(
      'ip',
      ['netns', 'exec', ns.name, process.execPath, self, '--inner', '--endpoints', String(n)],
      600_000,
    );
    process.stdout.write(out);
  } finally {
    await ns.delete();
  }
  if (!process.argv.includes('--skip-docker')) {
    const dskip = dockerdUnsupportedReason();
    if (dskip) console.log(`docker part skipped: ${dskip}`);
    else await dockerSide(arg('runs', 5), arg('agent-endpoints', 100));
  }
}

main().catch((err: Error) => {
  console.error(`endpoint benchmark failed: ${err.message}`);
  process.exit(1);
});
