/**
 * The agent's pure core: from a cluster snapshot (and the routes BGP selected) to the peers it
 * wants, the prefixes it announces, what it accepts, and the dataplane it wants. No I/O here; the
 * shells in agent.ts apply the differences.
 */
import type { PeerType } from './control-api.js';
import { EXTERNAL_ROUTE_METRIC, type DataplaneInput, type RemoteRoute } from '@tsnet/dataplane';
import { byText, cidrContains, familyOf, parseCidr } from './net.js';
import type {
  Announcement,
  ClusterSnapshot,
  DesiredPeer,
  LearnedRoute,
  NodeRecord,
  PoolRecord,
} from './model.js';

export function findNode(snap: ClusterSnapshot, name: string): NodeRecord | undefined {
  return snap.nodes.find((n) => n.name === name);
}

/** This node's AS and whether it is the cluster default. */
export function nodeAsn(snap: ClusterSnapshot, node: NodeRecord | undefined): { asn: number; inherited: boolean } {
  return node?.asn !== undefined ? { asn: node.asn, inherited: false } : { asn: snap.config.defaultAsn, inherited: true };
}

/** A configured peer of this node: a global one, or one of this node's own. */
const isOurs = (p: ClusterSnapshot['peers'][number], selfName: string): boolean => p.node === undefined || p.node === selfName;

/**
 * The sessions this node wants: the iBGP full mesh (every other node, per family it shares) when
 * the mesh is on; with the mesh off, route reflectors peer with every node (as their clients) and
 * other nodes peer with the reflectors only; plus global peers and this node's own peers. An
 * address appears once (mesh wins over configured peers); our own addresses never.
 */
export function desiredPeers(snap: ClusterSnapshot, selfName: string): DesiredPeer[] {
  const self = findNode(snap, selfName);
  if (!self) return [];
  const own = new Set([self.ipv4, self.ipv6].filter((a): a is string => !!a));
  const out = new Map<string, DesiredPeer>();
  const add = (p: DesiredPeer): void => {
    if (own.has(p.address) || out.has(p.address)) return;
    out.set(p.address, p);
  };
  const selfIsRr = self.routeReflectorClusterId !== undefined;
  for (const other of snap.nodes) {
    if (other.name === selfName) continue;
    const otherIsRr = other.routeReflectorClusterId !== undefined;
    const meshPeer = snap.config.nodeMesh || selfIsRr || otherIsRr;
    if (!meshPeer) continue;
    const asn = nodeAsn(snap, other).asn;
    const rrClient = !snap.config.nodeMesh && selfIsRr && !otherIsRr;
    if (self.ipv4 && other.ipv4)
      add({ address: other.ipv4, asn, family: 'ipv4', type: 'node-to-node mesh', routeReflectorClient: rrClient });
    if (self.ipv6 && other.ipv6)
      add({ address: other.ipv6, asn, family: 'ipv6', type: 'node-to-node mesh', routeReflectorClient: rrClient });
  }
  for (const p of snap.peers) {
    if (!isOurs(p, selfName)) continue;
    const type: PeerType = p.node === undefined ? 'global' : 'node specific';
    const family = familyOf(p.address);
    if (family === 'ipv4' ? !self.ipv4 : !self.ipv6) continue;
    add({
      address: p.address,
      asn: p.asn,
      family,
      type,
      routeReflectorClient: false,
      ...(p.acceptPrefixes ? { acceptPrefixes: p.acceptPrefixes } : {}),
    });
  }
  return [...out.values()].sort((a, b) => byText(a.address, b.address));
}

/**
 * What this node announces: each block affine to it, and a host route for every address it uses
 * from a block affine to another node; next hop is this node's address of the family.
 */
