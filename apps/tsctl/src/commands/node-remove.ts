/**
 * `tsctl node remove --name NAME [--remove-endpoints]`: forgets a node. Refused while its agent
 * heartbeats, and (without --remove-endpoints) while addresses are allocated for it; otherwise its
 * blocks lose their affinity (empty ones are deleted) and, with the flag, its addresses are freed.
 */
import { allocationsOf } from '@tsnet/ipam';
import { CliError } from '../errors.js';
import type { Context } from '../context.js';
import { HEARTBEAT_FRESH_MS } from './node-show.js';

export async function removeNode(ctx: Context, name: string, removeEndpoints: boolean): Promise<void> {
  const ds = await ctx.datastore();
  if (!(await ds.getNode(name))) throw new CliError(`node ${name} is not registered: see tsctl node show`);
  const beat = (await ds.listNodeStatus()).find((s) => s.node === name);
  const age = beat ? Date.now() - Date.parse(beat.heartbeat) : Infinity;
  if (age <= HEARTBEAT_FRESH_MS) {
    throw new CliError(`node ${name} is running (last heartbeat ${Math.round(age / 1000)} s ago): stop its agent first with tsctl node stop on that host`);
  }
  const blocks = (await ds.list('block')).items.map((b) => b.value);
  const inUse = blocks.reduce((n, b) => n + allocationsOf(b, (a) => a.node === name).length, 0);
  if (inUse > 0 && !removeEndpoints) {
    throw new CliError(
      `node ${name} still has ${inUse} address${inUse === 1 ? '' : 'es'} in use: remove its containers first, ` +
        'or pass --remove-endpoints to release them',
    );
  }
  const released = await (await ctx.ipam()).releaseNode(name);
  await ds.deleteNode(name);
  const parts = [
    ...(released.addresses > 0 ? [`released ${released.addresses} address${released.addresses === 1 ? '' : 'es'}`] : []),
    ...(released.blocks > 0 ? [`freed ${released.blocks} block${released.blocks === 1 ? '' : 's'}`] : []),
  ];
  ctx.out(`Removed node ${name}${parts.length ? ` (${parts.join(', ')})` : ''}`);
}
