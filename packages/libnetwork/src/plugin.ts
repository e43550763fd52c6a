/**
 * startPluginServer: the Docker plugin as the node agent runs it with `--libnetwork`. Wires the
 * drivers to the datastore, the allocator and the host, serves the socket, and (optionally) keeps
 * the TSNET-ISOLATION chains and the local dockerd's networks in step with the datastore.
 */
import { writeFile } from 'node:fs/promises';
import { deleteWorkloadVeth, type CommandRunner } from '@tsnet/dataplane';
import type { Datastore, DatastoreWatch } from '@tsnet/datastore';
import { DatastoreRecords } from './datastore-records.js';
import { DockerApi, DockerNetworkSync } from './docker-sync.js';
import { messageOf } from './errors.js';
import { IpamDriver } from './ipam-driver.js';
import { isolationInputFrom } from './isolation.js';
import { IsolationApplier } from './isolation-apply.js';
import { NetworkDriver } from './network-driver.js';
import {
  silentLogger,
  type AddressAllocator,
  type Logger,
  type PluginRecords,
  type WorkloadLinks,
} from './ports.js';
import { listenPlugin, routeTable } from './server.js';
import { ChildProcessRunner } from './runner.js';

export const DEFAULT_PLUGIN_DIR = '/run/docker/plugins';
export const PLUGIN_SOCKET_NAME = 'tsnet.sock';
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** The local dockerd's API socket: `DOCKER_HOST=unix:///path` when set, else /var/run/docker.sock. */
export function dockerSocketFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : DEFAULT_DOCKER_SOCKET;
}

export interface PluginServerOptions {
  /** unix socket to serve, normally `<plugin dir>/tsnet.sock` */
  socketPath: string;
  datastore: Datastore;
  /** address assignment: `ipamAllocator(new Ipam(datastore))` */
  allocator: AddressAllocator;
  nodeName: string;
  /** runs `ip`, `sysctl`, `iptables*` on this host (default: child processes in the current namespace) */
  runner?: CommandRunner;
  /** local dockerd's API socket: enables creating networks made on other hosts (network sync) */
  dockerSocket?: string;
  /** program TSNET-ISOLATION here (default true); false when the agent's reconciler does it */
  isolation?: boolean;
  logger?: Logger;
  /** timing hook per call (benchmarks, metrics) */
  onCall?: (path: string, ms: number) => void;
}

export interface PluginServer {
  close(): Promise<void>;
  /** recompute and program isolation now (also runs on every datastore change) */
  syncIsolation(): Promise<void>;
  /** one network-sync pass now (undefined without dockerSocket) */
  syncNetworks?: () => Promise<unknown>;
}

/**
 * Veth pairs for workloads: created up in one `ip` call, proxy ARP (answered at once) on the host
 * side, as @tsnet/dataplane's createWorkloadVeth does but with one command less on the Join path.
 */
export function workloadLinks(runner: CommandRunner, opts: { writeProcSys?: boolean } = {}): WorkloadLinks {
  const proxyArp = async (host: string): Promise<void> => {
    const keys = [`net/ipv4/conf/${host}/proxy_arp=1`, `net/ipv4/neigh/${host}/proxy_delay=0`];
    if (opts.writeProcSys) {
      // same namespace as this process: write /proc/sys directly, no process per Join
      await Promise.all(
        keys.map((kv) => {
          const [key, value] = kv.split('=') as [string, string];
          return writeFile(`/proc/sys/${key}`, value);
        }),
      );
      return;
    }
    const s = await runner.run('sysctl', ['-qw', ...keys]);
    if (s.exitCode !== 0) throw new Error(s.stderr.trim());
  };
  return {
    create: async (host, temp, mtu, peer) => {
      const batch = [
        `link add ${host} mtu ${mtu} up type veth peer name ${temp} address ${peer.mac} mtu ${mtu}`,
        ...peer.addresses.map((ip) => `neigh replace ${ip} lladdr ${peer.mac} dev ${host} nud permanent`),
      ];
      const r = await runner.run('ip', ['-batch', '-'], { input: batch.join('\n') + '\n' });
      if (r.exitCode !== 0) {
        await deleteWorkloadVeth(host, runner).catch(() => undefined);
        throw new Error(`creating veth ${host} failed: ${r.stderr.trim()}`);
      }
      try {
        await proxyArp(host);
      } catch (err) {
        await deleteWorkloadVeth(host, runner).catch(() => undefined);
        throw new Error(`enabling proxy ARP on ${host} failed: ${messageOf(err)}`);
      }
    },
    delete: (host) => deleteWorkloadVeth(host, runner),
  };
}

