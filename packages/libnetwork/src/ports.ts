/**
 * What the plugin needs from the rest of tsnet, as small interfaces: the datastore records, the
 * address allocator and the host's workload links. `adapters.ts` binds them to @tsnet/datastore,
 * @tsnet/ipam and @tsnet/dataplane; tests may bind them to the same real packages.
 */

/** A tsnet network, shared by every host: one record however many dockerds know it. */
export interface NetworkRecord {
  /** cluster-wide id: the docker network id on the host that created it */
  id: string;
  /** docker network name, learned after creation (dockerd does not send it to drivers) */
  name?: string;
  /** the tsnet pool of `--subnet`, or null when addresses come from any enabled pool */
  ipv4Pool: string | null;
  ipv6Pool: string | null;
  ipv6: boolean;
  /** node name → that node's dockerd network id */
  dockerIds: Record<string, string>;
}

/** One container interface on one node. */
export interface EndpointRecord {
  /** docker endpoint id */
  id: string;
  /** tsnet network id (NetworkRecord.id) */
  network: string;
  node: string;
  ipv4: string | null;
  ipv6: string | null;
  /** host side of the veth pair (`ts` + endpoint id prefix) */
  hostInterface: string;
  mac: string | null;
  /** true between Join and Leave: the host veth exists, routes and proxy ARP are wanted */
  active: boolean;
}

export interface PluginRecords {
  listNetworks(): Promise<NetworkRecord[]>;
  getNetwork(id: string): Promise<NetworkRecord | undefined>;
  putNetwork(rec: NetworkRecord): Promise<void>;
  /** Atomic read-modify-write (several hosts change one network); `fn` returns the new value. */
  updateNetwork(
    id: string,
    fn: (cur: NetworkRecord | undefined) => NetworkRecord | undefined,
  ): Promise<NetworkRecord | undefined>;
  deleteNetwork(id: string): Promise<void>;
  listEndpoints(): Promise<EndpointRecord[]>;
  getEndpoint(id: string): Promise<EndpointRecord | undefined>;
  putEndpoint(rec: EndpointRecord): Promise<void>;
  deleteEndpoint(id: string): Promise<void>;
}

export type Encapsulation = 'none' | 'ipip' | 'vxlan';

export interface PoolView {
  cidr: string;
  family: 4 | 6;
  disabled: boolean;
  encapsulation: Encapsulation;
}

export interface AddressAllocator {
  /** All pools; `cached` allows an answer up to a few seconds old (hot paths that only need the MTU). */
  listPools(opts?: { cached?: boolean }): Promise<PoolView[]>;
  /**
   * Assigns one address to `handle` on `node`: `address` exactly when given, else any free one
   * from `pool` (or from any enabled pool of the family when pool is null). Rejects with a
   * one-line reason when the address is taken or nothing is free.
   */
  assign(req: {
    family: 4 | 6;
    pool: string | null;
    address?: string;
    handle: string;
    node: string;
  }): Promise<string>;
  /** Frees one address; true when it was assigned. */
  release(address: string): Promise<boolean>;
}

export interface WorkloadLinks {
  /**
   * Creates the veth pair `hostName` (up, proxy ARP) / `peerName` with `mtu`; the peer gets MAC
   * `peerMac`, and each of `addresses` a permanent neighbour entry for it on the host side, so
   * the host never has to ARP for the workload (a probe sent before the container is ready would
   * otherwise hold traffic for the 1 s ARP retransmit time).
   */
  create(
    hostName: string,
    peerName: string,
    mtu: number,
    peer: { mac: string; addresses: string[] },
  ): Promise<void>;
  /** Deletes the pair by its host side; no error when it is gone. */
  delete(hostName: string): Promise<void>;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };
