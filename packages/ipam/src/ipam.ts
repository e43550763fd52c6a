// The IPAM client: one object per process (it caches pools and blocks), methods per operation.
import type { Block, Datastore, IpPool } from '@tsnet/datastore';
import { assignIp, autoAssign, type AssignIpRequest, type Assignment, type AutoAssignRequest } from './assign.js';
import type { BorrowedAddress } from './blocks.js';
import { check, type CheckOptions, type CheckReport } from './check.js';
import { IpamCore, type IpamOptions } from './core.js';
import type { Family } from './ip.js';
import { addPool, ensureDefaultPools, listPools, removePool, type PoolSpec } from './pools.js';
import { blocksForNode, borrowedBy, handleAddresses, lookup, poolFor, usage, type IpLookup, type PoolUsage } from './query.js';
import { releaseByHandle, releaseIp, releaseNode, type NodeRelease, type ReleasedAddress } from './release.js';

export class Ipam {
  private readonly core: IpamCore;

  constructor(
    readonly ds: Datastore,
    opts: IpamOptions = {},
  ) {
    this.core = new IpamCore(ds, opts);
  }

  /** Write attempts that lost a race so far (optimistic-concurrency retries). */
  get retries(): number {
    return this.core.retries;
  }

  // ---- pools

  /** Validates and adds a pool; TsnetError on a bad CIDR/option or an overlap. */
  addPool(spec: PoolSpec): Promise<IpPool> {
    return addPool(this.ds, spec);
  }

  /** Removes a pool; refused (TsnetError with the count) while addresses from it are in use. */
  removePool(cidr: string): Promise<void> {
    return removePool(this.ds, cidr);
  }

  listPools(filter: { family?: Family } = {}): Promise<IpPool[]> {
    return listPools(this.ds, filter);
  }

  /** Creates the default IPv4 and IPv6 pools if no pool exists (race-free across nodes). */
  ensureDefaultPools(): Promise<{ created: boolean; pools: IpPool[] }> {
    return ensureDefaultPools(this.ds);
  }

  /** The pool holding an address or prefix. */
  poolFor(ipOrCidr: string): Promise<IpPool | undefined> {
    return poolFor(this.core, ipOrCidr);
  }

  // ---- allocation

  /** One address for a node: own blocks, then a newly claimed block, then borrowed. */
  autoAssign(req: AutoAssignRequest): Promise<Assignment> {
    return this.core.serialize(req.node, () => autoAssign(this.core, req));
  }

  /** A specific address; TsnetError 'ip-in-use' when taken, 'ip-not-in-pool' when in no pool. */
  assignIp(req: AssignIpRequest): Promise<Assignment> {
    return this.core.serialize(req.node, () => assignIp(this.core, req));
  }

  /** Frees one address; undefined when it was not assigned. */
  releaseIp(ip: string): Promise<ReleasedAddress | undefined> {
    return releaseIp(this.core, ip);
  }

  /** Frees all addresses of a handle. */
  releaseByHandle(handle: string): Promise<ReleasedAddress[]> {
    return releaseByHandle(this.core, handle);
  }

  /** Frees a node's addresses and blocks (tsctl node remove --remove-endpoints). */
  releaseNode(node: string): Promise<NodeRelease> {
    return releaseNode(this.core, node);
  }

  // ---- queries

  /** Per pool: size, allocated, free, and its blocks (tsctl ipam show [--show-blocks]). */
  usage(): Promise<PoolUsage[]> {
    return usage(this.core);
  }

  /** Who holds an address (tsctl ipam show --ip). */
  lookup(ip: string): Promise<IpLookup> {
    return lookup(this.core, ip);
  }

  /** Blocks affine to a node. */
  blocksForNode(node: string): Promise<Block[]> {
    return blocksForNode(this.core, node);
  }

  /** Addresses a node borrowed from other nodes' blocks. */
  borrowedBy(node: string): Promise<BorrowedAddress[]> {
    return borrowedBy(this.core, node);
  }

  /** Addresses held by a handle. */
  handleAddresses(handle: string): Promise<string[]> {
    return handleAddresses(this.core, handle);
  }

  /** Leaks and orphan blocks; with `release: true` frees them. */
  check(opts: CheckOptions = {}): Promise<CheckReport> {
    return check(this.core, opts);
  }
}
