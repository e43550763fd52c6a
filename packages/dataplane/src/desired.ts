// The whole desired kernel state as a pure function of the node's view of the cluster.
import { createHash } from 'node:crypto';
import { contains, familyOf, parseCidr, canonicalCidr, type Cidr, type Family } from './cidr.js';
import {
  IPIP_DEVICE,
  IPIP_OVERHEAD,
  VXLAN_DEVICE,
  VXLAN_OVERHEAD,
  VXLAN_PORT,
  VXLAN_VNI,
  type DataplaneInput,
  type DesiredState,
  type DeviceSpec,
  type EncapMode,
  type FdbSpec,
  type KernelSupport,
  type NatSpec,
  type NeighSpec,
  type PoolInput,
  type RemoteRoute,
  type RemoteVtep,
  type RouteSpec,
} from './types.js';

export const NAT_POSTROUTING_CHAIN = 'TSNET-POSTROUTING';
export const NAT_OUTGOING_CHAIN = 'TSNET-NAT-OUTGOING';
const DEFAULT_UNDERLAY_MTU = 1500;

export interface Pool {
  spec: PoolInput;
  cidr: Cidr;
  /** the encapsulation this pool actually uses on this node (after kernel/VTEP checks) */
  encap: 'ipip' | 'vxlan' | 'none' | 'broken';
  mode: EncapMode;
}

/** The MTU for tunnel devices and workload veths given the pools in use. */
export function workloadMtu(
  pools: Pick<PoolInput, 'ipipMode' | 'vxlanMode' | 'cidr'>[],
  underlayMtu = DEFAULT_UNDERLAY_MTU,
): number {
  let mtu = underlayMtu;
  for (const p of pools) {
    if (p.vxlanMode !== 'never') mtu = Math.min(mtu, underlayMtu - VXLAN_OVERHEAD);
    else if (p.ipipMode !== 'never' && familyOf(p.cidr) === 4)
      mtu = Math.min(mtu, underlayMtu - IPIP_OVERHEAD);
  }
  return mtu;
}

