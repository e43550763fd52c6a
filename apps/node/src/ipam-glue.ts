/** The IPAM calls the agent makes: default pools at registration, a VTEP address per node. */
import type { Datastore } from '@tsnet/datastore';
import { Ipam } from '@tsnet/ipam';
import { vtepMacFor } from './net.js';

export async function ensureDefaultPools(ds: Datastore): Promise<void> {
  await new Ipam(ds).ensureDefaultPools();
}

export const vtepHandle = (node: string): string => `vxlan-tunnel-addr-${node}`;

/**
 * The node's VXLAN tunnel address: one address from a VXLAN pool under the handle
 * `vxlan-tunnel-addr-<node>` (reused when it already holds one), and a MAC derived from the name.
 */
export async function ensureVtepAddress(ds: Datastore, node: string, poolCidr: string): Promise<{ ip: string; mac: string }> {
  const ipam = new Ipam(ds);
  const handle = vtepHandle(node);
  const held = (await ipam.handleAddresses(handle)).find((a) => !a.includes(':'));
  const ip = held ?? (await ipam.autoAssign({ handle, node, family: 4, pools: [poolCidr] })).ip;
  return { ip: ip.split('/')[0]!, mac: vtepMacFor(node) };
}
