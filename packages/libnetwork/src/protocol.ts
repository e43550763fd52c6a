/**
 * The libnetwork remote plugin protocol as dockerd 20.10 speaks it (moby/libnetwork docs/remote.md
 * and docs/ipam.md): every call is an HTTP POST of a JSON body to `/<Interface>.<Method>` on the
 * plugin's unix socket, answered with a JSON object. Only wire shapes live here.
 */

export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';

/** The IPAM option dockerd sets when it asks for a network's gateway address. */
export const GATEWAY_REQUEST_TYPE = 'com.docker.network.gateway';
/** Driver option (`docker network create -o tsnet.network=ID`) naming the cluster-wide network. */
export const NETWORK_ID_OPTION = 'tsnet.network';
/** dockerd puts the `-o` options of `docker network create` under this key of CreateNetwork.Options. */
export const GENERIC_OPTIONS_KEY = 'com.docker.network.generic';

/** The gateway every workload sees: answered by proxy ARP on the host veth, never a real address. */
export const WORKLOAD_GATEWAY_V4 = '169.254.1.1';
export const WORKLOAD_GATEWAY_V6 = 'fe80::1';

/** Pool IDs handed to dockerd when it asked for no particular subnet (any enabled pool). */
export const ANY_POOL_V4 = 'tsnet-any-ipv4';
export const ANY_POOL_V6 = 'tsnet-any-ipv6';

/** libnetwork route types in Join replies. */
export const enum RouteType {
  /** via NextHop */
  NextHop = 0,
  /** directly connected to the interface (no next hop) */
  Connected = 1,
}

export interface IpamData {
  AddressSpace?: string;
  Pool: string;
  Gateway?: string;
  AuxAddresses?: Record<string, string>;
}

export interface CreateNetworkRequest {
  NetworkID: string;
  Options?: Record<string, unknown>;
  IPv4Data?: IpamData[] | null;
  IPv6Data?: IpamData[] | null;
}

export interface EndpointInterface {
  Address?: string;
  AddressIPv6?: string;
  MacAddress?: string;
}

export interface CreateEndpointRequest {
  NetworkID: string;
  EndpointID: string;
  Interface?: EndpointInterface | null;
  Options?: Record<string, unknown> | null;
}

export interface EndpointRequest {
  NetworkID: string;
  EndpointID: string;
}

export interface JoinRequest extends EndpointRequest {
  SandboxKey?: string;
  Options?: Record<string, unknown> | null;
}

export interface StaticRoute {
  Destination: string;
  RouteType: RouteType;
  NextHop?: string;
}

export interface JoinResponse {
  InterfaceName: { SrcName: string; DstPrefix: string };
  Gateway?: string;
  GatewayIPv6?: string;
  StaticRoutes?: StaticRoute[];
  DisableGatewayService?: boolean;
}

export interface RequestPoolRequest {
  AddressSpace?: string;
  Pool?: string;
  SubPool?: string;
  Options?: Record<string, string> | null;
  V6?: boolean;
}

export interface RequestPoolResponse {
  PoolID: string;
  Pool: string;
  Data: Record<string, string>;
}

export interface RequestAddressRequest {
  PoolID: string;
  Address?: string;
  Options?: Record<string, string> | null;
}

export interface ReleaseAddressRequest {
  PoolID: string;
  Address: string;
}

/**
 * The two driver interfaces read errors from different fields of a 200 reply: the NetworkDriver
 * client decodes `{"Err": …}`, the IPAM client `{"Error": …}` (ipams/remote/api.Response).
 */
export type DriverKind = 'NetworkDriver' | 'IpamDriver' | 'Plugin';

export function errorBody(kind: DriverKind, message: string): Record<string, string> {
  return kind === 'IpamDriver' ? { Error: message } : { Err: message };
}