export function desiredAnnouncements(snap: ClusterSnapshot, selfName: string): Announcement[] {
  const self = findNode(snap, selfName);
  if (!self) return [];
  const nextHopFor = (prefix: string): string | null => (familyOf(prefix) === 'ipv4' ? self.ipv4 : self.ipv6);
  const out: Announcement[] = [];
  const poolOf = (prefix: string): PoolRecord | undefined => snap.pools.find((p) => cidrContains(p.cidr, prefix));
  for (const b of snap.blocks) {
    if (b.affinity !== selfName) continue;
    const nh = nextHopFor(b.cidr);
    if (nh) out.push({ prefix: b.cidr, nextHop: nh });
  }
  for (const a of snap.borrowed) {
    if (a.node !== selfName) continue;
    const host = familyOf(a.ip) === 'ipv4' ? `${a.ip}/32` : `${a.ip}/128`;
    const nh = nextHopFor(host);
    // only when the containing block is someone else's (our own blocks already cover it)
    const block = snap.blocks.find((b) => cidrContains(b.cidr, host));
    if (nh && block?.affinity !== selfName && poolOf(host)) out.push({ prefix: host, nextHop: nh });
  }
  return out.sort((a, b) => byText(a.prefix, b.prefix));
}

/**
 * Import policy: from mesh peers only prefixes inside a configured pool (so a peer cannot hijack
 * the default route or host networks); from global/node peers what the operator allowed for that
 * peer, or the pools when nothing was set.
 */
export function acceptRoute(peer: Pick<DesiredPeer, 'type' | 'acceptPrefixes'>, prefix: string, pools: PoolRecord[]): boolean {
  const allowed = peer.type !== 'node-to-node mesh' && peer.acceptPrefixes ? peer.acceptPrefixes : pools.map((p) => p.cidr);
  return allowed.some((c) => cidrContains(c, prefix));
}

/**
 * Differences between the sessions we have and the ones we want (changed AS = remove + add). A
 * kept session whose import list changed is in `reimport`: the session stays up, but the routes
 * the peer already sent must be judged again by the new list (route refresh).
 */
export function diffPeers(
  current: ReadonlyMap<string, DesiredPeer>,
  desired: DesiredPeer[],
): { add: DesiredPeer[]; remove: string[]; reimport: DesiredPeer[] } {
  const want = new Map(desired.map((p) => [p.address, p]));
  const remove: string[] = [];
  const add: DesiredPeer[] = [];
  const reimport: DesiredPeer[] = [];
  for (const [addr, have] of current) {
    const w = want.get(addr);
    if (!w || w.asn !== have.asn || w.routeReflectorClient !== have.routeReflectorClient) remove.push(addr);
    else if (w.type !== have.type || !samePrefixes(w.acceptPrefixes, have.acceptPrefixes)) reimport.push(w);
  }
  for (const w of desired) {
    const have = current.get(w.address);
    if (!have || remove.includes(w.address)) add.push(w);
  }
  return { add, remove, reimport };
}

