/**
 * Creates workload endpoints the way dockerd does, by calling the tsnet plugin's libnetwork
 * remote API on its unix socket (used when the lab runs without Docker).
 */
import { unixHttp } from '@tsnet/unix-http';
import { randomBytes } from 'node:crypto';

const CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';

export async function pluginCall<T>(socketPath: string, method: string, body: unknown, timeoutMs = 10_000): Promise<T> {
  const { text } = await unixHttp({ socketPath, method: 'POST', path: `/${method}`, body, contentType: CONTENT_TYPE, timeoutMs, what: 'plugin' });
  const reply = JSON.parse(text) as T & { Err?: string; Error?: string };
  const err = reply.Err || reply.Error;
  if (err) throw new Error(`${method}: ${err}`);
  return reply;
}

export const newDockerId = (): string => randomBytes(32).toString('hex');

export interface LabNetwork {
  networkId: string;
  poolId: string;
  gateway: string;
}

/** RequestPool + gateway + CreateNetwork on one host, as `docker network create --subnet` does. */
export async function createNetwork(socketPath: string, subnet: string, networkId: string): Promise<LabNetwork> {
  const pool = await pluginCall<{ PoolID: string; Pool: string }>(socketPath, 'IpamDriver.RequestPool', {
    AddressSpace: '',
    Pool: subnet,
    SubPool: '',
    Options: {},
    V6: false,
  });
  const gw = await pluginCall<{ Address: string }>(socketPath, 'IpamDriver.RequestAddress', {
    PoolID: pool.PoolID,
    Address: '',
    Options: { RequestAddressType: 'com.docker.network.gateway' },
  });
  await pluginCall(socketPath, 'NetworkDriver.CreateNetwork', {
    NetworkID: networkId,
    Options: { 'com.docker.network.generic': {} },
    IPv4Data: [{ AddressSpace: '', Pool: pool.Pool, Gateway: gw.Address }],
    IPv6Data: [],
  });
  return { networkId, poolId: pool.PoolID, gateway: gw.Address };
}

export interface JoinedEndpoint {
  endpointId: string;
  /** address with prefix length as the IPAM driver returned it */
  address: string;
  /** the veth end dockerd would move into the container */
  srcName: string;
  gateway: string;
}

/** RequestAddress + CreateEndpoint + Join, as `docker run --net` does. */
export async function createEndpoint(socketPath: string, net: LabNetwork): Promise<JoinedEndpoint> {
  const endpointId = newDockerId();
  const addr = await pluginCall<{ Address: string }>(socketPath, 'IpamDriver.RequestAddress', {
    PoolID: net.poolId,
    Address: '',
    Options: {},
  });
  await pluginCall(socketPath, 'NetworkDriver.CreateEndpoint', {
    NetworkID: net.networkId,
    EndpointID: endpointId,
    Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: '' },
    Options: {},
  });
  const join = await pluginCall<{ InterfaceName: { SrcName: string }; Gateway: string }>(
    socketPath,
    'NetworkDriver.Join',
    { NetworkID: net.networkId, EndpointID: endpointId, SandboxKey: '', Options: {} },
  );
  return { endpointId, address: addr.Address, srcName: join.InterfaceName.SrcName, gateway: join.Gateway };
}
