/**
 * DataplaneDriver over @tsnet/dataplane's Reconciler: maps the snapshot and learned routes to
 * its input and reports what it holds. Also detects the underlay interface of the node address.
 */
import {
  Reconciler,
  applyRouteChanges,
  computeDesiredState,
  fullPassKey,
  incrementalChanges,
  type CommandRunner,
  type DataplaneInput,
  type DesiredState,
  type KernelSupport,
  type RouteChange,
} from '@tsnet/dataplane';
import { IpBatchSession } from './ip-session.js';
import { SpawnRunner } from './spawn-runner.js';
import { dataplaneInput, findNode, remoteRouteGate, type RemoteRouteGate, type UnderlayInfo } from './controller.js';
import type { Logger } from './log.js';
import type { ClusterSnapshot, LearnedRoute } from './model.js';
import { formatCidr, parseCidr } from './net.js';
import type { DataplaneDriver, ReconcileResult } from './ports.js';

/**
 * What the routes of the driver's last desired state were computed from: the snapshot (by
 * identity: the store hands out the same object until something the agent follows changes), its
 * route gate, and the routes BGP had selected (by prefix; `routed`: the gate let it through).
 */
interface RouteBasis {
  snapshot: ClusterSnapshot;
  gate: RemoteRouteGate;
  learned: Map<string, { nextHop: string; routed: boolean }>;
  routed: number;
}

const EMPTY: ReconcileResult = { problems: [], routes: { remote: 0, blackhole: 0, workload: 0 } };
/**
 * Full passes triggered by changes are at least this far apart, and at least twice the duration of
 * the last one (periodic and forced passes are not held back).
 */
export const MIN_FULL_GAP_MS = 300;

/**
 * Full reconciles (read everything, diff, apply) run when devices, sysctls, NAT or proxy entries
 * must change, on `full` (periodic drift repair) and after a failure. Everything else a moving
 * cluster changes (routes to remote blocks, local blocks, other nodes' VTEP neighbours and FDB
 * entries) takes the fast path: the new desired state is diffed against the last one and applied
 * through long-lived `ip -batch` and `bridge -batch` processes (a pipe write instead of the ten
 * processes a full pass starts), so a route reaches the kernel within milliseconds of
 * its UPDATE and a joining node's VTEP within milliseconds of its record.
 */
export class ReconcilerDriver implements DataplaneDriver {
  private readonly reconciler: Reconciler;
  private readonly runner: CommandRunner;
  /** fullPassKey of the last full pass's desired state (undefined: the next pass must be full) */
  private lastKey: string | undefined;
  /** the input the kernel fully reflects (undefined while a full pass is still owed) */
  private lastInput: string | undefined;
  /** the desired state the kernel holds as far as we know (last full pass plus fast changes) */
  private last: DesiredState | undefined;
  private lastResult: ReconcileResult = EMPTY;
  /** set while the kernel holds `last` and no full pass is owed: BGP's changes alone take `routesOnly` */
  private basis: RouteBasis | undefined;
  private support: KernelSupport | undefined;
  private lastFullAt = -Infinity;
  private lastFullMs = 0;
  private readonly session: IpBatchSession | undefined;
  private readonly bridgeSession: IpBatchSession | undefined;

  constructor(
    private readonly underlay: UnderlayInfo,
    private readonly log: Logger,
    opts: { runner?: CommandRunner; rtProtosFile?: string | null } = {},
  ) {
    this.runner = opts.runner ?? new SpawnRunner();
    // a given runner may run elsewhere (another namespace): only our own namespace gets a session
    this.session = opts.runner ? undefined : new IpBatchSession();
    this.bridgeSession = opts.runner ? undefined : new IpBatchSession(undefined, 5000, 'bridge');
    this.reconciler = new Reconciler({
      log,
      runner: this.runner,
      ...(opts.rtProtosFile !== undefined ? { rtProtosFile: opts.rtProtosFile } : {}),
    });
  }

