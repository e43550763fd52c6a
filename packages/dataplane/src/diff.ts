// Desired vs actual → the smallest set of changes, as the exact batch lines the tools take.
import type { Family } from './cidr.js';
import type { ActualLink, ActualNat, ActualState } from './actual.js';
import { NAT_POSTROUTING_CHAIN } from './desired.js';
import {
  KERNEL_DEFAULT_METRIC,
  TSNET_RT_PROTO,
  VXLAN_DEVICE,
  type DesiredState,
  type DeviceSpec,
  type FdbSpec,
  type IpipDeviceSpec,
  type NatSpec,
  type NeighSpec,
  type RouteSpec,
  type VxlanDeviceSpec,
} from './types.js';

/** Host-side workload interfaces start with this (`ts` + 11 characters of the endpoint id). */
export const WORKLOAD_IF_PREFIX = 'ts';

export interface Plan {
  /** sysctl path under /proc/sys ('/'-separated) and value to write */
  sysctls: [string, string][];
  /** `ip -batch` lines creating or fixing our devices and their addresses (run first) */
  deviceLines: string[];
  /** `ip -batch` lines for routes, neighbours and proxy entries (stale deletions first) */
  ipLines: string[];
  /** `bridge -batch` lines for VXLAN FDB entries */
  bridgeLines: string[];
  /** `iptables-restore --noflush` / `ip6tables-restore --noflush` input, per family */
  nat: { family: Family; restore: string }[];
  /** `ip -batch` lines deleting devices no pool needs any more (run last) */
  cleanupLines: string[];
}

export function planSize(p: Plan): number {
  return (
    p.sysctls.length +
    p.deviceLines.length +
    p.ipLines.length +
    p.bridgeLines.length +
    p.nat.length +
    p.cleanupLines.length
  );
}

const tableKey = (t: number | string | undefined): string => (t === undefined ? 'main' : String(t));

/** The metric the kernel holds for `r` (unset = the family's default; IPv6 makes 0 into 1024). */
export function effectiveMetric(r: Pick<RouteSpec, 'family' | 'metric'>): number {
  const dflt = KERNEL_DEFAULT_METRIC[r.family];
  return r.metric === undefined || (r.family === 6 && r.metric === 0) ? dflt : r.metric;
}

/**
 * What makes two routes the same route for the kernel: table, destination and metric. A tsnet
 * route at another metric than a host route to the same destination is a different route, so
 * replacing or deleting ours never touches the host's.
 */
export function routeIdentity(r: RouteSpec & { tableText?: string }): string {
  return `${r.tableText ?? tableKey(r.table)}|${r.dst}|${effectiveMetric(r)}`;
}

/** `route replace ...` line for one desired route (protocol NUMBER, so no rt_protos file is needed). */
export function routeLine(r: RouteSpec): string {
  const parts = ['route', 'replace'];
  if (r.type === 'blackhole') parts.push('blackhole');
  parts.push(r.dst);
  if (r.via) parts.push('via', r.via);
  if (r.dev) parts.push('dev', r.dev);
  if (r.onlink) parts.push('onlink');
  if (r.scope) parts.push('scope', r.scope);
  parts.push('proto', String(TSNET_RT_PROTO));
  if (r.metric !== undefined) parts.push('metric', String(r.metric));
  if (r.table !== undefined) parts.push('table', String(r.table));
  return parts.join(' ');
}

/**
 * `route del ...` line for one of our routes: protocol 80 and, when set, the metric, so only
 * that route goes (never a host route to the same destination).
 */
export function routeDeleteLine(r: RouteSpec & { tableText?: string }): string {
  const type = r.type === 'blackhole' ? 'blackhole ' : '';
  const metric = r.metric !== undefined ? ` metric ${r.metric}` : '';
  return `route del ${type}${r.dst} proto ${TSNET_RT_PROTO}${metric} table ${r.tableText ?? tableKey(r.table)}`;
}

function sameRoute(want: RouteSpec, have: RouteSpec): boolean {
  if (want.type !== have.type) return false;
  if (want.type === 'blackhole') return true;
  return (
    (want.via ?? '') === (have.via ?? '') &&
    (want.dev === undefined || want.dev === have.dev) &&
    (want.onlink ?? false) === (have.onlink ?? false) &&
    (want.scope ?? '') === (have.scope ?? '')
  );
}

