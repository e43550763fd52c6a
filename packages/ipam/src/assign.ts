// Allocation (Calico's block-affinity algorithm): a node takes addresses from its own blocks;
// when they are full it claims a free block (transaction: the block must not exist); when the
// pool has no free block it borrows one address from another node's block. Every write compares
// mod revisions and is retried a bounded number of times.
import { ConflictError, TsnetError, type AllocationAttributes, type AllocationHandle, type Block, type IpPool, type Stored } from '@tsnet/datastore';
import { allocateOrdinal, firstFree, freeCount, newBlock } from './blocks.js';
import { selectPools, type IpamCore } from './core.js';
import { cidrSize, formatCidr, ipAt, parseCidr, parseIp, ordinalOf, type Family } from './ip.js';

export interface AutoAssignRequest {
  /** Allocation handle (an endpoint id); release by handle frees all its addresses. */
  handle: string;
  /** Node the address is for (its blocks are used first). */
  node: string;
  /** Address family, default 4. */
  family?: Family;
  containerId?: string;
  extra?: Record<string, string>;
  /** Pools to use (pool CIDRs, or a prefix inside a pool); default: every enabled pool. */
  pools?: readonly string[];
}

export interface AssignIpRequest {
  /** The exact address wanted (e.g. Docker --ip). */
  ip: string;
  handle: string;
  node: string;
  containerId?: string;
  extra?: Record<string, string>;
}

export interface Assignment {
  ip: string;
  family: Family;
  /** Host prefix length (32 / 128): workloads get host routes. */
  prefixLength: number;
  pool: string;
  block: string;
  /** True when taken from a block affine to another node. */
  borrowed: boolean;
  handle: string;
  node: string;
}

type Attempt = Assignment | 'retry' | 'none';

function attrsOf(r: { handle: string; node: string; containerId?: string; extra?: Record<string, string> }): AllocationAttributes {
  const a: AllocationAttributes = { handle: r.handle, node: r.node };
  if (r.containerId !== undefined) a.containerId = r.containerId;
  if (r.extra !== undefined) a.extra = r.extra;
  return a;
}

/** Whether `ordinal` of a block is held with exactly these attributes (our write landed). */
function heldBy(ordinal: number, attrs: AllocationAttributes): (b: Block) => boolean {
  return (b) => {
    const i = b.allocations[ordinal];
    const a = i === null || i === undefined ? undefined : b.attributes[i];
    return a !== undefined && a.handle === attrs.handle && a.node === attrs.node && a.containerId === attrs.containerId;
  };
}

function checkNames(handle: string, node: string): void {
  if (!handle) throw new TsnetError('an allocation needs a handle (endpoint id)', 'usage');
  if (!node) throw new TsnetError('an allocation needs a node name', 'usage');
}

/** Takes one address for `req.node` (own block → new block → borrowed). */
export async function autoAssign(core: IpamCore, req: AutoAssignRequest): Promise<Assignment> {
  checkNames(req.handle, req.node);
  const family = req.family ?? 4;
  const attrs = attrsOf(req);
  // Handles are usually new: assume absent and read only after a failed write.
  let handle: Stored<AllocationHandle> | undefined;
  for (let attempt = 0; attempt < core.maxAttempts; attempt++) {
    if (attempt > 0) handle = await core.handle(req.handle);
    const pools = selectPools(await core.pools(attempt > 0), family, req.pools);
    if (pools.length === 0) {
      throw new TsnetError(`no enabled IPv${family} pool: add one with tsctl pool add CIDR`, 'no-pool');
    }
    let r = await fromOwnBlocks(core, pools, attrs, handle, false);
    // Cached blocks may look full after others released addresses: look again before claiming.
    if (r === 'none') r = await fromOwnBlocks(core, pools, attrs, handle, true);
    if (r === 'none') r = await claimBlock(core, pools, attrs, handle);
    if (r === 'none') r = await borrow(core, pools, attrs, handle);
    if (r === 'none') {
      throw new TsnetError(
        `no free IPv${family} address in pool${pools.length > 1 ? 's' : ''} ${pools.map((p) => p.value.cidr).join(', ')}: ` +
          'add a pool (tsctl pool add CIDR) or release addresses (tsctl ipam check --release)',
        'pool-exhausted',
      );
    }
    if (r !== 'retry') return r;
  }
  throw new ConflictError(`allocating an IPv${family} address for ${req.handle}`, core.maxAttempts);
}

function assignment(block: Stored<{ cidr: string; pool: string; affinity: string | null }>['value'], ordinal: number, attrs: AllocationAttributes): Assignment {
  const c = parseCidr(block.cidr)!;
  return {
    ip: ipAt(c, ordinal),
    family: c.family,
    prefixLength: c.family === 4 ? 32 : 128,
    pool: block.pool,
    block: block.cidr,
    borrowed: block.affinity !== attrs.node,
    handle: attrs.handle,
    node: attrs.node,
  };
}

