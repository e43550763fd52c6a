// Plain values in and out of the dataplane. The node agent maps its datastore/IPAM/BGP types to
// these inputs; the desired state is what the reconciler makes the kernel look like.
import type { Family } from './cidr.js';

/** How a pool's traffic to other nodes is encapsulated (same meaning for IPIP and VXLAN). */
export type EncapMode = 'always' | 'cross-subnet' | 'never';

/** The kernel protocol number on every route tsnet installs (`/etc/iproute2/rt_protos.d/tsnet.conf`). */
export const TSNET_RT_PROTO = 80;
export const IPIP_DEVICE = 'tunl0';
export const VXLAN_DEVICE = 'vxlan.tsnet';
export const VXLAN_VNI = 4096;
export const VXLAN_PORT = 4789;
/** Encapsulation overhead subtracted from the underlay MTU. */
export const IPIP_OVERHEAD = 20;
export const VXLAN_OVERHEAD = 50;
/**
 * The metric of every route learned from outside the pools (a global or node peer's
 * `acceptPrefixes`, e.g. a default route). Routes are identified by (table, dst, metric), so at
 * metric 32 ours sit beside the host's own routes instead of replacing them: the host's default
 * route (metric 0) stays in place and preferred, and withdrawing ours leaves it untouched. 32 is
 * the metric BIRD's kernel protocol gives its routes by default, for the same reason.
 */
export const EXTERNAL_ROUTE_METRIC = 32;
/** The metric the kernel gives a route added without one (IPv6 turns 0 into 1024 as well). */
export const KERNEL_DEFAULT_METRIC: Record<Family, number> = { 4: 0, 6: 1024 };
/** The gateway every workload uses (answered by proxy ARP on the host veth). */
export const WORKLOAD_GATEWAY_V4 = '169.254.1.1';

export interface NodeInput {
  name: string;
  /** this node's underlay IPv4 address (no prefix length) */
  ipv4: string;
  /** this node's IPv6 address, if any (routes whose next hop is this node are skipped) */
  ipv6?: string;
  underlay: {
    /** interface holding `ipv4`, e.g. eth0 (the VXLAN device's parent) */
    interface: string;
    /** the underlay subnet, e.g. 198.51.100.0/24 (host bits allowed); decides "cross-subnet" */
    cidr: string;
    /** underlay MTU; tunnel MTUs are derived from it (default 1500) */
    mtu?: number;
  };
  /** address put on tunl0 so host-originated IPIP traffic has a routable source (optional) */
  ipipTunnelAddress?: string;
  /** this node's VTEP, required when a VXLAN pool exists */
  vxlan?: { vtepIp: string; vtepMac: string };
}

export interface PoolInput {
  cidr: string;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  /** disabled pools allocate no new addresses but keep routing and NAT for existing ones */
  disabled: boolean;
}

/** A prefix learned over BGP, reached through another node's underlay address. */
export interface RemoteRoute {
  prefix: string;
  nextHop: string;
  /** route metric; unset for pool routes (see EXTERNAL_ROUTE_METRIC for the others) */
  metric?: number;
}

export interface RemoteVtep {
  nodeIp: string;
  vtepIp: string;
  vtepMac: string;
}

export interface WorkloadInput {
  /** the workload's address (v4 or v6, no prefix length) */
  ip: string;
  /** host side of its veth */
  hostIfName: string;
}

export interface DataplaneInput {
  node: NodeInput;
  pools: PoolInput[];
  /** blocks affine to this node (blackholed; workload /32s are more specific) */
  localBlocks: string[];
  remoteRoutes: RemoteRoute[];
  remoteVteps: RemoteVtep[];
  workloads: WorkloadInput[];
  /** IPv6 gateway address workloads use; answered by proxy NDP on each IPv6 host veth */
  ipv6Gateway?: string;
}

/** What the kernel can do; detected once by the reconciler. */
export interface KernelSupport {
  ipip: boolean;
  vxlan: boolean;
}

export interface RouteSpec {
  family: Family;
  /** canonical CIDR (host routes as /32 or /128) */
  dst: string;
  type: 'unicast' | 'blackhole';
  via?: string;
  dev?: string;
  onlink?: boolean;
  scope?: 'link';
  /** routing table number; undefined = main */
  table?: number;
  /**
   * route metric (`ip route ... metric N`); undefined = the kernel's default for the family (0
   * for IPv4, 1024 for IPv6). Part of a route's identity with table and dst: see routeIdentity.
   */
  metric?: number;
}

export interface IpipDeviceSpec {
  kind: 'ipip';
  name: string;
  mtu: number;
  /** address/32 on the device, optional */
  address?: string;
}

export interface VxlanDeviceSpec {
  kind: 'vxlan';
  name: string;
  vni: number;
  port: number;
  local: string;
  parent: string;
  mtu: number;
  mac: string;
  /** VTEP address (put on the device as /32) */
  address: string;
}

export type DeviceSpec = IpipDeviceSpec | VxlanDeviceSpec;

export interface NeighSpec {
  dev: string;
  ip: string;
  mac: string;
}

export interface FdbSpec {
  dev: string;
  mac: string;
  /** remote node's underlay address */
  dst: string;
}

export interface ProxyNeighSpec {
  dev: string;
  ip: string;
}

/** Our nat-table chains for one family: chain name → rules in iptables-save form (`-A ...`). */
export interface NatSpec {
  family: Family;
  chains: Record<string, string[]>;
}

export interface DesiredState {
  routes: RouteSpec[];
  devices: DeviceSpec[];
  neighs: NeighSpec[];
  fdb: FdbSpec[];
  proxyNeighs: ProxyNeighSpec[];
  /** sysctl path under /proc/sys, '/'-separated (interface names may hold dots) → value */
  sysctls: Record<string, string>;
  nat: NatSpec[];
  /** per-pool problems (missing kernel support, bad input); the rest is still programmed */
  problems: string[];
}
