// Changes between two desired states that need no reading of the kernel: what a moving cluster
// changes all the time (routes to remote blocks, local blocks, the VTEPs of other nodes). The
// agent applies them through a long-lived `ip -batch` the moment they happen, and keeps full
// passes (read everything, diff, apply: about ten processes) for the rest and for drift repair.
import { fdbDeleteLine, fdbReplaceLine, neighDeleteLine, neighReplaceLine, routeDeleteLine, routeIdentity, routeLine } from './diff.js';
import { parseCidr } from './cidr.js';
import { remoteRouteContextOf, remoteRouteSpec, withRemoteRouteContext } from './desired.js';
import type { DesiredState, RemoteRoute, RouteSpec } from './types.js';

/**
 * Identity and `replace` line per route object: the previous state's routes were the next
 * state's last time, so each route is rendered once, not on every pass that compares it.
 */
const renderedRoutes = new WeakMap<RouteSpec, { id: string; line: string }>();
function rendered(r: RouteSpec): { id: string; line: string } {
  let v = renderedRoutes.get(r);
  if (v === undefined) {
    v = { id: routeIdentity(r), line: routeLine(r) };
    renderedRoutes.set(r, v);
  }
  return v;
}

/** Every field of a RouteSpec: the compiler refuses this list when RouteSpec gains one it lacks. */
const ROUTE_FIELDS = ['family', 'dst', 'type', 'via', 'dev', 'onlink', 'scope', 'table', 'metric'] as const;
const everyRouteField: Exclude<keyof RouteSpec, (typeof ROUTE_FIELDS)[number]> extends never ? true : never = true;
void everyRouteField;

function sameRoute(a: RouteSpec, b: RouteSpec): boolean {
  return ROUTE_FIELDS.every((f) => a[f] === b[f]);
}

/**
 * The parts of a desired state only a full pass applies (devices, sysctls, NAT, proxy entries):
 * equal keys mean two states differ at most in what `incrementalChanges` handles.
 */
export function fullPassKey(d: DesiredState): string {
  return JSON.stringify([d.devices, d.sysctls, d.nat, d.proxyNeighs]);
}

export interface IncrementalChanges {
  /** `ip -batch` lines: stale routes and neighbours deleted, new or changed ones replaced */
  ipLines: string[];
  /** `bridge -batch` lines for the VXLAN FDB */
  bridgeLines: string[];
}

/**
 * The lines that turn a kernel holding `prev` (as the last pass left it) into one holding `next`,
 * for routes, VXLAN neighbours and FDB entries. Deletions name exactly what was ours (route
 * identity with its metric), so nothing of the host's is touched.
 */
export function incrementalChanges(prev: DesiredState, next: DesiredState): IncrementalChanges {
  const ipLines: string[] = [];
  const had = new Map(prev.routes.map((r) => [rendered(r).id, rendered(r).line]));
  // next's routes are new objects (computed afresh per pass) and mostly equal to prev's: an equal
  // one shares prev's rendering (comparing fields is cheaper than formatting both strings)
  const prevByDst = new Map(prev.routes.map((r) => [r.dst, r]));
  for (const r of next.routes) {
    const p = prevByDst.get(r.dst);
    if (p !== undefined && p !== r && !renderedRoutes.has(r) && sameRoute(p, r)) renderedRoutes.set(r, rendered(p));
  }
  const want = new Map(next.routes.map((r) => [rendered(r).id, r]));
  for (const r of prev.routes) if (!want.has(rendered(r).id)) ipLines.push(routeDeleteLine(r));
  for (const [id, r] of want) {
    const { line } = rendered(r);
    if (had.get(id) !== line) ipLines.push(line);
  }
  const neighKey = (n: { dev: string; ip: string }): string => `${n.dev}|${n.ip}`;
  const hadNeigh = new Map(prev.neighs.map((n) => [neighKey(n), n.mac]));
  const wantNeigh = new Set(next.neighs.map(neighKey));
  for (const n of prev.neighs) if (!wantNeigh.has(neighKey(n))) ipLines.push(neighDeleteLine(n));
  for (const n of next.neighs) if (hadNeigh.get(neighKey(n)) !== n.mac) ipLines.push(neighReplaceLine(n));
  const bridgeLines: string[] = [];
  const fdbKey = (f: { dev: string; mac: string }): string => `${f.dev}|${f.mac}`;
  const hadFdb = new Map(prev.fdb.map((f) => [fdbKey(f), f.dst]));
  const wantFdb = new Set(next.fdb.map(fdbKey));
  for (const f of prev.fdb) if (!wantFdb.has(fdbKey(f))) bridgeLines.push(fdbDeleteLine(f));
  for (const f of next.fdb) if (hadFdb.get(fdbKey(f)) !== f.dst) bridgeLines.push(fdbReplaceLine(f));
  return { ipLines, bridgeLines };
}

/** One remote route that changed: its new version, or undefined when it is gone. */
export interface RouteChange {
  prefix: string;
  route: RemoteRoute | undefined;
}

/**
 * `prev` with the given remote routes changed, and the `ip -batch` lines that take a kernel
 * holding `prev` there: what one UPDATE changes, in time proportional to the changes rather
 * than to every route (computeDesiredState + incrementalChanges render them all). Equal to what
 * those two give for the changed input, except that `problems` stay `prev`'s. Undefined when the
 * change reaches beyond the routes or `prev` has no context (computed elsewhere): then the
 * whole-state path must be taken. `prev`'s context (pools, VTEPs, workloads, ...) must still
 * hold.
 */
export function applyRouteChanges(
  prev: DesiredState,
  changes: readonly RouteChange[],
): { next: DesiredState; ipLines: string[] } | undefined {
  const ctx = remoteRouteContextOf(prev);
  if (!ctx) return undefined;
  const byDst = new Map(prev.routes.map((r) => [r.dst, r]));
  const ipLines: string[] = [];
  const problems: string[] = [];
  for (const c of changes) {
    let dst: string;
    try {
      dst = parseCidr(c.prefix).text;
    } catch {
      return undefined; // the whole-state path reports it
    }
    // a non-canonical prefix could share its destination with another route (first one wins
    // there); the other family's first route may turn IPv6 forwarding on (a full-pass sysctl)
    if (dst !== c.prefix || (!ctx.v6Forwarding && c.prefix.includes(':'))) return undefined;
    // a workload's or local block's destination: the remote route was and stays left out
    if (ctx.taken.has(dst)) continue;
    const old = byDst.get(dst);
    const spec = c.route ? remoteRouteSpec(ctx, c.route, problems) : undefined;
    if (spec === undefined) {
      if (old !== undefined) {
        ipLines.push(routeDeleteLine(old));
        byDst.delete(dst);
      }
      continue;
    }
    const { id, line } = rendered(spec);
    if (old !== undefined) {
      const had = rendered(old);
      if (had.line === line) continue;
      // another identity (e.g. a new metric) is another kernel route: the old one goes
      if (had.id !== id) ipLines.push(routeDeleteLine(old));
    }
    ipLines.push(line);
    byDst.set(dst, spec);
  }
  if (ipLines.length === 0) return { next: prev, ipLines };
  return { next: withRemoteRouteContext({ ...prev, routes: [...byDst.values()] }, ctx), ipLines };
}