function diffRoutes(desired: DesiredState, actual: ActualState): string[] {
  const want = new Map(desired.routes.map((r) => [routeIdentity(r), r]));
  const deletes: string[] = [];
  const replaces: string[] = [];
  const seen = new Set<string>();
  for (const have of actual.routes) {
    const key = routeIdentity(have);
    const w = want.get(key);
    if (!w || seen.has(key)) {
      deletes.push(routeDeleteLine(have));
      continue;
    }
    seen.add(key);
    if (!sameRoute(w, have)) replaces.push(routeLine(w));
  }
  for (const [key, r] of want) if (!seen.has(key)) replaces.push(routeLine(r));
  return [...deletes, ...replaces];
}

function diffIpip(want: IpipDeviceSpec, have: ActualLink | undefined): string[] {
  const lines: string[] = [];
  if (!have) lines.push(`link add ${want.name} type ipip`);
  if (!have || have.mtu !== want.mtu || !have.up) lines.push(`link set ${want.name} mtu ${want.mtu} up`);
  const addr = want.address ? `${want.address}/32` : undefined;
  for (const a of have?.addresses ?? []) if (a !== addr) lines.push(`addr del ${a} dev ${want.name}`);
  if (addr && !have?.addresses.includes(addr)) lines.push(`addr add ${addr} dev ${want.name}`);
  return lines;
}

function vxlanMatches(want: VxlanDeviceSpec, have: ActualLink): boolean {
  const i = have.info;
  return (
    have.kind === 'vxlan' &&
    i.id === want.vni &&
    i.port === want.port &&
    i.local === want.local &&
    i.link === want.parent &&
    i.learning === false
  );
}

function diffVxlan(want: VxlanDeviceSpec, existing: ActualLink | undefined): string[] {
  const lines: string[] = [];
  let have = existing;
  if (have && !vxlanMatches(want, have)) {
    lines.push(`link del ${want.name}`);
    have = undefined;
  }
  if (!have) {
    lines.push(
      `link add ${want.name} type vxlan id ${want.vni} dstport ${want.port} local ${want.local} dev ${want.parent} nolearning`,
    );
  }
  if (!have || have.mtu !== want.mtu || have.mac !== want.mac || !have.up) {
    lines.push(`link set ${want.name} mtu ${want.mtu} address ${want.mac} up`);
  }
  const addr = `${want.address}/32`;
  for (const a of have?.addresses ?? []) if (a !== addr) lines.push(`addr del ${a} dev ${want.name}`);
  if (!have?.addresses.includes(addr)) lines.push(`addr add ${addr} dev ${want.name}`);
  return lines;
}

function diffDevices(devices: DeviceSpec[], actual: ActualState): { fix: string[]; cleanup: string[] } {
  const fix = devices.flatMap((d) =>
    d.kind === 'ipip' ? diffIpip(d, actual.links.get(d.name)) : diffVxlan(d, actual.links.get(d.name)),
  );
  const cleanup: string[] = [];
  // vxlan.tsnet is ours alone; tunl0 is the kernel's fallback device, so it is only left alone.
  if (!devices.some((d) => d.name === VXLAN_DEVICE) && actual.links.has(VXLAN_DEVICE))
    cleanup.push(`link del ${VXLAN_DEVICE}`);
  return { fix, cleanup };
}

/** `ip -batch` line for a VTEP neighbour (permanent: the kernel must not age it out). */
export const neighReplaceLine = (n: NeighSpec): string => `neigh replace ${n.ip} lladdr ${n.mac} dev ${n.dev} nud permanent`;
export const neighDeleteLine = (n: { ip: string; dev: string }): string => `neigh del ${n.ip} dev ${n.dev}`;
/** `bridge -batch` line for a VXLAN FDB entry (the remote node's underlay address for a VTEP MAC). */
export const fdbReplaceLine = (f: FdbSpec): string => `fdb replace ${f.mac} dev ${f.dev} dst ${f.dst} self permanent`;
export const fdbDeleteLine = (f: { mac: string; dev: string }): string => `fdb del ${f.mac} dev ${f.dev} self`;

