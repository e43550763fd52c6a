// The typed records stored under the prefix. Each is plain JSON; `validate*` functions check a
// parsed value field by field and return it typed, or throw a one-line reason (never crash later).
// Unknown extra fields are kept, so a newer writer's additions survive an older reader's update.
import { isIP } from 'node:net';
import { parsePrefix } from './prefix.js';

export type EncapMode = 'always' | 'cross-subnet' | 'never';
export const ENCAP_MODES: readonly EncapMode[] = ['always', 'cross-subnet', 'never'];

/** Cluster-wide settings (one record). */
export interface ClusterConfig {
  /** AS number of nodes without their own (default 64511). */
  defaultAsn: number;
  /** Full iBGP mesh between nodes; off = nodes peer with route reflectors only. */
  nodeMesh: boolean;
  /** tsnet version that last wrote the record. */
  version: string;
}

export const DEFAULT_ASN = 64511;
export const DEFAULT_CLUSTER_CONFIG: Readonly<ClusterConfig> = { defaultAsn: DEFAULT_ASN, nodeMesh: true, version: '0.1.0' };

/** A registered host. */
export interface NodeRecord {
  name: string;
  /** IPv4 address used for BGP and as next hop, e.g. '198.51.100.1'. */
  ipv4?: string;
  /** The IPv4 subnet of that address, e.g. '198.51.100.0/24' (for ipip/vxlan cross-subnet). */
  ipv4Network?: string;
  ipv6?: string;
  ipv6Network?: string;
  /** AS override; absent = cluster default. */
  asn?: number;
  /** Set when the node is a route reflector: its cluster id (an IPv4-formatted id). */
  routeReflector?: { clusterId: string };
  /** ISO time of the node agent's last registration or heartbeat. */
  lastSeen?: string;
  /** The node's VXLAN tunnel endpoint address (from an IPv4 vxlan pool), set by its agent. */
  vxlanTunnelAddr?: string;
  /** The MAC of that endpoint, aa:bb:cc:dd:ee:ff. */
  vxlanTunnelMac?: string;
}

/** A BGP peer: global (every node peers with it) or of one node (`node` set). */
export interface BgpPeer {
  ip: string;
  asn: number;
  /** Set for per-node peers: the node that peers. */
  node?: string;
  /**
   * The prefixes this peer may send (a route is accepted when one of them contains it); absent =
   * only prefixes inside the IP pools. ['0.0.0.0/0'] accepts every IPv4 route.
   */
  acceptPrefixes?: string[];
}

/** An IP pool: a CIDR carved into blocks of `blockSize`. */
export interface IpPool {
  cidr: string;
  /** Prefix length of the blocks (20..32 for IPv4, 116..128 for IPv6). */
  blockSize: number;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  disabled: boolean;
}

/** Attributes of one allocation (shared by the ordinals allocated with them). */
export interface AllocationAttributes {
  /** The allocation handle (an endpoint id): release by handle frees all its addresses. */
  handle: string;
  /** Node the address was allocated for (≠ block affinity = borrowed). */
  node: string;
  containerId?: string;
  /** Free-form extras (e.g. docker network id). */
  extra?: Record<string, string>;
}

/**
 * A block of addresses (Calico's model): `allocations[ordinal]` is an index into `attributes`
 * or null when free. Ordinal = address - network address of `cidr`.
 */
export interface Block {
  cidr: string;
  /** The pool the block was carved from. */
  pool: string;
  /** Node the block is affine to, or null once that node was removed (block then only drains). */
  affinity: string | null;
  allocations: (number | null)[];
  attributes: AllocationAttributes[];
}

/** Node → block affinity (a second index so a node finds its blocks without reading all). */
export interface BlockAffinity {
  node: string;
  cidr: string;
}

/** An allocation handle: which blocks hold how many of its addresses. */
export interface AllocationHandle {
  id: string;
  blocks: Record<string, number>;
}

/** Heartbeat of a node agent. */
export interface NodeStatus {
  node: string;
  /** ISO time of the last heartbeat. */
  heartbeat: string;
  startedAt?: string;
  agentVersion?: string;
  pid?: number;
}

/** A Docker network created with the tsnet driver. */
export interface DockerNetwork {
  id: string;
  /** IPv4 pool CIDR / requested subnet. */
  pool?: string;
  subnet?: string;
  gateway?: string;
  ipv6Pool?: string;
  ipv6Subnet?: string;
  ipv6Gateway?: string;
  options: Record<string, unknown>;
}

/** A Docker endpoint served by the tsnet driver. */
export interface DockerEndpoint {
  id: string;
  networkId: string;
  /** Address with prefix length as Docker gave it, e.g. '192.168.0.5/32'. */
  ipv4?: string;
  ipv6?: string;
  mac?: string;
  hostVeth: string;
  node: string;
}

