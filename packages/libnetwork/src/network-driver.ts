/**
 * NetworkDriver: networks and endpoints kept as datastore records (so a plugin, agent or dockerd
 * restart loses nothing), veth pairs created at Join and removed at Leave. The node agent turns
 * active endpoint records into the `/32 dev <veth>` route and proxy ARP.
 */
import {
  GENERIC_OPTIONS_KEY,
  NETWORK_ID_OPTION,
  RouteType,
  WORKLOAD_GATEWAY_V4,
  WORKLOAD_GATEWAY_V6,
  type CreateEndpointRequest,
  type CreateNetworkRequest,
  type EndpointRequest,
  type IpamData,
  type JoinRequest,
  type JoinResponse,
} from './protocol.js';
import { createHash } from 'node:crypto';
import { workloadIfNames } from '@tsnet/dataplane';
import { canonicalCidr, cidrContains, stripPrefix } from './addr.js';
import { PluginError } from './errors.js';
import type {
  AddressAllocator,
  EndpointRecord,
  Encapsulation,
  Logger,
  NetworkRecord,
  PluginRecords,
  WorkloadLinks,
} from './ports.js';

/** Interface MTU per pool encapsulation (underlay 1500 minus the tunnel header). */
export const MTU_BY_ENCAPSULATION: Record<Encapsulation, number> = { none: 1500, ipip: 1480, vxlan: 1450 };

/** Host side of an endpoint's veth: `ts` + the first 11 characters of the endpoint id. */
export const hostInterfaceName = (endpointId: string): string => workloadIfNames(endpointId).hostIfName;
/** Container side before dockerd moves it into the sandbox and renames it eth<N>. */
export const tempInterfaceName = (endpointId: string): string => workloadIfNames(endpointId).tempIfName;

export class NetworkDriver {
  /** docker network id on this node → tsnet network id */
  private readonly byDockerId = new Map<string, string>();
  /** endpoints of this node as this plugin last wrote them (only it writes them): saves a read per call */
  private readonly endpoints = new Map<string, EndpointRecord>();
  /** host interface → its deletion running after a Leave reply */
  private readonly deletions = new Map<string, Promise<void>>();

  constructor(
    private readonly records: PluginRecords,
    private readonly allocator: AddressAllocator,
    private readonly links: WorkloadLinks,
    private readonly nodeName: string,
    private readonly log: Logger,
  ) {}

  getCapabilities(): object {
    return { Scope: 'local', ConnectivityScope: 'global' };
  }

  async createNetwork(req: CreateNetworkRequest): Promise<object> {
    const dockerId = required(req.NetworkID, 'NetworkID');
    const generic = (req.Options?.[GENERIC_OPTIONS_KEY] ?? {}) as Record<string, unknown>;
    const clusterId =
      typeof generic[NETWORK_ID_OPTION] === 'string' ? (generic[NETWORK_ID_OPTION] as string) : dockerId;
    const v4 = firstPool(req.IPv4Data);
    const v6 = firstPool(req.IPv6Data);
    let conflict = undefined as string | undefined;
    await this.records.updateNetwork(clusterId, (existing) => {
      if (!existing && clusterId !== dockerId) {
        conflict = `tsnet network ${clusterId} no longer exists (deleted on another host): remove this network`;
        return undefined;
      }
      if (existing && clusterId !== dockerId && (existing.ipv4Pool !== v4 || existing.ipv6Pool !== v6)) {
        conflict = `network ${clusterId} uses subnet ${existing.ipv4Pool ?? 'any pool'}, not ${v4 ?? 'any pool'}: create it with the same --subnet`;
        return existing;
      }
      const rec: NetworkRecord = existing ?? {
        id: clusterId,
        ipv4Pool: v4,
        ipv6Pool: v6,
        ipv6: (req.IPv6Data ?? []).length > 0,
        dockerIds: {},
      };
      return { ...rec, dockerIds: { ...rec.dockerIds, [this.nodeName]: dockerId } };
    });
    if (conflict) throw new PluginError(conflict);
    this.byDockerId.set(dockerId, clusterId);
    this.log.info({ network: clusterId, dockerId, ipv4Pool: v4 }, 'network created');
    return {};
  }

