// `tsctl ipam check`: addresses whose owner is gone (their node no longer exists, or a caller
// says the owner is gone), blocks affine to a missing node, and handles pointing at nothing.
// With `release`, frees them.
import type { AllocationAttributes, AllocationHandle, BadValue, Block, Stored } from '@tsnet/datastore';
import { allocationsOf } from './blocks.js';
import type { IpamCore } from './core.js';
import { releaseInBlock } from './release.js';

export interface LeakedAddress {
  ip: string;
  block: string;
  handle: string;
  node: string;
  containerId?: string;
  reason: string;
}

export interface CheckReport {
  /** Addresses whose owner no longer exists. */
  leakedAddresses: LeakedAddress[];
  /** Blocks affine to a node that no longer exists. */
  orphanBlocks: { cidr: string; affinity: string; used: number }[];
  /** Handles whose blocks do not hold any of their addresses. */
  staleHandles: string[];
  /** Values under the prefix that did not validate (reported, untouched). */
  bad: BadValue[];
  /** Set with `release`: what was freed. */
  released?: { addresses: number; blocks: number; handles: number };
}

export interface CheckOptions {
  release?: boolean;
  /**
   * Extra liveness test of an allocation's owner (e.g. the Docker plugin asking whether the
   * endpoint still exists). Allocations of missing nodes are leaks regardless.
   */
  ownerExists?: (attrs: AllocationAttributes) => boolean | Promise<boolean>;
}

export async function check(core: IpamCore, opts: CheckOptions = {}): Promise<CheckReport> {
  const ds = core.ds;
  // One consistent read: a handle written after a separate block read would look stale.
  const snap = await ds.snapshot(['node', 'block', 'handle']);
  const nodes = new Set<string>();
  const blocks = new Map<string, Block>();
  const handles: Stored<AllocationHandle>[] = [];
  for (const r of snap.records) {
    if (r.kind === 'node') nodes.add(r.value.name);
    else if (r.kind === 'block') blocks.set(r.value.cidr, r.value);
    else if (r.kind === 'handle') handles.push(r);
  }
  const report: CheckReport = { leakedAddresses: [], orphanBlocks: [], staleHandles: [], bad: snap.bad };
  const handleUse = new Map<string, number>();
  for (const b of blocks.values()) {
    if (b.affinity !== null && !nodes.has(b.affinity)) {
      report.orphanBlocks.push({ cidr: b.cidr, affinity: b.affinity, used: allocationsOf(b).length });
    }
    for (const a of allocationsOf(b)) {
      handleUse.set(a.attrs.handle, (handleUse.get(a.attrs.handle) ?? 0) + 1);
      let reason: string | undefined;
      if (!nodes.has(a.attrs.node)) reason = `node ${a.attrs.node} no longer exists`;
      else if (opts.ownerExists && !(await opts.ownerExists(a.attrs))) reason = `owner of handle ${a.attrs.handle} no longer exists`;
      if (!reason) continue;
      const leak: LeakedAddress = { ip: a.ip, block: b.cidr, handle: a.attrs.handle, node: a.attrs.node, reason };
      if (a.attrs.containerId !== undefined) leak.containerId = a.attrs.containerId;
      report.leakedAddresses.push(leak);
    }
  }
  const stale = handles.filter((h) => !handleUse.has(h.value.id));
  report.staleHandles = stale.map((h) => h.value.id);
  if (!opts.release) return report;

  const released = { addresses: 0, blocks: 0, handles: 0 };
  const leakedByBlock = new Map<string, Set<string>>();
  for (const l of report.leakedAddresses) {
    const set = leakedByBlock.get(l.block) ?? new Set<string>();
    set.add(`${l.ip}\u0000${l.handle}`);
    leakedByBlock.set(l.block, set);
  }
  const orphanOf = new Map(report.orphanBlocks.map((o) => [o.cidr, o.affinity]));
  for (const cidr of new Set([...leakedByBlock.keys(), ...orphanOf.keys()])) {
    const leaked = leakedByBlock.get(cidr) ?? new Set<string>();
    const affinity = orphanOf.get(cidr);
    // Re-checked inside the transaction loop: only the same address with the same handle goes.
    const freed = await releaseInBlock(core, cidr, (a) => leaked.has(`${a.ip}\u0000${a.attrs.handle}`), affinity ? { dropAffinity: affinity } : {});
    released.addresses += freed.length;
    if (affinity) released.blocks++;
  }
  for (const h of stale) {
    // Only if untouched since the snapshot: a concurrent allocation may have just used it.
    if (await ds.delete('handle', h.value.id, { expectModRevision: h.modRevision })) released.handles++;
  }
  report.released = released;
  return report;
}