// ---- validation ----------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} is not an object`);
  return v as Obj;
}
function str(o: Obj, f: string, optional = false): void {
  if (o[f] === undefined && optional) return;
  if (typeof o[f] !== 'string' || o[f] === '') throw new Error(`field ${f} must be a non-empty string`);
}
function num(o: Obj, f: string, optional = false, min = 0, max = Number.MAX_SAFE_INTEGER): void {
  if (o[f] === undefined && optional) return;
  const x = o[f];
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
    throw new Error(`field ${f} must be an integer in ${min}..${max}`);
  }
}
function bool(o: Obj, f: string): void {
  if (typeof o[f] !== 'boolean') throw new Error(`field ${f} must be true or false`);
}
function oneOf(o: Obj, f: string, values: readonly string[]): void {
  if (!values.includes(o[f] as string)) throw new Error(`field ${f} must be one of ${values.join('|')}`);
}
const ASN_MAX = 4294967295;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function validateClusterConfig(v: unknown): ClusterConfig {
  const o = obj(v, 'cluster config');
  num(o, 'defaultAsn', false, 1, ASN_MAX);
  bool(o, 'nodeMesh');
  str(o, 'version');
  return o as unknown as ClusterConfig;
}

export function validateNode(v: unknown): NodeRecord {
  const o = obj(v, 'node');
  str(o, 'name');
  for (const f of ['ipv4', 'ipv4Network', 'ipv6', 'ipv6Network', 'lastSeen']) str(o, f, true);
  num(o, 'asn', true, 1, ASN_MAX);
  if (o.routeReflector !== undefined) str(obj(o.routeReflector, 'routeReflector'), 'clusterId');
  str(o, 'vxlanTunnelAddr', true);
  if (o.vxlanTunnelAddr !== undefined && isIP(o.vxlanTunnelAddr as string) === 0) throw new Error('field vxlanTunnelAddr must be an IP address');
  str(o, 'vxlanTunnelMac', true);
  if (o.vxlanTunnelMac !== undefined && !MAC.test(o.vxlanTunnelMac as string)) throw new Error('field vxlanTunnelMac must be a MAC like aa:bb:cc:dd:ee:ff');
  return o as unknown as NodeRecord;
}

export function validatePeer(v: unknown): BgpPeer {
  const o = obj(v, 'peer');
  str(o, 'ip');
  num(o, 'asn', false, 1, ASN_MAX);
  str(o, 'node', true);
  if (o.acceptPrefixes !== undefined) {
    if (!Array.isArray(o.acceptPrefixes)) throw new Error('field acceptPrefixes must be an array of CIDRs like 10.0.0.0/8');
    for (const p of o.acceptPrefixes as unknown[]) {
      if (typeof p !== 'string' || !parsePrefix(p)) throw new Error(`field acceptPrefixes holds ${JSON.stringify(p)}, not a CIDR like 10.0.0.0/8`);
    }
  }
  return o as unknown as BgpPeer;
}

export function validatePool(v: unknown): IpPool {
  const o = obj(v, 'pool');
  str(o, 'cidr');
  num(o, 'blockSize', false, 0, 128);
  oneOf(o, 'ipipMode', ENCAP_MODES);
  oneOf(o, 'vxlanMode', ENCAP_MODES);
  bool(o, 'natOutgoing');
  bool(o, 'disabled');
  return o as unknown as IpPool;
}

export function validateBlock(v: unknown): Block {
  const o = obj(v, 'block');
  str(o, 'cidr');
  str(o, 'pool');
  if (o.affinity !== null) str(o, 'affinity');
  if (!Array.isArray(o.attributes)) throw new Error('field attributes must be an array');
  const attrs = o.attributes as unknown[];
  attrs.forEach((a, i) => {
    const ao = obj(a, `attributes[${i}]`);
    str(ao, 'handle');
    str(ao, 'node');
    str(ao, 'containerId', true);
  });
  if (!Array.isArray(o.allocations)) throw new Error('field allocations must be an array');
  for (const x of o.allocations as unknown[]) {
    if (x !== null && (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= attrs.length)) {
      throw new Error('field allocations holds an index outside attributes');
    }
  }
  return o as unknown as Block;
}

export function validateAffinity(v: unknown): BlockAffinity {
  const o = obj(v, 'affinity');
  str(o, 'node');
  str(o, 'cidr');
  return o as unknown as BlockAffinity;
}

export function validateHandle(v: unknown): AllocationHandle {
  const o = obj(v, 'handle');
  str(o, 'id');
  const blocks = obj(o.blocks, 'field blocks');
  for (const [k, n] of Object.entries(blocks)) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new Error(`blocks[${k}] must be a positive count`);
  }
  return o as unknown as AllocationHandle;
}

export function validateNodeStatus(v: unknown): NodeStatus {
  const o = obj(v, 'node status');
  str(o, 'node');
  str(o, 'heartbeat');
  str(o, 'startedAt', true);
  str(o, 'agentVersion', true);
  num(o, 'pid', true);
  return o as unknown as NodeStatus;
}

export function validateDockerNetwork(v: unknown): DockerNetwork {
  const o = obj(v, 'docker network');
  str(o, 'id');
  for (const f of ['pool', 'subnet', 'gateway', 'ipv6Pool', 'ipv6Subnet', 'ipv6Gateway']) str(o, f, true);
  obj(o.options, 'field options');
  return o as unknown as DockerNetwork;
}

export function validateDockerEndpoint(v: unknown): DockerEndpoint {
  const o = obj(v, 'docker endpoint');
  for (const f of ['id', 'networkId', 'hostVeth', 'node']) str(o, f);
  for (const f of ['ipv4', 'ipv6', 'mac']) str(o, f, true);
  return o as unknown as DockerEndpoint;
}
