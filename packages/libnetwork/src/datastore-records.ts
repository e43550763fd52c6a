/**
 * PluginRecords over @tsnet/datastore: networks as `dockerNetwork`, endpoints as `dockerEndpoint`
 * records (the node agent reads the latter to program `/32` routes and proxy ARP).
 */
import type { Datastore, DockerEndpoint, DockerNetwork } from '@tsnet/datastore';
import { WORKLOAD_GATEWAY_V4, WORKLOAD_GATEWAY_V6 } from './protocol.js';
import { stripPrefix } from './addr.js';
import type { EndpointRecord, NetworkRecord, PluginRecords } from './ports.js';

/** Extra field on dockerEndpoint records: false between CreateEndpoint and Join and after Leave. */
export type StoredEndpoint = DockerEndpoint & { active?: boolean };

export function toDockerNetwork(rec: NetworkRecord): DockerNetwork {
  const out: DockerNetwork = {
    id: rec.id,
    gateway: WORKLOAD_GATEWAY_V4,
    options: { dockerIds: rec.dockerIds, ipv6: rec.ipv6, ...(rec.name ? { name: rec.name } : {}) },
  };
  if (rec.ipv4Pool) out.pool = out.subnet = rec.ipv4Pool;
  if (rec.ipv6Pool) out.ipv6Pool = out.ipv6Subnet = rec.ipv6Pool;
  if (rec.ipv6) out.ipv6Gateway = WORKLOAD_GATEWAY_V6;
  return out;
}

export function fromDockerNetwork(n: DockerNetwork): NetworkRecord {
  const o = n.options ?? {};
  const rec: NetworkRecord = {
    id: n.id,
    ipv4Pool: n.pool ?? null,
    ipv6Pool: n.ipv6Pool ?? null,
    ipv6: o.ipv6 === true,
    dockerIds:
      typeof o.dockerIds === 'object' && o.dockerIds !== null ? (o.dockerIds as Record<string, string>) : {},
  };
  if (typeof o.name === 'string') rec.name = o.name;
  return rec;
}

export function toDockerEndpoint(rec: EndpointRecord): StoredEndpoint {
  const out: StoredEndpoint = {
    id: rec.id,
    networkId: rec.network,
    hostVeth: rec.hostInterface,
    node: rec.node,
    active: rec.active,
  };
  if (rec.ipv4) out.ipv4 = `${rec.ipv4}/32`;
  if (rec.ipv6) out.ipv6 = `${rec.ipv6}/128`;
  if (rec.mac) out.mac = rec.mac;
  return out;
}

export function fromDockerEndpoint(e: StoredEndpoint): EndpointRecord {
  return {
    id: e.id,
    network: e.networkId,
    node: e.node,
    ipv4: e.ipv4 ? stripPrefix(e.ipv4) : null,
    ipv6: e.ipv6 ? stripPrefix(e.ipv6) : null,
    hostInterface: e.hostVeth,
    mac: e.mac ?? null,
    active: e.active !== false,
  };
}

export class DatastoreRecords implements PluginRecords {
  constructor(private readonly ds: Datastore) {}

  async listNetworks(): Promise<NetworkRecord[]> {
    return (await this.ds.list('dockerNetwork')).items.map((i) => fromDockerNetwork(i.value));
  }
  async getNetwork(id: string): Promise<NetworkRecord | undefined> {
    const s = await this.ds.get('dockerNetwork', id);
    return s ? fromDockerNetwork(s.value) : undefined;
  }
  async putNetwork(rec: NetworkRecord): Promise<void> {
    await this.ds.put('dockerNetwork', rec.id, toDockerNetwork(rec));
  }
  async updateNetwork(
    id: string,
    fn: (cur: NetworkRecord | undefined) => NetworkRecord | undefined,
  ): Promise<NetworkRecord | undefined> {
    const next = await this.ds.update('dockerNetwork', id, (cur) => {
      const rec = fn(cur ? fromDockerNetwork(cur) : undefined);
      return rec ? toDockerNetwork(rec) : undefined;
    });
    return next ? fromDockerNetwork(next) : undefined;
  }
  async deleteNetwork(id: string): Promise<void> {
    await this.ds.delete('dockerNetwork', id);
  }
  async listEndpoints(): Promise<EndpointRecord[]> {
    return (await this.ds.list('dockerEndpoint')).items.map((i) => fromDockerEndpoint(i.value));
  }
  async getEndpoint(id: string): Promise<EndpointRecord | undefined> {
    const s = await this.ds.get('dockerEndpoint', id);
    return s ? fromDockerEndpoint(s.value) : undefined;
  }
  async putEndpoint(rec: EndpointRecord): Promise<void> {
    await this.ds.put('dockerEndpoint', rec.id, toDockerEndpoint(rec));
  }
  async deleteEndpoint(id: string): Promise<void> {
    await this.ds.delete('dockerEndpoint', id);
  }
}
