// @tsnet/ipam: IP pools and block-affinity address management on @tsnet/datastore.
export { Ipam } from './ipam.js';
export type { IpamOptions } from './core.js';
export type { AutoAssignRequest, AssignIpRequest, Assignment } from './assign.js';
export type { ReleasedAddress, NodeRelease } from './release.js';
export type { PoolUsage, BlockUsage, IpLookup } from './query.js';
export type { CheckReport, CheckOptions, LeakedAddress } from './check.js';
export {
  DEFAULT_IPV4_POOL,
  DEFAULT_IPV6_POOL,
  DEFAULT_BLOCK_SIZE,
  normalizePool,
  checkNoOverlap,
  poolContaining,
  poolFamily,
  poolOptionsText,
  type PoolSpec,
} from './pools.js';
export { borrowedAddresses, allocationsOf, usedCount, freeCount, type BorrowedAddress, type BlockAllocation } from './blocks.js';
export {
  parseIp,
  parseCidr,
  parseIpOrCidr,
  formatIp,
  formatCidr,
  canonicalIp,
  cidrContainsIp,
  cidrContainsCidr,
  cidrsOverlap,
  cidrSize,
  type Family,
  type ParsedIp,
  type ParsedCidr,
} from './ip.js';
