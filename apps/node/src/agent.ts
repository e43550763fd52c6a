/**
 * runAgent: wires the shells (datastore, BGP speaker, dataplane, control socket, metrics) around
 * the agent loop, in start order: logs → etcd → register → BGP listen → follow → control socket.
 * Anything that fails during start undoes what was started and rejects with one clear line.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { AgentLoop, type LoopTimings } from './agent-loop.js';
import { BgpSpeakerAdapter } from './bgp-speaker.js';
import { ensureNoOtherAgent, startControlServer, type ControlServer } from './control-server.js';
import { ReconcilerDriver, detectUnderlay } from './dataplane-driver.js';
import { createLogger } from './log.js';
import { AgentMetrics, startMetricsServer, type MetricsServer } from './metrics.js';
import type { AgentHandle, AgentOptions } from './options.js';
import { DatastoreClusterStore } from './store.js';

const require = createRequire(import.meta.url);
export const AGENT_VERSION: string = (require('../package.json') as { version: string }).version;

/** Hard bound of the stop path (the contract: exit within 5 s of SIGTERM). */
const STOP_BOUND_MS = 4000;

export async function runAgent(opts: AgentOptions): Promise<AgentHandle> {
  const progress = (line: string): void => opts.onProgress?.(line);
  const log = createLogger(opts.name, opts.logDir);
  const metrics = new AgentMetrics();
  const cleanups: Array<{ what: string; run: () => Promise<void> }> = [];
  const undo = async (): Promise<void> => {
    for (const c of cleanups.reverse()) {
      const t0 = Date.now();
      await c.run().catch((err: unknown) => log.warn({ err }, `stopping ${c.what} failed`));
      log.debug({ ms: Date.now() - t0 }, `stopped ${c.what}`);
    }
    cleanups.length = 0;
  };
  let loop: AgentLoop | undefined;
  let store: DatastoreClusterStore | undefined;
  try {
    await ensureNoOtherAgent(opts.runDir);
    const metricsServer: MetricsServer = await startMetricsServer(opts.metricsAddr, metrics, () => loop?.errors() ?? ['starting']);
    cleanups.push({ what: 'metrics server', run: () => metricsServer.close() });

    const etcdWaitMs = Number(process.env.TSNET_ETCD_WAIT_MS ?? 60_000);
    store = await DatastoreClusterStore.connect(opts.etcd, log, progress, etcdWaitMs);
    const st = store;
    cleanups.push({ what: 'datastore', run: () => st.close() });

    const underlay = await detectUnderlay(opts.ip);
    // the AS (own or cluster default) and route-reflector role are read before listening
    const cfg = await store.ds.getClusterConfig();
    const asn = opts.asn ?? cfg.defaultAsn;
    const existing = await store.ds.getNode(opts.name);
    const speaker = new BgpSpeakerAdapter({
      asn,
      routerId: opts.ip,
      listenAddress: opts.ip,
      ...(opts.ip6 ? { listenAddress6: opts.ip6 } : {}),
      port: opts.bgpPort,
      log,
      ...(existing?.routeReflector ? { clusterId: existing.routeReflector.clusterId } : {}),
    });
    const dataplane = new ReconcilerDriver(underlay, log, {
      ...(process.env.TSNET_RT_PROTOS_FILE !== undefined ? { rtProtosFile: process.env.TSNET_RT_PROTOS_FILE || null } : {}),
    });
    cleanups.push({ what: 'dataplane', run: () => dataplane.close() });
    const timings: Partial<LoopTimings> = {};
    if (process.env.TSNET_RESYNC_MS) timings.resyncMs = Number(process.env.TSNET_RESYNC_MS);
    // Graceful restart keeps the routes an earlier run left in the kernel until the peers have
    // resent theirs. With none left (first start, or after a reboot) there is nothing to keep:
    // routes are programmed as they arrive instead of after every peer's End-of-RIB.
    const kept = await dataplane.programmedRouteCount().catch((err: unknown) => {
      log.warn({ err }, 'cannot count the tsnet routes in the kernel; keeping the startup grace');
      return -1;
    });
    if (kept === 0) timings.startupGraceMs = 0;
    log.info({ keptRoutes: kept }, kept === 0 ? 'no tsnet routes in the kernel: no startup grace' : 'tsnet routes in the kernel: kept until the peers resent theirs (graceful restart)');
    const l = new AgentLoop({ name: opts.name, version: AGENT_VERSION, store, speaker, dataplane, log, metrics, timings });
    loop = l;
    // listen before registering, so peers that learn about us at once can connect
    await speaker.start({
      onRoutesChanged: () => l.onRoutesChanged(),
      onPeerState: (addr, state) => l.onPeerState(addr, state),
    });
    cleanups.push({ what: 'BGP speaker', run: () => speaker.stop() });
    const v6 = opts.ip6 ? ` and [${opts.ip6}]:${opts.bgpPort}` : '';
    progress(`BGP listening on ${opts.ip}:${opts.bgpPort}${v6} (AS ${asn})`);

    progress(`registering node ${opts.name} (${opts.ip})`);
    await store.register({
      name: opts.name,
      ipv4: opts.ip,
      ipv4Network: underlay.cidr,
      ...(opts.ip6 ? { ipv6: opts.ip6 } : {}),
      ...(opts.asn !== undefined ? { asn: opts.asn } : {}),
    });
    await l.start();
    cleanups.push({ what: 'agent loop', run: () => l.stop() });

    if (opts.libnetwork) {
      const plugin = await startDockerPlugin(opts, st, log);
      cleanups.push({ what: 'Docker plugin', run: () => plugin.close() });
      progress(`Docker plugin tsnet listening on ${plugin.path}`);
    }

    const control: ControlServer = await startControlServer(opts.runDir, { 'GET /status': () => l.status() });
    cleanups.push({ what: 'control socket', run: () => control.close() });
    // which build runs: the bundle of bin/tsnet-agent.mjs, or dist/ (bundle missing or stale, or in-process)
    const build = import.meta.url.includes('/bundle/') ? 'bundle' : 'dist';
    log.info({ ip: opts.ip, asn, bgpPort: opts.bgpPort, runDir: opts.runDir, metrics: metricsServer.address, build }, 'tsnet node agent running');
    progress(`tsnet node agent running (control socket ${control.socketPath})`);
  } catch (err) {
    log.error({ err }, 'agent start failed');
    await undo();
    log.flush?.();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info('stopping: Cease to peers, kernel routes stay (graceful restart)');
      const bound = new Promise<void>((r) => setTimeout(r, STOP_BOUND_MS).unref());
      await Promise.race([undo(), bound]);
      log.info('stopped');
      log.flush?.();
      resolveDone();
    })();
    return stopping;
  };
  if (opts.handleSignals !== false) {
    const onSignal = (sig: NodeJS.Signals): void => {
      log.info({ signal: sig }, 'signal received');
      void stop().then(() => process.exit(0));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    void done.then(() => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    });
  }
  return { stop, done };
}

