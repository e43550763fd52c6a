/**
 * The IPAM calls the agent makes: default pools at registration, a VTEP address per node.
 * @tsnet/ipam is loaded only when one is needed: an agent joining a cluster that already has
 * pools and no VXLAN pool never loads it (less start CPU and memory per agent).
 */
import type { Datastore } from '@tsnet/datastore';
import type { Ipam } from '@tsnet/ipam';
import { vtepMacFor } from './net.js';

const ipamFor = async (ds: Datastore): Promise<Ipam> => new (await import('@tsnet/ipam')).Ipam(ds);

export async function ensureDefaultPools(ds: Datastore): Promise<void> {
  // pools exist: nothing to create (when none do, IPAM checks again inside its transaction)
  if ((await ds.list('pool')).items.length > 0) return;
  await (await ipamFor(ds)).ensureDefaultPools();
}

export const vtepHandle = (node: string): string => `vxlan-tunnel-addr-${node}`;

/**
 * The node's VXLAN tunnel address: one address from a VXLAN pool under the handle
 * `vxlan-tunnel-addr-<node>` (reused when it already holds one), and a MAC derived from the name.
 */
export async function ensureVtepAddress(ds: Datastore, node: string, poolCidr: string): Promise<{ ip: string; mac: string }> {
  const ipam = await ipamFor(ds);
  const handle = vtepHandle(node);
  const held = (await ipam.handleAddresses(handle)).find((a) => !a.includes(':'));
  const ip = held ?? (await ipam.autoAssign({ handle, node, family: 4, pools: [poolCidr] })).ip;
  return { ip: ip.split('/')[0]!, mac: vtepMacFor(node) };
}