function diffNeighs(desired: DesiredState, actual: ActualState): string[] {
  const lines: string[] = [];
  const want = new Map(desired.neighs.map((n) => [`${n.dev}|${n.ip}`, n]));
  const have = new Map(
    actual.neighs.filter((n) => n.dev === VXLAN_DEVICE).map((n) => [`${n.dev}|${n.ip}`, n]),
  );
  for (const [k, n] of have) if (!want.has(k)) lines.push(neighDeleteLine(n));
  for (const [k, n] of want) if (have.get(k)?.mac !== n.mac) lines.push(neighReplaceLine(n));
  // Proxy NDP entries: only on workload interfaces, which are ours.
  const wantProxy = new Set(desired.proxyNeighs.map((n) => `${n.dev}|${n.ip}`));
  const haveProxy = new Set(actual.proxyNeighs.map((n) => `${n.dev}|${n.ip}`));
  for (const n of actual.proxyNeighs) {
    if (n.dev.startsWith(WORKLOAD_IF_PREFIX) && !wantProxy.has(`${n.dev}|${n.ip}`))
      lines.push(`neigh del proxy ${n.ip} dev ${n.dev}`);
  }
  for (const n of desired.proxyNeighs)
    if (!haveProxy.has(`${n.dev}|${n.ip}`)) lines.push(`neigh add proxy ${n.ip} dev ${n.dev}`);
  return lines;
}

function diffFdb(desired: DesiredState, actual: ActualState): string[] {
  const lines: string[] = [];
  if (!actual.links.has(VXLAN_DEVICE) && desired.fdb.length === 0) return lines;
  const want = new Map(desired.fdb.map((f) => [f.mac, f]));
  for (const f of actual.fdb) if (!want.has(f.mac)) lines.push(fdbDeleteLine({ mac: f.mac, dev: VXLAN_DEVICE }));
  const have = new Map(actual.fdb.map((f) => [f.mac, f]));
  for (const f of desired.fdb) if (have.get(f.mac)?.dst !== f.dst) lines.push(fdbReplaceLine(f));
  return lines;
}

function sameChains(want: Record<string, string[]>, have: Record<string, string[]>): boolean {
  const a = Object.keys(want).sort();
  const b = Object.keys(have).sort();
  if (a.join() !== b.join()) return false;
  return a.every((c) => want[c]!.join('\n') === have[c]!.join('\n'));
}

/**
 * `iptables-restore --noflush` input that rewrites our chains wholesale (declaring a chain
 * flushes it), keeps exactly one jump from POSTROUTING, and drops chains we no longer need.
 * Other chains' rules are never touched.
 */
export function natRestore(want: NatSpec | undefined, have: ActualNat): string | undefined {
  const chains = want?.chains ?? {};
  const wantJumps = Object.keys(chains).length > 0 ? 1 : 0;
  if (sameChains(chains, have.chains) && have.jumps === wantJumps) return undefined;
  const stale = Object.keys(have.chains).filter((c) => !(c in chains));
  const lines = ['*nat'];
  for (let i = wantJumps; i < have.jumps; i++) lines.push(`-D POSTROUTING -j ${NAT_POSTROUTING_CHAIN}`);
  for (const c of [...Object.keys(chains), ...stale]) lines.push(`:${c} - [0:0]`);
  for (const c of Object.keys(chains)) lines.push(...chains[c]!);
  if (have.jumps === 0 && wantJumps === 1) lines.push(`-I POSTROUTING 1 -j ${NAT_POSTROUTING_CHAIN}`);
  for (const c of stale) lines.push(`-X ${c}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

export function computePlan(desired: DesiredState, actual: ActualState): Plan {
  const sysctls = Object.entries(desired.sysctls).filter(([k, v]) => actual.sysctls[k] !== v);
  const { fix, cleanup } = diffDevices(desired.devices, actual);
  // A device (re)created in this pass starts empty: whatever the kernel had on the old one is gone.
  const fresh = new Set(
    desired.devices.filter((d) => fix.some((l) => l.startsWith(`link add ${d.name} `))).map((d) => d.name),
  );
  const now: ActualState =
    fresh.size === 0
      ? actual
      : {
          ...actual,
          routes: actual.routes.filter((r) => r.dev === undefined || !fresh.has(r.dev)),
          neighs: actual.neighs.filter((n) => !fresh.has(n.dev)),
          fdb: fresh.has(VXLAN_DEVICE) ? [] : actual.fdb,
        };
  const nat: Plan['nat'] = [];
  for (const family of [4, 6] as Family[]) {
    const have = actual.nat[family];
    if (!have) continue;
    const restore = natRestore(
      desired.nat.find((n) => n.family === family),
      have,
    );
    if (restore) nat.push({ family, restore });
  }
  return {
    sysctls,
    deviceLines: fix,
    ipLines: [...diffRoutes(desired, now), ...diffNeighs(desired, now)],
    bridgeLines: diffFdb(desired, now),
    nat,
    cleanupLines: cleanup,
  };
}
