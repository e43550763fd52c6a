/**
 * Prometheus metrics and /healthz on `metricsAddr`. One registry per agent (not prom-client's
 * global one) so several agents can live in one test process.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ClusterSnapshot } from './model.js';
import { cidrContains, parseCidr } from './net.js';

export class AgentMetrics {
  readonly registry = new Registry();
  /**
   * Called once per scrape (`render`), before the gauges are read: the agent fills the session,
   * prefix and IPAM gauges then, instead of on each of the hundreds of session state changes a
   * mesh makes while it forms (each a walk over every peer).
   */
  onCollect: (() => void) | undefined;
  readonly sessions = new Gauge({
    name: 'tsnet_bgp_sessions',
    help: 'BGP sessions by FSM state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly prefixes = new Gauge({
    name: 'tsnet_bgp_prefixes',
    help: 'Prefixes received (in, after import policy) and advertised (out), summed over peers',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly routesProgrammed = new Gauge({
    name: 'tsnet_routes_programmed',
    help: 'Kernel routes the agent holds (remote blocks, blackholes, workloads)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'tsnet_reconcile_duration_seconds',
    help: 'Time to compute and apply the desired dataplane',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'tsnet_reconcile_errors_total',
    help: 'Dataplane reconcile runs that failed',
    registers: [this.registry],
  });
  readonly ipamAddresses = new Gauge({
    name: 'tsnet_ipam_addresses',
    help: 'Addresses per pool: capacity, and in use on this node',
    labelNames: ['pool', 'kind'] as const,
    registers: [this.registry],
  });
  readonly ipamBlocks = new Gauge({
    name: 'tsnet_ipam_blocks_affine',
    help: 'Blocks affine to this node',
    registers: [this.registry],
  });

  /** The Prometheus text of every metric, gauges filled from the agent's state now. */
  render(): Promise<string> {
    this.onCollect?.();
    return this.registry.metrics();
  }

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'tsnet_node_' });
  }

  /** Blocks affine to `self`, and per pool its size and the addresses in use on `self`. */
  setIpamUsage(snap: ClusterSnapshot, self: string): void {
    this.ipamBlocks.set(snap.blocks.filter((b) => b.affinity === self).length);
    this.ipamAddresses.reset();
    for (const pool of snap.pools) {
      const c = parseCidr(pool.cidr);
      const inUse = snap.blocks
        .filter((b) => cidrContains(c, b.cidr))
        .reduce((n, b) => n + (b.inUse?.[self] ?? 0), 0);
      this.ipamAddresses.set({ pool: pool.cidr, kind: 'capacity' }, Number(1n << BigInt(c.bits - c.len)));
      this.ipamAddresses.set({ pool: pool.cidr, kind: 'in_use' }, inUse);
    }
  }

  setSessions(states: string[]): void {
    this.sessions.reset();
    for (const s of ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established']) this.sessions.set({ state: s }, 0);
    for (const s of states) this.sessions.inc({ state: s });
  }
}

export interface MetricsServer {
  address: string;
  close(): Promise<void>;
}

/** `host:port` or `[v6]:port`. */
export function parseHostPort(addr: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]*):(\d+)$/.exec(addr);
  if (!m) throw new Error(`metrics address ${addr} is not HOST:PORT (e.g. 127.0.0.1:9099)`);
  return { host: m[1] || '0.0.0.0', port: Number(m[2]) };
}

/** Serves GET /metrics and GET /healthz (200 "ok", or 503 with the problems from `health`). */
export async function startMetricsServer(
  addr: string,
  metrics: AgentMetrics,
  health: () => string[],
): Promise<MetricsServer> {
  const { host, port } = parseHostPort(addr);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      metrics.render().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        },
      );
    } else if (req.method === 'GET' && path === '/healthz') {
      const problems = health();
      res.writeHead(problems.length ? 503 : 200, { 'content-type': 'text/plain' });
      res.end(problems.length ? `${problems.join('\n')}\n` : 'ok\n');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`cannot serve metrics on ${addr}: ${err.code ?? err.message} (choose another --metrics-addr)`)),
    );
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  const bound = typeof a === 'object' && a ? `${a.address}:${a.port}` : addr;
  return {
    address: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