/** A stable, locally administered unicast MAC for a node's VTEP, derived from its name. */
export function vtepMacFor(nodeName: string): string {
  const b = createHash('sha256').update(`tsnet-vtep:${nodeName}`).digest().subarray(0, 6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Parses one input item; a malformed one becomes a problem instead of failing the whole pass. */
function parsed<T>(what: string, problems: string[], parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    problems.push(`ignoring ${what}: ${(err as Error).message}`);
    return undefined;
  }
}

function classifyPools(input: DataplaneInput, support: KernelSupport, problems: string[]): Pool[] {
  return input.pools.flatMap((spec): Pool[] => {
    const cidr = parsed(`pool ${spec.cidr}`, problems, () => parseCidr(spec.cidr));
    if (!cidr) return [];
    return [classifyPool(input, support, problems, spec, cidr)];
  });
}

function classifyPool(
  input: DataplaneInput,
  support: KernelSupport,
  problems: string[],
  spec: PoolInput,
  cidr: Cidr,
): Pool {
  const v4 = cidr.family === 4;
  if (spec.ipipMode !== 'never' && spec.vxlanMode !== 'never') {
    problems.push(
      `pool ${cidr.text} has both IPIP and VXLAN enabled: pick one (tsctl pool add --ipip or --vxlan)`,
    );
    return { spec, cidr, encap: 'broken', mode: 'never' };
  }
  if (spec.ipipMode !== 'never') {
    if (!v4) {
      problems.push(`pool ${cidr.text}: IPIP carries IPv4 only; routing this IPv6 pool natively`);
      return { spec, cidr, encap: 'none', mode: 'never' };
    }
    if (!support.ipip) {
      problems.push(`pool ${cidr.text} needs IPIP but this kernel has no ipip module (modprobe ipip)`);
      return { spec, cidr, encap: 'broken', mode: spec.ipipMode };
    }
    return { spec, cidr, encap: 'ipip', mode: spec.ipipMode };
  }
  if (spec.vxlanMode !== 'never') {
    if (!v4) {
      problems.push(
        `pool ${cidr.text}: VXLAN over IPv6 is not supported by this dataplane; routing natively`,
      );
      return { spec, cidr, encap: 'none', mode: 'never' };
    }
    if (!support.vxlan) {
      problems.push(`pool ${cidr.text} needs VXLAN but this kernel has no vxlan module (modprobe vxlan)`);
      return { spec, cidr, encap: 'broken', mode: spec.vxlanMode };
    }
    if (!input.node.vxlan) {
      problems.push(
        `pool ${cidr.text} needs VXLAN but node ${input.node.name} has no VTEP address/MAC assigned`,
      );
      return { spec, cidr, encap: 'broken', mode: spec.vxlanMode };
    }
    return { spec, cidr, encap: 'vxlan', mode: spec.vxlanMode };
  }
  return { spec, cidr, encap: 'none', mode: 'never' };
}

function natSpecs(pools: Pool[]): NatSpec[] {
  const out: NatSpec[] = [];
  for (const family of [4, 6] as Family[]) {
    const ofFamily = pools.filter((p) => p.cidr.family === family);
    const natted = ofFamily.filter((p) => p.spec.natOutgoing);
    if (natted.length === 0) continue;
    out.push({
      family,
      chains: {
        [NAT_POSTROUTING_CHAIN]: natted.map(
          (p) => `-A ${NAT_POSTROUTING_CHAIN} -s ${p.cidr.text} -j ${NAT_OUTGOING_CHAIN}`,
        ),
        [NAT_OUTGOING_CHAIN]: [
          ...ofFamily.map((p) => `-A ${NAT_OUTGOING_CHAIN} -d ${p.cidr.text} -j RETURN`),
          `-A ${NAT_OUTGOING_CHAIN} -j MASQUERADE`,
        ],
      },
    });
  }
  return out;
}

/**
 * What the kernel route of one remote route depends on besides the route: the node's pools, its
 * underlay subnet and addresses, the other nodes' VTEPs, and the destinations workloads and
 * local blocks already hold (they win). Kept with each desired state (`remoteRouteContextOf`), so
 * a single route can be changed without computing the whole state again.
 */
export interface RemoteRouteContext {
  readonly pools: readonly Pool[];
  readonly underlay: Cidr;
  readonly vteps: ReadonlyMap<string, RemoteVtep>;
  readonly own: ReadonlySet<string>;
  readonly taken: ReadonlySet<string>;
  /** a pool of the node already turns IPv6 forwarding on, whatever the routes */
  readonly v6Forwarding: boolean;
}

const contexts = new WeakMap<DesiredState, RemoteRouteContext>();

/** The context `state`'s remote routes were computed in (undefined for a state built elsewhere). */
export function remoteRouteContextOf(state: DesiredState): RemoteRouteContext | undefined {
  return contexts.get(state);
}

/** Records that `state`'s remote routes follow `ctx` (for states derived from another one). */
export function withRemoteRouteContext(state: DesiredState, ctx: RemoteRouteContext): DesiredState {
  contexts.set(state, ctx);
  return state;
}

/**
 * The kernel route for one remote route, or undefined when it gets none: via ourselves, its
 * destination held by a workload or local block, its pool's encapsulation broken, or (VXLAN) the
 * next hop's VTEP not known yet (a problem).
 */
export function remoteRouteSpec(ctx: RemoteRouteContext, r: RemoteRoute, problems: string[]): RouteSpec | undefined {
  const dst = parsed(`route ${r.prefix} via ${r.nextHop}`, problems, () => (familyOf(r.nextHop), parseCidr(r.prefix)));
  if (!dst) return undefined;
  if (ctx.own.has(r.nextHop) || ctx.taken.has(dst.text)) return undefined;
  const pool = ctx.pools.find((p) => contains(p.cidr, dst));
  if (pool?.encap === 'broken') return undefined;
  const crossSubnet = familyOf(r.nextHop) === 4 && !contains(ctx.underlay, r.nextHop);
  // routes from outside the pools carry their own metric, so they sit beside the host's routes
  const metric = r.metric !== undefined ? { metric: r.metric } : {};
  const encapsulate = pool !== undefined && (pool.mode === 'always' || (pool.mode === 'cross-subnet' && crossSubnet));
  if (encapsulate && pool.encap === 'ipip') {
    return { family: dst.family, dst: dst.text, type: 'unicast', via: r.nextHop, dev: IPIP_DEVICE, onlink: true, ...metric };
  }
  if (encapsulate && pool.encap === 'vxlan') {
    const vtep = ctx.vteps.get(r.nextHop);
    if (!vtep) {
      problems.push(`route ${dst.text} via ${r.nextHop}: no VTEP known for that node; waiting for it`);
      return undefined;
    }
    return { family: dst.family, dst: dst.text, type: 'unicast', via: vtep.vtepIp, dev: VXLAN_DEVICE, onlink: true, ...metric };
  }
  return { family: dst.family, dst: dst.text, type: 'unicast', via: r.nextHop, ...metric };
}

/**
 * Computes routes, devices, neighbours, FDB entries, sysctls and NAT chains for this node.
 * Pools whose encapsulation the kernel (or this node) cannot provide are reported in
 * `problems` and their remote routes left out; everything else is still programmed.
 */
export function computeDesiredState(
  input: DataplaneInput,
  support: KernelSupport = { ipip: true, vxlan: true },
): DesiredState {
  const problems: string[] = [];
  const { node } = input;
  const underlayMtu = node.underlay.mtu ?? DEFAULT_UNDERLAY_MTU;
  const underlay = parseCidr(node.underlay.cidr);
  const pools = classifyPools(input, support, problems);

  const devices: DeviceSpec[] = [];
  if (pools.some((p) => p.encap === 'ipip')) {
    devices.push({
      kind: 'ipip',
      name: IPIP_DEVICE,
      mtu: underlayMtu - IPIP_OVERHEAD,
      ...(node.ipipTunnelAddress ? { address: node.ipipTunnelAddress } : {}),
    });
  }
  const vxlanOn = pools.some((p) => p.encap === 'vxlan') && node.vxlan !== undefined;
  if (vxlanOn) {
    devices.push({
      kind: 'vxlan',
      name: VXLAN_DEVICE,
      vni: VXLAN_VNI,
      port: VXLAN_PORT,
      local: node.ipv4,
      parent: node.underlay.interface,
      mtu: underlayMtu - VXLAN_OVERHEAD,
      mac: node.vxlan!.vtepMac.toLowerCase(),
      address: node.vxlan!.vtepIp,
    });
  }

  const routes = new Map<string, RouteSpec>();
  const add = (r: RouteSpec): void => {
    if (!routes.has(r.dst)) routes.set(r.dst, r);
  };

  // Workload /32s first: they win over anything else with the same prefix.
  const sysctls: Record<string, string> = { 'net/ipv4/ip_forward': '1' };
  const proxyNeighs: DesiredState['proxyNeighs'] = [];
  for (const w of input.workloads) {
    const dst = parsed(`workload ${w.ip} on ${w.hostIfName}`, problems, () => canonicalCidr(w.ip));
    if (!dst) continue;
    const family = familyOf(dst);
    const other = routes.get(dst);
    if (other) {
      problems.push(
        `workload address ${w.ip} is on both ${other.dev} and ${w.hostIfName}; keeping ${other.dev}`,
      );
      continue;
    }
    // IPv6 routes carry no scope (the kernel drops it), so only IPv4 host routes are scope link.
    add({
      family,
      dst,
      type: 'unicast',
      dev: w.hostIfName,
      ...(family === 4 ? { scope: 'link' as const } : {}),
    });
    if (family === 4) {
      sysctls[`net/ipv4/conf/${w.hostIfName}/proxy_arp`] = '1';
      sysctls[`net/ipv4/neigh/${w.hostIfName}/proxy_delay`] = '0';
    } else {
      sysctls[`net/ipv6/conf/${w.hostIfName}/proxy_ndp`] = '1';
      sysctls[`net/ipv6/conf/${w.hostIfName}/forwarding`] = '1';
      if (input.ipv6Gateway) proxyNeighs.push({ dev: w.hostIfName, ip: input.ipv6Gateway });
    }
  }

  for (const b of input.localBlocks) {
    const c = parsed(`local block ${b}`, problems, () => parseCidr(b));
    if (!c) continue;
    add({ family: c.family, dst: c.text, type: 'blackhole' });
  }

  const ctx: RemoteRouteContext = {
    pools,
    underlay,
    vteps: new Map(input.remoteVteps.map((v) => [v.nodeIp, v])),
    own: new Set([node.ipv4, ...(node.ipv6 ? [node.ipv6] : [])]),
    taken: new Set(routes.keys()),
    v6Forwarding: pools.some((p) => p.cidr.family === 6),
  };
  // ECMP or duplicate announcements: pick the lowest next hop so the result is deterministic.
  const remote = [...input.remoteRoutes].sort((a, b) =>
    a.nextHop < b.nextHop ? -1 : a.nextHop > b.nextHop ? 1 : 0,
  );
  for (const r of remote) {
    const spec = remoteRouteSpec(ctx, r, problems);
    if (spec) add(spec);
  }

  const neighs: NeighSpec[] = [];
  const fdb: FdbSpec[] = [];
  if (vxlanOn) {
    for (const v of input.remoteVteps) {
      if (v.nodeIp === node.ipv4) continue;
      neighs.push({ dev: VXLAN_DEVICE, ip: v.vtepIp, mac: v.vtepMac.toLowerCase() });
      fdb.push({ dev: VXLAN_DEVICE, mac: v.vtepMac.toLowerCase(), dst: v.nodeIp });
    }
  }

  const anyV6 = pools.some((p) => p.cidr.family === 6) || [...routes.values()].some((r) => r.family === 6);
  if (anyV6) sysctls['net/ipv6/conf/all/forwarding'] = '1';

  return withRemoteRouteContext({
    routes: [...routes.values()],
    devices,
    neighs,
    fdb,
    proxyNeighs,
    sysctls,
    nat: natSpecs(pools),
    problems,
  }, ctx);
}
