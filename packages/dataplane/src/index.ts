export * from './types.js';
export { parseCidr, canonicalCidr, contains, familyOf, ipToBig, bigToIp, type Cidr, type Family } from './cidr.js';
export {
  computeDesiredState,
  remoteRouteSpec,
  remoteRouteContextOf,
  type RemoteRouteContext,
  workloadMtu,
  vtepMacFor,
  NAT_POSTROUTING_CHAIN,
  NAT_OUTGOING_CHAIN,
} from './desired.js';
export {
  computePlan,
  planSize,
  routeLine,
  routeDeleteLine,
  routeIdentity,
  effectiveMetric,
  natRestore,
  WORKLOAD_IF_PREFIX,
  type Plan,
} from './diff.js';
export {
  parseRoutes,
  parseLinks,
  parseNeighs,
  parseFdb,
  parseNat,
  parseSysctls,
  type ActualState,
  type ActualRoute,
  type ActualLink,
  type ActualNeigh,
  type ActualFdb,
  type ActualNat,
} from './actual.js';
export {
  ExecaRunner,
  formatCommand,
  type CommandRunner,
  type CommandResult,
  type RunOptions,
  type ExecaRunnerOptions,
} from './runner.js';
export {
  Reconciler,
  parseBatchErrors,
  RT_PROTOS_FILE,
  type ReconcilerOptions,
  type ReconcileResult,
  type ReconcileError,
  type DataplaneLogger,
} from './reconciler.js';
export { ReconcileLoop, type ReconcileLoopOptions, type Reconcilable } from './loop.js';
export {
  createWorkloadVeth,
  deleteWorkloadVeth,
  configureNetnsWorkload,
  workloadIfNames,
  type CreateWorkloadVethOptions,
  type NetnsWorkloadOptions,
} from './veth.js';
export { fullPassKey, incrementalChanges, applyRouteChanges, type IncrementalChanges, type RouteChange } from './incremental.js';