/** Host veths (`ts` + 11 hex) in `ip -o link` output. */
export function workloadVeths(ipLinkOutput: string): string[] {
  const out: string[] = [];
  for (const line of ipLinkOutput.split('\n')) {
    const m = /^\d+: (ts[0-9a-f]{11})[@:]/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

/** Removes host veths no active endpoint of this node owns (left by a crash mid-Leave). */
async function sweepStaleVeths(
  records: PluginRecords,
  runner: CommandRunner,
  node: string,
  links: WorkloadLinks,
  log: Logger,
): Promise<void> {
  const listed = await runner.run('ip', ['-o', 'link', 'show', 'type', 'veth']);
  if (listed.exitCode !== 0) return;
  const wanted = new Set(
    (await records.listEndpoints()).filter((e) => e.node === node && e.active).map((e) => e.hostInterface),
  );
  for (const name of workloadVeths(listed.stdout)) {
    if (wanted.has(name)) continue;
    log.info({ interface: name }, 'removing a workload veth no endpoint owns');
    await links
      .delete(name)
      .catch((err: unknown) =>
        log.warn({ interface: name, err: messageOf(err) }, 'could not remove stale veth'),
      );
  }
}

export async function startPluginServer(opts: PluginServerOptions): Promise<PluginServer> {
  const log = opts.logger ?? silentLogger;
  const runner = opts.runner ?? new ChildProcessRunner();
  const records: PluginRecords = new DatastoreRecords(opts.datastore);
  const links = workloadLinks(runner, { writeProcSys: opts.runner === undefined });
  await sweepStaleVeths(records, runner, opts.nodeName, links, log);
  const network = new NetworkDriver(records, opts.allocator, links, opts.nodeName, log);
  const ipam = new IpamDriver(opts.allocator, opts.nodeName, log);
  const listening = await listenPlugin(opts.socketPath, routeTable(network, ipam), log, opts.onCall);
  log.info({ socket: opts.socketPath }, 'Docker plugin listening');

  const isolation = new IsolationLoop(records, opts.allocator, runner, log, opts.isolation !== false);
  let watch: DatastoreWatch | undefined;
  let sync: DockerNetworkSync | undefined;
  try {
    if (opts.isolation !== false) {
      watch = await opts.datastore.watch(
        {
          onSnapshot: () => isolation.kick(),
          onEvent: () => isolation.kick(),
          onError: (err) => log.warn({ err: err.message }, 'isolation watch'),
        },
        { kinds: ['dockerNetwork', 'dockerEndpoint', 'pool'] },
      );
    }
    if (opts.dockerSocket) {
      sync = new DockerNetworkSync(new DockerApi(opts.dockerSocket), records, opts.nodeName, log);
      sync.start();
    }
  } catch (err) {
    await listening.close();
    throw err;
  }
  const resync = setInterval(() => isolation.kick({ full: true }), ISOLATION_RESYNC_MS);
  resync.unref();
  const server: PluginServer = {
    close: async () => {
      clearInterval(resync);
      await sync?.stop();
      await watch?.close();
      await isolation.stop();
      await listening.close();
      await network.settled();
    },
    syncIsolation: () => isolation.runNow(),
  };
  if (sync) server.syncNetworks = () => sync!.syncOnce();
  return server;
}

const ISOLATION_DEBOUNCE_MS = 100;
/** Every so often the chains are re-programmed even without a change (repairs manual edits). */
const ISOLATION_RESYNC_MS = 30_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Coalesces datastore changes into one isolation pass at a time. */
class IsolationLoop {
  private pending = false;
  /** the next pass re-reads the tables and re-checks the hook (start, resync, after a failure) */
  private fullPending = true;
  private current: Promise<void> | undefined;
  private stopped = false;
  private lastError = '';
  private readonly applier: IsolationApplier;

  constructor(
    private readonly records: PluginRecords,
    private readonly allocator: AddressAllocator,
    runner: CommandRunner,
    private readonly log: Logger,
    private readonly enabled: boolean,
  ) {
    this.applier = new IsolationApplier(runner);
  }

  kick(opts: { full?: boolean } = {}): void {
    if (this.stopped || !this.enabled) return;
    this.pending = true;
    if (opts.full) this.fullPending = true;
    // changes come in bursts (a container start writes several records): program once per burst
    if (!this.current)
      this.current = sleep(ISOLATION_DEBOUNCE_MS)
        .then(() => this.drain())
        .finally(() => (this.current = undefined));
  }

  async runNow(): Promise<void> {
    await this.current;
    this.fullPending = true;
    await this.once();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.current;
  }

  private async drain(): Promise<void> {
    while (this.pending && !this.stopped) {
      this.pending = false;
      await this.once().catch((err) => {
        const msg = messageOf(err);
        if (msg !== this.lastError)
          this.log.error({ err: msg }, 'programming network isolation failed (retried on the next change)');
        this.lastError = msg;
      });
    }
  }

  private async once(): Promise<void> {
    const full = this.fullPending;
    this.fullPending = false;
    const [networks, endpoints, pools] = await Promise.all([
      this.records.listNetworks(),
      this.records.listEndpoints(),
      this.allocator.listPools(),
    ]).catch((err: unknown) => {
      if (full) this.fullPending = true;
      throw err;
    });
    await this.applier.apply(
      isolationInputFrom(
        networks,
        endpoints,
        pools.map((p) => p.cidr),
      ),
      { full },
    );
    this.lastError = '';
  }
}
