/**
 * DataplaneDriver over @tsnet/dataplane's Reconciler: maps the snapshot and learned routes to
 * its input and reports what it holds. Also detects the underlay interface of the node address.
 */
import {
  Reconciler,
  computeDesiredState,
  routeDeleteLine,
  routeIdentity,
  routeLine,
  type CommandRunner,
  type DataplaneInput,
  type KernelSupport,
  type RouteSpec,
} from '@tsnet/dataplane';
import { IpBatchSession } from './ip-session.js';
import { SpawnRunner } from './spawn-runner.js';
import { dataplaneInput, type UnderlayInfo } from './controller.js';
import type { Logger } from './log.js';
import type { ClusterSnapshot, LearnedRoute } from './model.js';
import { formatCidr, parseCidr } from './net.js';
import type { DataplaneDriver, ReconcileResult } from './ports.js';

const EMPTY: ReconcileResult = { problems: [], routes: { remote: 0, blackhole: 0, workload: 0 } };
/**
 * Full passes triggered by changes are at least this far apart, and at least twice the duration of
 * the last one (periodic and forced passes are not held back).
 */
export const MIN_FULL_GAP_MS = 300;

/**
 * Full reconciles (read everything, diff, apply) run when anything but the learned routes changed,
 * on `full` (periodic drift repair) and after a failure. A change of learned routes alone takes
 * the fast path: the new desired routes are diffed against those of the last pass and applied
 * through a long-lived `ip -batch` (a pipe write instead of the nine processes a full pass
 * starts), so a route reaches the kernel within milliseconds of its UPDATE.
 */
export class ReconcilerDriver implements DataplaneDriver {
  private readonly reconciler: Reconciler;
  private readonly runner: CommandRunner;
  private lastKey: string | undefined;
  private lastRemote = '';
  /** the routes of the last pass by identity (table, dst, metric), with their `replace` line */
  private lastRoutes = new Map<string, { r: RouteSpec; line: string }>();
  private lastResult: ReconcileResult = EMPTY;
  private support: KernelSupport | undefined;
  private lastFullAt = -Infinity;
  private lastFullMs = 0;
  private readonly session: IpBatchSession | undefined;

  constructor(
    private readonly underlay: UnderlayInfo,
    private readonly log: Logger,
    opts: { runner?: CommandRunner; rtProtosFile?: string | null } = {},
  ) {
    this.runner = opts.runner ?? new SpawnRunner();
    // a given runner may run elsewhere (another namespace): only our own namespace gets a session
    this.session = opts.runner ? undefined : new IpBatchSession();
    this.reconciler = new Reconciler({
      log,
      runner: this.runner,
      ...(opts.rtProtosFile !== undefined ? { rtProtosFile: opts.rtProtosFile } : {}),
    });
  }

  async reconcile(snapshot: ClusterSnapshot, selfName: string, learned: LearnedRoute[], full: boolean): Promise<ReconcileResult> {
    const input = dataplaneInput(snapshot, selfName, learned, this.underlay);
    if (!input) return EMPTY;
    const { remoteRoutes, ...rest } = input;
    const key = JSON.stringify(rest);
    const remote = JSON.stringify(remoteRoutes);
    const sinceFull = performance.now() - this.lastFullAt;
    // at least MIN_FULL_GAP_MS, and twice the last pass: a loaded host slows its own passes down
    const gap = Math.max(MIN_FULL_GAP_MS, 2 * this.lastFullMs);
    if (!full && this.support && (key === this.lastKey || (this.lastKey !== undefined && sinceFull < gap))) {
      // routes now; when more changed, the full pass follows once the gap has passed (a burst of
      // node or endpoint changes then costs one full pass, not one per change)
      const retryInMs = key === this.lastKey ? undefined : Math.ceil(gap - sinceFull);
      if (remote === this.lastRemote && retryInMs === undefined) return this.lastResult;
      if (await this.applyRoutes(input, this.support)) {
        this.lastRemote = remote;
        this.lastResult = { ...this.lastResult, routes: { ...this.lastResult.routes, remote: remoteRoutes.length } };
        return retryInMs === undefined ? this.lastResult : { ...this.lastResult, retryInMs };
      }
    }
    return this.fullPass(input, key, remote);
  }

  private async fullPass(input: DataplaneInput, key: string, remote: string): Promise<ReconcileResult> {
    const started = performance.now();
    const res = await this.reconciler.reconcile(input);
    this.lastFullAt = performance.now();
    this.lastFullMs = this.lastFullAt - started;
    const problems = [...res.problems];
    if (res.errors.length > 0) {
      const first = res.errors[0]!;
      problems.push(`${res.errors.length} dataplane change(s) failed, retrying (first: ${first.command}: ${first.error})`);
    }
    this.support = await this.reconciler.kernelSupport({ ipip: false, vxlan: false });
    // after errors the next pass must be a full one again
    this.lastKey = res.errors.length > 0 ? undefined : key;
    this.lastRemote = remote;
    this.lastRoutes = this.routesByIdentity(input, this.support);
    this.lastResult = {
      problems,
      routes: { remote: input.remoteRoutes.length, blackhole: input.localBlocks.length, workload: input.workloads.length },
    };
    return this.lastResult;
  }

  async close(): Promise<void> {
    await this.session?.close();
  }

  private routesByIdentity(input: DataplaneInput, support: KernelSupport): Map<string, { r: RouteSpec; line: string }> {
    return new Map(computeDesiredState(input, support).routes.map((r) => [routeIdentity(r), { r, line: routeLine(r) }]));
  }

  /** The route-only difference in one batch; false (→ full pass) when anything failed. */
  private async applyRoutes(input: DataplaneInput, support: KernelSupport): Promise<boolean> {
    const want = this.routesByIdentity(input, support);
    const lines: string[] = [];
    // deleted with their metric: a host route to the same destination is never touched
    for (const [k, had] of this.lastRoutes) if (!want.has(k)) lines.push(routeDeleteLine(had.r));
    for (const [k, w] of want) if (this.lastRoutes.get(k)?.line !== w.line) lines.push(w.line);
    if (lines.length === 0) return true;
    let error: string;
    if (this.session) error = await this.session.run(lines);
    else {
      const res = await this.runner.run('ip', ['-force', '-batch', '-'], { input: lines.join('\n') + '\n' });
      error = res.exitCode === 0 ? '' : res.stderr.trim() || `ip -batch exited with ${res.exitCode}`;
    }
    if (error) {
      this.log.warn({ error }, 'fast route update failed; doing a full reconcile');
      return false;
    }
    this.lastRoutes = want;
    this.log.debug({ changes: lines.length }, 'routes updated');
    return true;
  }
}

interface IpAddrJson {
  ifname: string;
  mtu?: number;
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

/** The interface holding `ip`, its subnet and MTU (from `ip -j addr`); throws when absent. */
export async function detectUnderlay(ip: string, runner: CommandRunner = new SpawnRunner()): Promise<UnderlayInfo> {
  const res = await runner.run('ip', ['-j', 'addr', 'show']);
  if (res.exitCode !== 0) throw new Error(`cannot list addresses (ip -j addr): ${res.stderr.trim()}`);
  for (const link of JSON.parse(res.stdout) as IpAddrJson[]) {
    for (const a of link.addr_info ?? []) {
      if (a.local === ip) {
        return {
          interface: link.ifname,
          cidr: formatCidr(parseCidr(`${a.local}/${a.prefixlen}`)),
          ...(link.mtu ? { mtu: link.mtu } : {}),
        };
      }
    }
  }
  throw new Error(`no interface holds the node address ${ip}: give the address of this host with --ip`);
}