/**
 * `--libnetwork`: the Docker remote driver on `<plugin dir>/tsnet.sock`, sharing this agent's etcd
 * connection. The agent programs each endpoint's /32 route and proxy ARP from the endpoint records
 * the plugin writes; the plugin owns the veths and the TSNET-ISOLATION chains. Networks are
 * mirrored into the local dockerd when there is one (DOCKER_HOST, else the default socket).
 */
async function startDockerPlugin(
  opts: AgentOptions,
  store: DatastoreClusterStore,
  log: ReturnType<typeof createLogger>,
): Promise<{ path: string; close: () => Promise<void> }> {
  const { startPluginServer, ipamAllocator, dockerSocketFromEnv, PLUGIN_SOCKET_NAME } = await import('@tsnet/libnetwork');
  const { Ipam } = await import('@tsnet/ipam');
  await mkdir(opts.pluginDir, { recursive: true });
  const path = join(opts.pluginDir, PLUGIN_SOCKET_NAME);
  const dockerSocket = dockerSocketFromEnv();
  const plugin = await startPluginServer({
    socketPath: path,
    datastore: store.ds,
    allocator: ipamAllocator(new Ipam(store.ds)),
    nodeName: opts.name,
    logger: log,
    ...(process.env.DOCKER_HOST || existsSync(dockerSocket) ? { dockerSocket } : {}),
  });
  return { path, close: () => plugin.close() };
}
