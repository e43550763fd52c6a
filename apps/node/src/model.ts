/**
 * The plain values the agent's controller works on: a snapshot of the cluster as the datastore
 * holds it, in the agent's own vocabulary (the datastore adapter maps to it), so the controller
 * is testable with literals.
 */
import type { PeerType } from './control-api.js';

export type EncapMode = 'never' | 'always' | 'cross-subnet';
export type Family = 'ipv4' | 'ipv6';

export interface NodeRecord {
  name: string;
  /** address without length */
  ipv4: string | null;
  /** address with the subnet length (for cross-subnet decisions), when known */
  ipv4Cidr?: string;
  ipv6: string | null;
  /** own AS; undefined = cluster default */
  asn?: number;
  /** set on route reflectors (mesh off) */
  routeReflectorClusterId?: string;
  vtep?: { ip: string; mac: string };
}

export interface PoolRecord {
  cidr: string;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  disabled: boolean;
  blockSize: number;
}

export interface PeerRecord {
  address: string;
  asn: number;
  /** node name for a node-specific peer; undefined for a global peer */
  node?: string;
  /** prefixes this peer may send us; undefined = only prefixes inside the pools */
  acceptPrefixes?: string[];
}

export interface BlockRecord {
  cidr: string;
  /** node the block is affine to, or null */
  affinity: string | null;
  /** addresses allocated from the block, per node they were allocated for */
  inUse?: Record<string, number>;
}

/** An address this node uses from a block affine to another node (advertised as a host route). */
export interface BorrowedAddress {
  ip: string;
  node: string;
}

/** A workload endpoint the libnetwork plugin recorded. */
export interface EndpointRecord {
  node: string;
  id: string;
  ips: string[];
  /** host side of the workload veth */
  hostIf: string;
}

export interface ClusterConfig {
  defaultAsn: number;
  nodeMesh: boolean;
}

export interface ClusterSnapshot {
  config: ClusterConfig;
  nodes: NodeRecord[];
  pools: PoolRecord[];
  peers: PeerRecord[];
  blocks: BlockRecord[];
  borrowed: BorrowedAddress[];
  endpoints: EndpointRecord[];
}

/** A BGP session the agent wants. */
export interface DesiredPeer {
  address: string;
  asn: number;
  family: Family;
  type: PeerType;
  /** we are a route reflector and this peer is our client */
  routeReflectorClient: boolean;
  /** undefined = only prefixes inside the pools */
  acceptPrefixes?: string[];
}

/** A prefix the agent announces, with its next hop. */
export interface Announcement {
  prefix: string;
  nextHop: string;
}

/** A best route the BGP speaker selected (after import policy). */
export interface LearnedRoute {
  prefix: string;
  nextHop: string;
}

export const DEFAULT_ASN = 64511;
