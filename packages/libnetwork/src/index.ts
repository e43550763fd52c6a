// @tsnet/libnetwork: the Docker libnetwork remote NetworkDriver + IpamDriver (plugin name `tsnet`).
export {
  startPluginServer,
  workloadLinks,
  workloadVeths,
  dockerSocketFromEnv,
  DEFAULT_DOCKER_SOCKET,
  DEFAULT_PLUGIN_DIR,
  PLUGIN_SOCKET_NAME,
  type PluginServerOptions,
  type PluginServer,
} from './plugin.js';
export {
  computeIsolationRules,
  isolationInputFrom,
  networkChainName,
  parseNetworkChains,
  ISOLATION_CHAIN,
  ISOLATION_HOOK,
  NETWORK_CHAIN_PREFIX,
  type IsolationInput,
  type IsolationNetwork,
  type IsolationRules,
} from './isolation.js';
export { applyIsolation, removeIsolation, IsolationApplier, chainsLeftBy } from './isolation-apply.js';
export {
  planNetworkSync,
  DockerApi,
  DockerNetworkSync,
  type LocalDockerNetwork,
  type SyncAction,
} from './docker-sync.js';
export {
  DatastoreRecords,
  toDockerEndpoint,
  fromDockerEndpoint,
  toDockerNetwork,
  fromDockerNetwork,
  type StoredEndpoint,
} from './datastore-records.js';
export {
  NetworkDriver,
  MTU_BY_ENCAPSULATION,
  hostInterfaceName,
  tempInterfaceName,
} from './network-driver.js';
export { IpamDriver, HANDLE_PREFIX, LOCAL_ADDRESS_SPACE, GLOBAL_ADDRESS_SPACE } from './ipam-driver.js';
export { listenPlugin, routeTable } from './server.js';
export { PluginError } from './errors.js';
export * from './protocol.js';
export type {
  AddressAllocator,
  PoolView,
  Encapsulation,
  EndpointRecord,
  NetworkRecord,
  PluginRecords,
  WorkloadLinks,
  Logger,
} from './ports.js';
export { ipamAllocator } from './ipam-allocator.js';
export { ChildProcessRunner } from './runner.js';
