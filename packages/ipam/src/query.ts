// Read-only views: usage per pool and block (tsctl ipam show), lookup of one address, and what
// the node agent asks (its blocks, its borrowed addresses, the pool of an address).
import type { Block, IpPool } from '@tsnet/datastore';
import { allocationsOf, borrowedAddresses, ordinalInBlock, usedCount, type BorrowedAddress } from './blocks.js';
import type { IpamCore } from './core.js';
import { cidrSize, parseCidr } from './ip.js';
import { listPools, poolContaining } from './pools.js';

export interface BlockUsage {
  cidr: string;
  affinity: string | null;
  used: number;
  total: number;
}

export interface PoolUsage {
  pool: IpPool;
  /** Addresses in the pool (a float above 2^53, e.g. IPv6 /64). */
  size: number;
  allocated: number;
  free: number;
  /** Blocks carved from the pool, sorted by address (always filled; print with --show-blocks). */
  blocks: BlockUsage[];
}

export interface IpLookup {
  ip: string;
  inUse: boolean;
  /** Pool holding the address (undefined: in no pool). */
  pool?: string;
  /** Block holding it, if that block exists. */
  block?: string;
  /** Node the block is affine to. */
  blockAffinity?: string | null;
  handle?: string;
  node?: string;
  containerId?: string;
  extra?: Record<string, string>;
}

function byAddress(a: { cidr: string }, b: { cidr: string }): number {
  const x = parseCidr(a.cidr)!;
  const y = parseCidr(b.cidr)!;
  return x.family - y.family || (x.network < y.network ? -1 : x.network > y.network ? 1 : 0);
}

/** Pool and block usage from one consistent read. */
export async function usage(core: IpamCore): Promise<PoolUsage[]> {
  const pools = await listPools(core.ds);
  const blocks = (await core.ds.list('block')).items.map((b) => b.value);
  return pools.map((pool) => {
    const mine = blocks.filter((b) => b.pool === pool.cidr).sort(byAddress);
    const allocated = mine.reduce((n, b) => n + usedCount(b), 0);
    const size = Number(cidrSize(parseCidr(pool.cidr)!));
    return {
      pool,
      size,
      allocated,
      free: size - allocated,
      blocks: mine.map((b) => ({ cidr: b.cidr, affinity: b.affinity, used: usedCount(b), total: b.allocations.length })),
    };
  });
}

/** Whether an address is assigned, and to whom (tsctl ipam show --ip). */
export async function lookup(core: IpamCore, ipText: string): Promise<IpLookup> {
  let loc;
  try {
    loc = await core.locate(ipText);
  } catch (err) {
    if ((err as { code?: string }).code === 'ip-not-in-pool') return { ip: ipText.trim(), inUse: false };
    throw err;
  }
  const out: IpLookup = { ip: loc.ip, inUse: false, pool: loc.pool.value.cidr };
  const b = await core.block(loc.block, true);
  if (!b) return out;
  out.block = b.value.cidr;
  out.blockAffinity = b.value.affinity;
  const idx = b.value.allocations[ordinalInBlock(b.value, loc.ip)];
  if (idx === null || idx === undefined) return out;
  const a = b.value.attributes[idx]!;
  out.inUse = true;
  out.handle = a.handle;
  out.node = a.node;
  if (a.containerId !== undefined) out.containerId = a.containerId;
  if (a.extra !== undefined) out.extra = a.extra;
  return out;
}

/** Blocks affine to a node (its blackhole routes), sorted by address. */
export async function blocksForNode(core: IpamCore, node: string): Promise<Block[]> {
  const blocks = (await core.ds.list('block')).items.map((b) => b.value);
  return blocks.filter((b) => b.affinity === node).sort(byAddress);
}

/** Addresses a node allocated from other nodes' blocks (advertised as host routes). */
export async function borrowedBy(core: IpamCore, node: string): Promise<BorrowedAddress[]> {
  const blocks = (await core.ds.list('block')).items.map((b) => b.value);
  return borrowedAddresses(blocks, node);
}

/** The pool holding an address or prefix. */
export async function poolFor(core: IpamCore, ipOrCidr: string): Promise<IpPool | undefined> {
  return poolContaining(await listPools(core.ds), ipOrCidr);
}

/** Addresses currently held by a handle. */
export async function handleAddresses(core: IpamCore, handle: string): Promise<string[]> {
  const h = await core.handle(handle);
  const out: string[] = [];
  for (const cidr of Object.keys(h?.value.blocks ?? {})) {
    const b = await core.block(cidr, true);
    if (b) out.push(...allocationsOf(b.value, (a) => a.handle === handle).map((a) => a.ip));
  }
  return out;
}