async function fromOwnBlocks(core: IpamCore, pools: Stored<IpPool>[], attrs: AllocationAttributes, handle: Stored<AllocationHandle> | undefined, fresh: boolean): Promise<Attempt> {
  const poolCidrs = new Set(pools.map((p) => p.value.cidr));
  for (const cidr of await core.affineBlocks(attrs.node, fresh)) {
    const b = await core.block(cidr, fresh);
    if (!b || b.value.affinity !== attrs.node || !poolCidrs.has(b.value.pool)) continue;
    const ordinal = firstFree(b.value);
    if (ordinal < 0) continue;
    const ok = await core.commit({ before: b, after: allocateOrdinal(b.value, ordinal, attrs), handles: [{ id: attrs.handle, before: handle, delta: 1 }], landed: heldBy(ordinal, attrs) });
    return ok ? assignment(b.value, ordinal, attrs) : 'retry';
  }
  return 'none';
}

/** Block CIDRs of a pool that do not exist yet: the first few from the start (dense pools). */
function freeBlockCidrs(pool: IpPool, existing: ReadonlySet<string>, want: number): string[] {
  const p = parseCidr(pool.cidr)!;
  const step = cidrSize({ family: p.family, network: 0n, prefix: pool.blockSize });
  const count = cidrSize(p) / step;
  const out: string[] = [];
  for (let i = 0n; i < count && out.length < want; i++) {
    const cidr = formatCidr({ family: p.family, network: p.network + i * step, prefix: pool.blockSize });
    if (!existing.has(cidr)) out.push(cidr);
  }
  return out;
}

async function claimBlock(core: IpamCore, pools: Stored<IpPool>[], attrs: AllocationAttributes, handle: Stored<AllocationHandle> | undefined): Promise<Attempt> {
  const existing = await existingBlockCidrs(core);
  for (const pool of pools) {
    const free = freeBlockCidrs(pool.value, existing, 8);
    if (free.length === 0) continue;
    // A random pick among the first free blocks keeps hosts starting together from colliding.
    const cidr = free[Math.floor(Math.random() * free.length)]!;
    const block = allocateOrdinal(newBlock(cidr, pool.value.cidr, attrs.node), 0, attrs);
    const ok = await core.commit({ before: undefined, after: block, handles: [{ id: attrs.handle, before: handle, delta: 1 }], claim: { pool, node: attrs.node }, landed: heldBy(0, attrs) });
    return ok ? assignment(block, 0, attrs) : 'retry';
  }
  return 'none';
}

async function existingBlockCidrs(core: IpamCore): Promise<Set<string>> {
  const ds = core.ds;
  const prefix = ds.keys.kindPrefix('block');
  const keys = (await ds.call(() => ds.kv.range(prefix, { prefix: true, keysOnly: true }))).kvs.map((kv) => kv.key);
  const out = new Set<string>();
  for (const k of keys) {
    const parsed = ds.keys.parse(k);
    if (parsed?.kind === 'block') out.add(parsed.id[0]!);
  }
  return out;
}

async function borrow(core: IpamCore, pools: Stored<IpPool>[], attrs: AllocationAttributes, handle: Stored<AllocationHandle> | undefined): Promise<Attempt> {
  const poolCidrs = new Set(pools.map((p) => p.value.cidr));
  const candidates = (await core.ds.list('block')).items.filter((b) => poolCidrs.has(b.value.pool) && freeCount(b.value) > 0);
  if (candidates.length === 0) return 'none';
  const b = candidates[Math.floor(Math.random() * candidates.length)]!;
  core.blocks.set(b.value.cidr, b);
  const ordinal = firstFree(b.value);
  const ok = await core.commit({ before: b, after: allocateOrdinal(b.value, ordinal, attrs), handles: [{ id: attrs.handle, before: handle, delta: 1 }], landed: heldBy(ordinal, attrs) });
  return ok ? assignment(b.value, ordinal, attrs) : 'retry';
}

/** Takes one specific address; refuses one already in use (naming its handle and node). */
export async function assignIp(core: IpamCore, req: AssignIpRequest): Promise<Assignment> {
  checkNames(req.handle, req.node);
  const attrs = attrsOf(req);
  for (let attempt = 0; attempt < core.maxAttempts; attempt++) {
    const { ip, pool, block: cidr } = await core.locate(req.ip);
    if (pool.value.disabled) throw new TsnetError(`pool ${pool.value.cidr} is disabled: enable it or pick an address from another pool`, 'pool-disabled');
    const c = parseCidr(cidr)!;
    const ordinal = ordinalOf(c, parseIp(ip)!);
    const [b, handle] = await Promise.all([core.block(cidr, true), core.handle(req.handle)]);
    const handles = [{ id: req.handle, before: handle, delta: 1 }];
    if (!b) {
      // Nobody holds the block yet: claim it for this node (as Calico does).
      const block = allocateOrdinal(newBlock(cidr, pool.value.cidr, req.node), ordinal, attrs);
      if (await core.commit({ before: undefined, after: block, handles, claim: { pool, node: req.node }, landed: heldBy(ordinal, attrs) })) return assignment(block, ordinal, attrs);
      continue;
    }
    const used = b.value.allocations[ordinal];
    if (used !== null && used !== undefined) {
      const owner = b.value.attributes[used]!;
      throw new TsnetError(
        `IP ${ip} is already in use (handle ${owner.handle}, node ${owner.node}): pick another address or release it (tsctl ipam release ${ip})`,
        'ip-in-use',
      );
    }
    if (await core.commit({ before: b, after: allocateOrdinal(b.value, ordinal, attrs), handles, landed: heldBy(ordinal, attrs) })) return assignment(b.value, ordinal, attrs);
  }
  throw new ConflictError(`assigning ${req.ip}`, core.maxAttempts);
}