  async deleteNetwork(req: { NetworkID: string }): Promise<object> {
    const dockerId = required(req.NetworkID, 'NetworkID');
    const rec = await this.findNetwork(dockerId);
    if (!rec) {
      this.byDockerId.delete(dockerId);
      return {};
    }
    // dockerd drops its copy whatever the driver answers, so a refusal would only leave the
    // record behind (and the network sync would bring the network back here): delete it, and say
    // which hosts still run containers on it (they keep address and isolation until removed).
    const elsewhere = (await this.records.listEndpoints()).filter(
      (e) => e.network === rec.id && e.node !== this.nodeName,
    );
    if (elsewhere.length > 0) {
      const nodes = [...new Set(elsewhere.map((e) => e.node))].sort();
      this.log.warn(
        { network: rec.id, containers: elsewhere.length, nodes },
        'network deleted while other hosts still run containers on it',
      );
    }
    this.byDockerId.delete(dockerId);
    // `docker network rm` on any host removes the tsnet network; the other hosts' network sync
    // then removes their copies.
    await this.records.deleteNetwork(rec.id);
    this.log.info({ network: rec.id, dockerId }, 'network deleted');
    return {};
  }

  allocateNetwork(): object {
    return { Options: {} };
  }

  freeNetwork(): object {
    return {};
  }

  async createEndpoint(req: CreateEndpointRequest): Promise<object> {
    const networkId = await this.networkIdFor(req.NetworkID);
    const id = required(req.EndpointID, 'EndpointID');
    const iface = req.Interface ?? {};
    const ipv4 = iface.Address ? stripPrefix(iface.Address) : null;
    const ipv6 = iface.AddressIPv6 ? stripPrefix(iface.AddressIPv6) : null;
    if (!ipv4 && !ipv6)
      throw new PluginError(
        `endpoint ${short(id)} has no address: use --ipam-driver tsnet for tsnet networks`,
      );
    const rec: EndpointRecord = {
      id,
      network: networkId,
      node: this.nodeName,
      ipv4,
      ipv6,
      hostInterface: hostInterfaceName(id),
      mac: iface.MacAddress || null,
      // a repeated CreateEndpoint keeps a Join already done (known from this process's writes)
      active: this.endpoints.get(id)?.active ?? false,
    };
    await this.saveEndpoint(rec);
    // dockerd supplied the addresses (and MAC when set), so the reply must not repeat them.
    return {};
  }

  async deleteEndpoint(req: EndpointRequest): Promise<object> {
    const id = required(req.EndpointID, 'EndpointID');
    const rec = await this.loadEndpoint(id);
    this.endpoints.delete(id);
    // after a Leave the pair is already gone (or going, in the background)
    const linkGone = rec !== undefined && !rec.active;
    await Promise.all([
      linkGone ? undefined : this.links.delete(rec?.hostInterface ?? hostInterfaceName(id)),
      rec ? this.records.deleteEndpoint(id) : undefined,
    ]);
    return {};
  }

  async endpointOperInfo(req: EndpointRequest): Promise<object> {
    const rec = await this.requireEndpoint(req.EndpointID);
    return {
      Value: {
        hostInterface: rec.hostInterface,
        ipv4: rec.ipv4 ?? '',
        ipv6: rec.ipv6 ?? '',
        active: String(rec.active),
      },
    };
  }

  async join(req: JoinRequest): Promise<JoinResponse> {
    // the endpoint names its network: no second lookup on the hot path
    const rec = await this.requireEndpoint(req.EndpointID);
    const peer = tempInterfaceName(rec.id);
    const mtu = await this.mtuFor(rec);
    // the record (the agent's cue for route and proxy ARP) is written while the veth is made
    await Promise.all([this.saveEndpoint({ ...rec, active: true }), this.createLinks(rec, peer, mtu)]);
    const reply: JoinResponse = {
      InterfaceName: { SrcName: peer, DstPrefix: 'eth' },
      Gateway: rec.ipv4 ? WORKLOAD_GATEWAY_V4 : '',
      StaticRoutes: rec.ipv4
        ? [{ Destination: `${WORKLOAD_GATEWAY_V4}/32`, RouteType: RouteType.Connected }]
        : [],
      DisableGatewayService: true,
    };
    if (rec.ipv6) reply.GatewayIPv6 = WORKLOAD_GATEWAY_V6;
    return reply;
  }

  async leave(req: EndpointRequest): Promise<object> {
    const rec = await this.requireEndpoint(req.EndpointID);
    await this.saveEndpoint({ ...rec, active: false });
    // dockerd has already taken the container side out of the sandbox; the kernel takes tens of
    // milliseconds to delete a veth, so that happens after the reply (a restart sweeps leftovers)
    const name = rec.hostInterface;
    const deletion = this.links
      .delete(name)
      .catch((err: unknown) =>
        this.log.warn(
          { endpoint: rec.id, err: (err as Error).message },
          'removing the veth after Leave failed',
        ),
      )
      .finally(() => {
        if (this.deletions.get(name) === deletion) this.deletions.delete(name);
      });
    this.deletions.set(name, deletion);
    return {};
  }