  async reconcile(snapshot: ClusterSnapshot, selfName: string, learned: LearnedRoute[], full: boolean): Promise<ReconcileResult> {
    // an UPDATE on a cluster that did not change otherwise: only its routes are worked out
    const basis = this.basis;
    this.basis = undefined;
    if (!full && basis?.snapshot === snapshot && (await this.routesOnly(basis, learned))) {
      this.basis = basis;
      return this.lastResult;
    }
    const input = dataplaneInput(snapshot, selfName, learned, this.underlay);
    if (!input) return EMPTY;
    // most passes see the input of the last one (a change elsewhere in the cluster): done at once
    const inputKey = JSON.stringify(input);
    if (!full && inputKey === this.lastInput && this.lastKey !== undefined) {
      // a new snapshot with the same input: the next UPDATE can take the short way from it
      this.basis = this.basisOf(snapshot, selfName, learned, input);
      return this.lastResult;
    }
    if (!full && this.support && this.last && this.lastKey !== undefined) {
      const desired = computeDesiredState(input, this.support);
      const key = fullPassKey(desired);
      const sinceFull = performance.now() - this.lastFullAt;
      // at least MIN_FULL_GAP_MS, and twice the last pass: a loaded host slows its own passes down
      const gap = Math.max(MIN_FULL_GAP_MS, 2 * this.lastFullMs);
      // a device that is not there yet (the VXLAN device of a new pool) comes with the full pass:
      // the fast lines through it would only fail
      const newDevice = desired.devices.some((d) => !this.last!.devices.some((l) => l.name === d.name));
      if (key === this.lastKey || (sinceFull < gap && !newDevice)) {
        // the fast part now; when more changed, the full pass follows once the gap has passed
        // (a burst of endpoint or pool changes then costs one full pass, not one per change)
        const retryInMs = key === this.lastKey ? undefined : Math.ceil(gap - sinceFull);
        if (await this.applyIncremental(desired)) {
          if (retryInMs === undefined) {
            this.lastInput = inputKey;
            this.basis = this.basisOf(snapshot, selfName, learned, input);
          }
          this.lastResult = { ...this.lastResult, routes: { ...this.lastResult.routes, remote: input.remoteRoutes.length } };
          return retryInMs === undefined ? this.lastResult : { ...this.lastResult, retryInMs };
        }
      }
    }
    const res = await this.fullPass(input);
    this.lastInput = this.lastKey === undefined ? undefined : inputKey;
    if (this.lastKey !== undefined) this.basis = this.basisOf(snapshot, selfName, learned, input);
    return res;
  }

  /** The basis of a pass over `input` (its remote routes are the learned ones the gate let through). */
  private basisOf(snapshot: ClusterSnapshot, selfName: string, learned: LearnedRoute[], input: DataplaneInput): RouteBasis | undefined {
    const self = findNode(snapshot, selfName);
    if (!self) return undefined;
    const routed = new Set(input.remoteRoutes.map((r) => r.prefix));
    const map = new Map<string, { nextHop: string; routed: boolean }>();
    for (const r of learned) map.set(r.prefix, { nextHop: r.nextHop, routed: routed.has(r.prefix) });
    return { snapshot, gate: remoteRouteGate(snapshot, self), learned: map, routed: routed.size };
  }