/** Same import list (order and duplicates aside); absent (= the pools) differs from any list. */
function samePrefixes(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

export function diffAnnouncements(
  current: ReadonlyMap<string, Announcement>,
  desired: Announcement[],
): { announce: Announcement[]; withdraw: string[] } {
  const want = new Map(desired.map((a) => [a.prefix, a]));
  const withdraw = [...current.keys()].filter((p) => !want.has(p));
  const announce = desired.filter((a) => current.get(a.prefix)?.nextHop !== a.nextHop);
  return { announce, withdraw };
}

/** Where this node sits on the underlay (detected at start from the node address). */
export interface UnderlayInfo {
  interface: string;
  /** the underlay subnet, e.g. 198.51.100.0/24 */
  cidr: string;
  mtu?: number;
}

/**
 * The IPv6 gateway of every workload (the plugin hands it to Docker as GatewayIPv6); the same
 * value as @tsnet/libnetwork's WORKLOAD_GATEWAY_V6, kept here so the agent does not load the
 * plugin package unless it serves the plugin.
 */
export const WORKLOAD_GATEWAY_V6 = 'fe80::1';

/**
 * Which routes BGP selected reach the dataplane, and how: only prefixes inside a pool or a peer's
 * import list (`acceptPrefixes`) and not via ourselves; routes outside every pool carry
 * EXTERNAL_ROUTE_METRIC, so they never replace a host route. Undefined for a route left out.
 */
export type RemoteRouteGate = (route: LearnedRoute) => RemoteRoute | undefined;

/** The gate of `snap` for this node (its own addresses, pools and peers' import lists). */
export function remoteRouteGate(snap: ClusterSnapshot, self: NodeRecord): RemoteRouteGate {
  const own = new Set([self.ipv4, self.ipv6].filter((a): a is string => !!a));
  const pools = snap.pools;
  // the import policy already judged each route by its peer; this second gate keeps the kernel to
  // the pools plus what the operator allowed this node's global and node peers to send
  // (the peers are worked out only when one of ours has an import list)
  const withLists = snap.peers.some((p) => p.acceptPrefixes && isOurs(p, self.name));
  const allowed = [
    ...pools.map((p) => p.cidr),
    ...(withLists ? desiredPeers(snap, self.name) : []).flatMap((p) =>
      p.type !== 'node-to-node mesh' && p.acceptPrefixes ? p.acceptPrefixes : [],
    ),
  ];
  // a route outside every pool gets its own metric so it sits beside the host's routes (its
  // default route above all) instead of replacing them; the host's own stay preferred
  const inPool = (prefix: string): boolean => pools.some((p) => cidrContains(p.cidr, prefix));
  return (r) => {
    if (own.has(r.nextHop) || !allowed.some((c) => cidrContains(c, r.prefix))) return undefined;
    return inPool(r.prefix) ? { prefix: r.prefix, nextHop: r.nextHop } : { prefix: r.prefix, nextHop: r.nextHop, metric: EXTERNAL_ROUTE_METRIC };
  };
}

/**
 * The dataplane's input from the snapshot and the routes BGP selected (through `remoteRouteGate`):
 * remote routes, local blocks, local workloads, VTEPs of the other nodes. Null until this node is
 * registered with an IPv4 address.
 */
export function dataplaneInput(
  snap: ClusterSnapshot,
  selfName: string,
  learned: LearnedRoute[],
  underlay: UnderlayInfo,
): DataplaneInput | null {
  const self = findNode(snap, selfName);
  if (!self?.ipv4) return null;
  const pools = snap.pools;
  const gate = remoteRouteGate(snap, self);
  const remoteRoutes: RemoteRoute[] = [];
  for (const r of learned) {
    const route = gate(r);
    if (route) remoteRoutes.push(route);
  }
  remoteRoutes.sort((a, b) => byText(a.prefix, b.prefix));
  const remoteVteps = snap.nodes
    .filter((n) => n.name !== selfName && n.ipv4 && n.vtep)
    .map((n) => ({ nodeIp: n.ipv4!, vtepIp: n.vtep!.ip, vtepMac: n.vtep!.mac }));
  const workloads = snap.endpoints
    .filter((e) => e.node === selfName)
    .flatMap((e) => e.ips.map((ip) => ({ ip: ip.split('/')[0]!, hostIfName: e.hostIf })))
    .sort((a, b) => byText(a.ip, b.ip));
  return {
    node: {
      name: selfName,
      ipv4: self.ipv4,
      ...(self.ipv6 ? { ipv6: self.ipv6 } : {}),
      underlay: { interface: underlay.interface, cidr: underlay.cidr, ...(underlay.mtu ? { mtu: underlay.mtu } : {}) },
      ...(self.vtep ? { vxlan: { vtepIp: self.vtep.ip, vtepMac: self.vtep.mac } } : {}),
    },
    pools: pools.map((p) => ({
      cidr: p.cidr,
      ipipMode: p.ipipMode,
      vxlanMode: p.vxlanMode,
      natOutgoing: p.natOutgoing,
      disabled: p.disabled,
    })),
    localBlocks: snap.blocks.filter((b) => b.affinity === selfName).map((b) => b.cidr).sort(),
    remoteRoutes,
    remoteVteps,
    workloads,
    // IPv6 workloads route via this link-local gateway: proxy NDP answers for it on their veths
    ipv6Gateway: WORKLOAD_GATEWAY_V6,
  };
}

/** Does the cluster need VTEPs (any IPv4 vxlan pool)? */
export const needsVtep = (snap: ClusterSnapshot): boolean =>
  snap.pools.some((p) => p.vxlanMode !== 'never' && parseCidr(p.cidr).family === 'ipv4');
