// Pure operations on block records (Calico's model): allocations[ordinal] indexes attributes.
// Every function returns a new block; the caller writes it with a compare on mod revision.
import type { AllocationAttributes, Block } from '@tsnet/datastore';
import { cidrSize, ipAt, parseCidr, parseIp, ordinalOf, cidrContainsIp } from './ip.js';

/** A new block affine to `node` with every ordinal free. */
export function newBlock(cidr: string, pool: string, affinity: string | null): Block {
  const size = Number(cidrSize(parseCidr(cidr)!));
  return { cidr, pool, affinity, allocations: Array<number | null>(size).fill(null), attributes: [] };
}

export function freeCount(block: Block): number {
  let n = 0;
  for (const a of block.allocations) if (a === null) n++;
  return n;
}

export function usedCount(block: Block): number {
  return block.allocations.length - freeCount(block);
}

/** Lowest free ordinal, or -1 when full. */
export function firstFree(block: Block): number {
  return block.allocations.indexOf(null);
}

function sameAttrs(a: AllocationAttributes, b: AllocationAttributes): boolean {
  return a.handle === b.handle && a.node === b.node && a.containerId === b.containerId && JSON.stringify(a.extra ?? {}) === JSON.stringify(b.extra ?? {});
}

/** Allocates `ordinal` with `attrs`; throws if it is taken (callers check first). */
export function allocateOrdinal(block: Block, ordinal: number, attrs: AllocationAttributes): Block {
  if (block.allocations[ordinal] !== null) throw new Error(`ordinal ${ordinal} of ${block.cidr} is taken`);
  const attributes = [...block.attributes];
  let idx = attributes.findIndex((a) => sameAttrs(a, attrs));
  if (idx < 0) {
    idx = attributes.length;
    attributes.push(attrs);
  }
  const allocations = [...block.allocations];
  allocations[ordinal] = idx;
  return { ...block, allocations, attributes };
}

/** Frees the given ordinals and drops attributes nobody references any more. */
export function releaseOrdinals(block: Block, ordinals: Iterable<number>): Block {
  const allocations = [...block.allocations];
  for (const o of ordinals) allocations[o] = null;
  return compact({ ...block, allocations });
}

function compact(block: Block): Block {
  const used = new Map<number, number>();
  const attributes: AllocationAttributes[] = [];
  const allocations = block.allocations.map((a) => {
    if (a === null) return null;
    let n = used.get(a);
    if (n === undefined) {
      n = attributes.length;
      used.set(a, n);
      attributes.push(block.attributes[a]!);
    }
    return n;
  });
  return { ...block, allocations, attributes };
}

/** One allocated address of a block. */
export interface BlockAllocation {
  ip: string;
  ordinal: number;
  attrs: AllocationAttributes;
}

/** Allocated addresses of a block (optionally only those matching `pred`). */
export function allocationsOf(block: Block, pred?: (a: AllocationAttributes) => boolean): BlockAllocation[] {
  const c = parseCidr(block.cidr)!;
  const out: BlockAllocation[] = [];
  block.allocations.forEach((a, ordinal) => {
    if (a === null) return;
    const attrs = block.attributes[a]!;
    if (!pred || pred(attrs)) out.push({ ip: ipAt(c, ordinal), ordinal, attrs });
  });
  return out;
}

/** Ordinal of an address in a block, or -1 when outside it. */
export function ordinalInBlock(block: Block, ip: string): number {
  const c = parseCidr(block.cidr)!;
  const p = parseIp(ip);
  return p && cidrContainsIp(c, p) ? ordinalOf(c, p) : -1;
}

/** An address a node allocated from a block affine to another node (advertised as a host route). */
export interface BorrowedAddress {
  ip: string;
  /** Block it was borrowed from. */
  block: string;
  /** Node the block is affine to (null: no affinity any more). */
  blockAffinity: string | null;
  handle: string;
  node: string;
}

/**
 * Addresses borrowed by `node` (or by anyone, when omitted) out of the given blocks: allocations
 * whose node differs from the block's affinity. Pure, for the node agent's watch state.
 */
export function borrowedAddresses(blocks: Iterable<Block>, node?: string): BorrowedAddress[] {
  const out: BorrowedAddress[] = [];
  for (const b of blocks) {
    for (const a of allocationsOf(b, (x) => x.node !== b.affinity && (node === undefined || x.node === node))) {
      out.push({ ip: a.ip, block: b.cidr, blockAffinity: b.affinity, handle: a.attrs.handle, node: a.attrs.node });
    }
  }
  return out;
}