  /** Resolves when background veth deletions are done. */
  async settled(): Promise<void> {
    await Promise.all([...this.deletions.values()]);
  }

  private async createLinks(rec: EndpointRecord, peerName: string, mtu: number): Promise<void> {
    const hostName = rec.hostInterface;
    const peer = {
      mac: rec.mac ?? workloadMac(rec.id),
      addresses: [rec.ipv4, rec.ipv6].filter((a): a is string => a !== null),
    };
    await this.deletions.get(hostName);
    try {
      await this.links.create(hostName, peerName, mtu, peer);
    } catch (err) {
      // a retried Join finds the pair of the first attempt: start clean once
      this.log.debug({ endpoint: rec.id, err: (err as Error).message }, 'veth create failed, recreating');
      await this.links.delete(hostName);
      await this.links.create(hostName, peerName, mtu, peer);
    }
  }

  discover(): object {
    return {};
  }

  externalConnectivity(): object {
    return {};
  }

  /** The tsnet network behind this node's docker network id. */
  async findNetwork(dockerId: string): Promise<NetworkRecord | undefined> {
    const cached = this.byDockerId.get(dockerId);
    if (cached) {
      const rec = await this.records.getNetwork(cached);
      if (rec) return rec;
      this.byDockerId.delete(dockerId);
    }
    const all = await this.records.listNetworks();
    const rec = all.find((n) => n.id === dockerId || n.dockerIds[this.nodeName] === dockerId);
    if (rec) this.byDockerId.set(dockerId, rec.id);
    return rec;
  }

  /**
   * The tsnet network id for an endpoint, from memory when this process has seen the network (a
   * network deleted on another host keeps serving here until dockerd drops it; its endpoints stay
   * isolated together), else from the datastore.
   */
  private async networkIdFor(dockerId: string): Promise<string> {
    return this.byDockerId.get(dockerId) ?? (await this.requireNetwork(dockerId)).id;
  }

  private async requireNetwork(dockerId: string): Promise<NetworkRecord> {
    const rec = await this.findNetwork(required(dockerId, 'NetworkID'));
    if (!rec)
      throw new PluginError(
        `network ${short(dockerId)} is not a tsnet network (unknown to the datastore): recreate it with --driver tsnet`,
      );
    return rec;
  }

  private async loadEndpoint(id: string): Promise<EndpointRecord | undefined> {
    const cached = this.endpoints.get(id);
    if (cached) return cached;
    const rec = await this.records.getEndpoint(id);
    if (rec) this.endpoints.set(id, rec);
    return rec;
  }

  private async saveEndpoint(rec: EndpointRecord): Promise<void> {
    await this.records.putEndpoint(rec);
    this.endpoints.set(rec.id, rec);
  }

  private async requireEndpoint(id: string): Promise<EndpointRecord> {
    const rec = await this.loadEndpoint(required(id, 'EndpointID'));
    if (!rec)
      throw new PluginError(`endpoint ${short(id)} is unknown to tsnet: remove and recreate the container`);
    return rec;
  }

  private async mtuFor(rec: EndpointRecord): Promise<number> {
    const ip = rec.ipv4 ?? rec.ipv6;
    const pools = await this.allocator.listPools({ cached: true });
    const pool = pools.find((p) => ip !== null && cidrContains(p.cidr, ip));
    return MTU_BY_ENCAPSULATION[pool?.encapsulation ?? 'none'];
  }
}

/**
 * The container side's MAC when dockerd gave none: locally administered unicast (0e:…) from the
 * endpoint id, so it is known before the container exists (for the host's static neighbour entry).
 */
export function workloadMac(endpointId: string): string {
  const hex = /^[0-9a-f]{10}/i.test(endpointId)
    ? endpointId.slice(0, 10).toLowerCase()
    : createHash('sha256').update(endpointId).digest('hex').slice(0, 10);
  return ['0e', ...(hex.match(/../g) ?? [])].join(':');
}

function firstPool(data: IpamData[] | null | undefined): string | null {
  const pool = data?.[0]?.Pool;
  if (!pool || pool === '0.0.0.0/0' || pool === '::/0') return null;
  return canonicalCidr(pool) ?? pool;
}

function required(value: string | undefined, field: string): string {
  if (typeof value !== 'string' || value === '') throw new PluginError(`request is missing ${field}`);
  return value;
}

const short = (id: string): string => (id ?? '').slice(0, 12);
