/** `tsctl lab up`: build the hosts, start etcd and one agent per host, add workloads, verify. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Underlay, dockerdUnsupportedReason, netnsUnsupportedReason, waitFor } from '@tsnet/testkit';
import { checkLabOptions, labPrefix, planLab, type LabOptions } from './plan.js';
import { defaultLabDir, hostDir, loadState, saveState, type LabState } from './state.js';
import { LabError } from './errors.js';
import { inNetnsEnv, spawnInNetns } from './procs.js';
import { createEndpoint, createNetwork, newDockerId } from './plugin-client.js';
import { collectStatus, type LabReport } from './status.js';
import { labDown } from './down.js';
import { createLabNetwork, dockerSocket, dockerdArgs, importImage, runWorkload, waitDockerd } from './docker.js';

export interface LabContext {
  /** path of the tsctl bin (the lab drives each host through it) */
  tsctlBin: string;
  labDir?: string;
  progress: (line: string) => void;
}

export { LabError } from './errors.js';

/** Environment for tsctl inside a lab host. */
export function hostEnv(state: LabState, labDir: string, host: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ETCD_ENDPOINTS: state.plan.etcdClientUrl,
    TSNET_RUN_DIR: join(hostDir(labDir, host), 'run'),
    TSNET_PLUGIN_DIR: join(hostDir(labDir, host), 'plugins'),
    HOSTNAME: host,
    // the plugin mirrors networks into this host's dockerd; `lab exec hN -- docker ps` uses it too
    ...(state.docker ? { DOCKER_HOST: `unix://${dockerSocket(labDir, host)}` } : {}),
  };
}

export async function labUp(opts: LabOptions, ctx: LabContext): Promise<LabReport> {
  const labDir = ctx.labDir ?? defaultLabDir();
  opts = { ...opts, prefix: opts.prefix ?? labPrefix() };
  const bad =
    checkLabOptions(opts) ??
    netnsUnsupportedReason() ??
    (opts.docker ? dockerdUnsupportedReason()?.concat(': run the lab without --docker') : undefined);
  if (bad) throw new LabError(bad);
  const existing = await loadState(labDir);
  if (existing)
    throw new LabError(
      `a lab is already up (${existing.plan.hosts.length} hosts, ${existing.mode}); run 'tsctl lab down' first`,
    );
  const plan = planLab(opts);
  const state: LabState = {
    version: 1,
    createdAt: new Date().toISOString(),
    mode: opts.mode,
    docker: opts.docker,
    plan,
    namespaces: [],
    processes: [],
    workloads: {},
  };
  await saveState(labDir, state);
  try {
    await buildLab(state, labDir, ctx);
  } catch (err) {
    ctx.progress(`failed: ${(err as Error).message}; cleaning up`);
    await labDown({ labDir, progress: () => undefined });
    throw err;
  }
  return collectStatus(state, labDir, ctx.tsctlBin);
}

async function buildLab(state: LabState, labDir: string, ctx: LabContext): Promise<void> {
  const { plan } = state;
  const say = ctx.progress;
  const tsctl = (host: string, args: string[], timeoutMs = 30_000) =>
    inNetnsEnv(`${plan.prefix}${host}`, [ctx.tsctlBin, ...args], hostEnv(state, labDir, host), timeoutMs);

  say(`creating ${plan.hosts.length} hosts on an underlay bridge (${plan.prefix}sw)`);
  const underlay = await Underlay.create(plan.prefix, { persistent: true });
  state.namespaces.push(underlay.sw.name);
  await saveState(labDir, state);
  for (const h of plan.hosts) {
    await underlay.addHost(h.name, h.cidr, h.gateway);
    state.namespaces.push(`${plan.prefix}${h.name}`);
    await saveState(labDir, state);
    await mkdir(join(hostDir(labDir, h.name), 'plugins'), { recursive: true });
    say(`  host ${h.name}: ${h.cidr} via ${h.gateway}`);
  }

  if (state.mode === 'ipip') await requireIpip(`${plan.prefix}${plan.hosts[0]!.name}`);

  say(`starting etcd at ${plan.etcdClientUrl}`);
  const etcdDir = join(labDir, 'etcd');
  const etcdPid = spawnInNetns(
    underlay.sw.name,
    'etcd',
    [
      '--name', 'lab',
      '--data-dir', etcdDir,
      '--listen-client-urls', `${plan.etcdClientUrl},http://127.0.0.1:2379`,
      '--advertise-client-urls', plan.etcdClientUrl,
      '--listen-peer-urls', 'http://127.0.0.1:2380',
      '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', 'lab=http://127.0.0.1:2380',
      '--log-level', 'warn',
      '--logger', 'zap',
    ],
    join(labDir, 'etcd.log'),
  );
  state.processes.push({ label: 'etcd', pid: etcdPid });
  await saveState(labDir, state);
  await waitFor(
    'etcd to answer /health',
    async () =>
      (await inNetnsEnv(underlay.sw.name, ['busybox', 'wget', '-qO-', 'http://127.0.0.1:2379/health'], process.env, 3000)).includes(
        '"true"',
      ),
    { timeoutMs: 20_000, intervalMs: 200 },
  );

  const first = plan.hosts[0]!.name;
  say(`adding pool ${plan.pool.cidr} (${[...plan.pool.flags].join(' ') || 'native'})`);
  await tsctl(first, ['pool', 'add', plan.pool.cidr, '--block-size', String(plan.pool.blockSize), ...plan.pool.flags]);

  await Promise.all(
    plan.hosts.map(async (h) => {
      say(`starting tsnet node on ${h.name} (${h.ip})`);
      const out = await tsctl(
        h.name,
        ['node', '--detach', '--name', h.name, '--ip', h.ip, '--libnetwork', '--log-dir', hostDir(labDir, h.name)],
        60_000,
      );
      const pid = Number(/pid (\d+)/.exec(out)?.[1]);
      if (pid) state.processes.push({ label: `agent ${h.name}`, pid });
    }),
  );
  await saveState(labDir, state);

  say('waiting for the BGP mesh to be Established everywhere');
  await waitFor(
    'every host to see all its peers up',
    async () => {
      for (const h of plan.hosts) {
        const st = JSON.parse(await tsctl(h.name, ['status', '-o', 'json'], 10_000)) as {
          peers: Array<{ state: string }>;
        };
        if (st.peers.length < plan.hosts.length - 1 || st.peers.some((p) => p.state !== 'up')) return false;
      }
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );

  if (state.docker) await dockerWorkloads(state, labDir, say);
  else await pluginWorkloads(state, labDir, say);
  say('waiting for routes to converge');
  await waitFor(
    'every workload to ping every other',
    async () => {
      const r = await collectStatus(state, labDir, ctx.tsctlBin);
      return Object.values(r.ping).every(Boolean);
    },
    { timeoutMs: 30_000, intervalMs: 1000 },
  ).catch(() => say('  not every pair answers yet: see the ping matrix below'));
}

/** Workloads as real containers: dockerd per host, a tsnet network, `docker run` per host. */
async function dockerWorkloads(state: LabState, labDir: string, say: (l: string) => void): Promise<void> {
  const hosts = state.plan.hosts.map((h) => h.name);
  say('starting dockerd on every host');
  for (const h of hosts) {
    const pid = spawnInNetns('', 'nsenter', await dockerdArgs(state, labDir, h), join(labDir, h, 'dockerd.log'));
    state.processes.push({ label: `dockerd ${h}`, pid });
  }
  await saveState(labDir, state);
  await Promise.all(hosts.map((h) => waitDockerd(labDir, h)));
  say(`importing a busybox image into every dockerd`);
  await Promise.all(hosts.map((h) => importImage(labDir, h)));
  say('docker network create --driver tsnet --ipam-driver tsnet --subnet ' + state.plan.pool.cidr + ' labnet');
  await createLabNetwork(state, labDir);
  for (const h of hosts) {
    const ip = await runWorkload(labDir, h);
    state.workloads[h] = ip;
    await saveState(labDir, state);
    say(`  container w-${h} on ${h}: ${ip}`);
  }
}

/** Workloads without Docker: endpoints created through the plugin API, each in its own netns. */
async function pluginWorkloads(state: LabState, labDir: string, say: (l: string) => void): Promise<void> {
  const { plan } = state;
  say('creating one workload per host through the tsnet plugin');
  const networkId = newDockerId();
  for (const h of plan.hosts) {
    const sock = join(hostDir(labDir, h.name), 'plugins', 'tsnet.sock');
    const { ep } = await (async () => {
      const net = await createNetwork(sock, plan.pool.cidr, networkId);
      return { net, ep: await createEndpoint(sock, net) };
    })().catch((err: Error) => {
      throw new LabError(
        `the tsnet plugin of ${h.name} failed at ${sock}: ${err.message}; see ${join(hostDir(labDir, h.name), 'tsnet.log')}`,
      );
    });
    const wl = `${plan.prefix}${h.name}w`;
    await inNetnsEnv('', ['ip', 'netns', 'add', wl], process.env, 5000);
    state.namespaces.push(wl);
    await saveState(labDir, state);
    const ip = ep.address.split('/')[0]!;
    await inNetnsEnv('', ['ip', '-n', `${plan.prefix}${h.name}`, 'link', 'set', ep.srcName, 'netns', wl], process.env);
    for (const args of [
      ['link', 'set', 'lo', 'up'],
      ['link', 'set', ep.srcName, 'name', 'eth0'],
      ['addr', 'add', `${ip}/32`, 'dev', 'eth0'],
      ['link', 'set', 'eth0', 'up'],
      ['route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link'],
      ['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0'],
    ])
      await inNetnsEnv('', ['ip', '-n', wl, ...args], process.env);
    state.workloads[h.name] = ip;
    await saveState(labDir, state);
    say(`  workload on ${h.name}: ${ip}`);
  }
}


/** IPIP needs the kernel's ipip module; without it every cross-host ping would fail, so say so now. */
async function requireIpip(ns: string): Promise<void> {
  const probe = 'tslabprobe0';
  try {
    await inNetnsEnv(ns, ['ip', 'link', 'add', probe, 'type', 'ipip'], process.env, 5000);
  } catch {
    throw new LabError("--mode ipip needs the kernel's ipip module (modprobe ipip), which this kernel lacks: use --mode vxlan");
  }
  await inNetnsEnv(ns, ['ip', 'link', 'del', probe], process.env, 5000).catch(() => undefined);
}
