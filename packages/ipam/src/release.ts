// Releasing addresses: one address, all of a handle, or everything of a node (its allocations
// anywhere and its blocks). Each block change is one transaction with the handles it touches.
import { ConflictError, type AllocationAttributes, type AllocationHandle, type Block, type Stored } from '@tsnet/datastore';
import { allocationsOf, releaseOrdinals, usedCount, type BlockAllocation } from './blocks.js';
import type { IpamCore } from './core.js';

export interface ReleasedAddress {
  ip: string;
  handle: string;
  node: string;
  containerId?: string;
}

export interface NodeRelease {
  /** Addresses freed (allocated for the node, in any block). */
  addresses: number;
  /** Blocks the node was affine to that were freed or left without affinity. */
  blocks: number;
}

/**
 * Frees the addresses of `block` matching `pick`; optionally drops the block's affinity. An
 * empty block without affinity is deleted. Returns the freed allocations (after retries).
 */
export async function releaseInBlock(
  core: IpamCore,
  cidr: string,
  pick: (a: BlockAllocation) => boolean,
  opts: { dropAffinity?: string; knownHandles?: ReadonlyMap<string, Stored<AllocationHandle>> } = {},
): Promise<BlockAllocation[]> {
  for (let attempt = 0; attempt < core.maxAttempts; attempt++) {
    // First attempt trusts the cache (the write compares revisions); retries read afresh.
    const b = await core.block(cidr, attempt > 0);
    if (!b) return [];
    const freed = allocationsOf(b.value).filter(pick);
    const drop = opts.dropAffinity !== undefined && b.value.affinity === opts.dropAffinity;
    if (freed.length === 0 && !drop) {
      if (attempt === 0) continue; // the cache may be stale: confirm with a fresh read
      return [];
    }
    let next: Block | undefined = releaseOrdinals(b.value, freed.map((f) => f.ordinal));
    if (drop) next = { ...next, affinity: null };
    if (next.affinity === null && usedCount(next) === 0) next = undefined;
    const counts = new Map<string, number>();
    for (const f of freed) counts.set(f.attrs.handle, (counts.get(f.attrs.handle) ?? 0) + 1);
    const handles = await Promise.all(
      [...counts].map(async ([id, n]) => {
        const known = attempt === 0 ? opts.knownHandles?.get(id) : undefined;
        return { id, before: known ?? (await core.handle(id)), delta: -n };
      }),
    );
    const change = { before: b, after: next, handles, ...(drop ? { dropAffinityOf: opts.dropAffinity! } : {}) };
    if (await core.commit(change)) return freed;
  }
  throw new ConflictError(`releasing addresses in block ${cidr}`, core.maxAttempts);
}

function released(a: BlockAllocation): ReleasedAddress {
  const r: ReleasedAddress = { ip: a.ip, handle: a.attrs.handle, node: a.attrs.node };
  if (a.attrs.containerId !== undefined) r.containerId = a.attrs.containerId;
  return r;
}

/** Frees one address; undefined when it was not assigned. */
export async function releaseIp(core: IpamCore, ipText: string): Promise<ReleasedAddress | undefined> {
  let loc;
  try {
    loc = await core.locate(ipText);
  } catch (err) {
    if ((err as { code?: string }).code === 'ip-not-in-pool') return undefined;
    throw err;
  }
  const { ip, block } = loc;
  const freed = await releaseInBlock(core, block, (a) => a.ip === ip);
  return freed[0] && released(freed[0]);
}

/** Frees every address of a handle; returns them (empty when the handle is unknown). */
export async function releaseByHandle(core: IpamCore, handle: string): Promise<ReleasedAddress[]> {
  const h = await core.handle(handle);
  const out: ReleasedAddress[] = [];
  for (const [i, cidr] of Object.keys(h?.value.blocks ?? {}).entries()) {
    // The handle as read is current only for the first block written.
    const knownHandles = i === 0 ? new Map([[handle, h!]]) : undefined;
    out.push(...(await releaseInBlock(core, cidr, (a) => a.attrs.handle === handle, knownHandles ? { knownHandles } : {})).map(released));
  }
  if (h && out.length === 0) {
    // A handle pointing at nothing (left by a crash between writes): drop it.
    await core.ds.delete('handle', handle, { expectModRevision: h.modRevision });
  }
  return out;
}

/**
 * Frees everything of a node (`tsctl node remove --remove-endpoints`): its addresses in any
 * block, and its blocks (deleted when empty; otherwise left without affinity to drain).
 */
export async function releaseNode(core: IpamCore, node: string, pred: (a: AllocationAttributes) => boolean = (a) => a.node === node): Promise<NodeRelease> {
  const blocks: Stored<Block>[] = (await core.ds.list('block')).items;
  let addresses = 0;
  let affine = 0;
  for (const b of blocks) {
    const mine = b.value.affinity === node;
    if (!mine && !allocationsOf(b.value, pred).length) continue;
    core.blocks.set(b.value.cidr, b);
    addresses += (await releaseInBlock(core, b.value.cidr, (a) => pred(a.attrs), mine ? { dropAffinity: node } : {})).length;
    if (mine) affine++;
  }
  // Affinities whose block is gone (or never written) are garbage now.
  await core.ds.deleteAll('affinity', [node]);
  core.affinities.delete(node);
  return { addresses, blocks: affine };
}
