// @tsnet/datastore: the typed tsnet model in etcd (layout in docs/datastore.md).
export { TsnetError, isTsnetError, BadValueError, EtcdUnreachableError, ConflictError, type BadValue } from './errors.js';
export {
  DEFAULT_ASN,
  DEFAULT_CLUSTER_CONFIG,
  ENCAP_MODES,
  type EncapMode,
  type ClusterConfig,
  type NodeRecord,
  type BgpPeer,
  type IpPool,
  type Block,
  type AllocationAttributes,
  type BlockAffinity,
  type AllocationHandle,
  type NodeStatus,
  type DockerNetwork,
  type DockerEndpoint,
} from './model.js';
export { Keys, KINDS, SCHEMA_VERSION, encodeValue, decodeValue, type Kind, type RecordId, type RecordTypes } from './keys.js';
export {
  DEFAULT_ENDPOINT,
  DEFAULT_PREFIX,
  DEFAULT_TIMEOUT_MS,
  parseEndpoints,
  datastoreOptionsFromEnv,
  loadTlsCredentials,
  KV_CLIENT_KINDS,
  type KvClientKind,
  type DatastoreOptions,
  type DatastoreFlags,
} from './options.js';
export { parsePrefix, type ParsedPrefix } from './prefix.js';
export { EtcdStore } from './store.js';
export { KvUnavailableError, GatewayMissingError, type KvClient, type KeyValue, type KvEvent, type KvWatch, type KvWatchHandlers, type RangeResult, type TxnCompare, type TxnRequest } from './kv.js';
export { kvClient, kvClientKind } from './kv-select.js';
export {
  Datastore,
  canonicalIp,
  canonicalPrefixes,
  isUnreachable,
  type Stored,
  type AnyStored,
  type ListResult,
  type TxnCondition,
  type TxnOp,
  type TxnResult,
  type RawTxn,
} from './client.js';
export { DatastoreWatch, type WatchEvent, type WatchHandlers, type WatchOptions, type WatchStatus, type Snapshot } from './watch.js';