  /**
   * Applies what changed in `learned` since `basis` (updated in place) through the batch
   * session, touching only the changed routes. False when the whole-state path must run: a
   * change beyond the routes, or a failed line (the next pass is then a full one).
   */
  private async routesOnly(basis: RouteBasis, learned: LearnedRoute[]): Promise<boolean> {
    const changes: RouteChange[] = [];
    const changed: LearnedRoute[] = [];
    let kept = 0;
    for (const r of learned) {
      const before = basis.learned.get(r.prefix);
      if (before !== undefined) kept++;
      if (before?.nextHop === r.nextHop) continue;
      changes.push({ prefix: r.prefix, route: basis.gate(r) });
      changed.push(r);
    }
    const removed: string[] = [];
    if (kept < basis.learned.size) {
      const now = new Set(learned.map((r) => r.prefix));
      for (const prefix of basis.learned.keys()) {
        if (now.has(prefix)) continue;
        removed.push(prefix);
        changes.push({ prefix, route: undefined });
      }
    }
    if (changes.length === 0) return true;
    const step = this.last && applyRouteChanges(this.last, changes);
    if (!step) return false;
    // the slow path's "same input as last time" no longer describes the kernel
    this.lastInput = undefined;
    if (step.ipLines.length > 0) {
      const error = await this.applyLines(step.ipLines, []);
      if (error) {
        this.log.warn({ error }, 'fast route update failed; doing a full reconcile');
        this.lastKey = undefined;
        return false;
      }
      this.log.debug({ changes: step.ipLines.length }, 'routes updated');
    }
    this.last = step.next;
    for (const prefix of removed) {
      if (basis.learned.get(prefix)?.routed) basis.routed--;
      basis.learned.delete(prefix);
    }
    for (const [i, r] of changed.entries()) {
      const routed = changes[i]!.route !== undefined;
      basis.routed += (routed ? 1 : 0) - (basis.learned.get(r.prefix)?.routed ? 1 : 0);
      basis.learned.set(r.prefix, { nextHop: r.nextHop, routed });
    }
    this.lastResult = { ...this.lastResult, routes: { ...this.lastResult.routes, remote: basis.routed } };
    return true;
  }

  private async fullPass(input: DataplaneInput): Promise<ReconcileResult> {
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
    this.last = computeDesiredState(input, this.support);
    // after errors the next pass must be a full one again
    this.lastKey = res.errors.length > 0 ? undefined : fullPassKey(this.last);
    this.lastResult = {
      problems,
      routes: { remote: input.remoteRoutes.length, blackhole: input.localBlocks.length, workload: input.workloads.length },
    };
    return this.lastResult;
  }

  async close(): Promise<void> {
    await Promise.all([this.session?.close(), this.bridgeSession?.close()]);
  }

  /**
   * How many tsnet routes (proto 80, any table, both families) the kernel holds now: what an
   * earlier run of the agent left behind for graceful restart to keep.
   */
  async programmedRouteCount(): Promise<number> {
    return (await this.reconciler.readRoutes()).length;
  }

  /** Routes, neighbours and FDB entries from `last` to `desired`; false (→ full pass) on any failure. */
  private async applyIncremental(desired: DesiredState): Promise<boolean> {
    const { ipLines, bridgeLines } = incrementalChanges(this.last!, desired);
    if (ipLines.length + bridgeLines.length > 0) {
      const error = await this.applyLines(ipLines, bridgeLines);
      if (error) {
        this.log.warn({ error }, 'fast dataplane update failed; doing a full reconcile');
        return false;
      }
      this.log.debug({ changes: ipLines.length + bridgeLines.length }, 'dataplane updated');
    }
    this.last = desired;
    return true;
  }

  /**
   * Through the long-lived sessions; with a given runner (another namespace) through the
   * reconciler's own batches. Resolves with the error text, '' when every line succeeded.
   */
  private async applyLines(ipLines: string[], bridgeLines: string[]): Promise<string> {
    if (!this.session || !this.bridgeSession) {
      const { errors } = await this.reconciler.apply({ sysctls: [], deviceLines: [], ipLines, bridgeLines, nat: [], cleanupLines: [] });
      return errors.map((e) => `${e.command}: ${e.error}`).join('; ');
    }
    const error = ipLines.length > 0 ? await this.session.run(ipLines) : '';
    if (error || bridgeLines.length === 0) return error;
    return this.bridgeSession.run(bridgeLines);
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
