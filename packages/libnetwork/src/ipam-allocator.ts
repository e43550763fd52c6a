/** AddressAllocator over @tsnet/ipam (Calico-style blocks in the datastore). */
import type { Ipam } from '@tsnet/ipam';
import type { AddressAllocator, PoolView } from './ports.js';
import { familyOf } from './addr.js';

/** Pools change rarely; a Join reads them for the MTU, so they are cached this long. */
const POOL_CACHE_MS = 2000;

export function ipamAllocator(ipam: Ipam): AddressAllocator {
  let cache: { at: number; pools: Promise<PoolView[]> } | undefined;
  const readPools = async (): Promise<PoolView[]> =>
    (await ipam.listPools()).map(
      (p) =>
        ({
          cidr: p.cidr,
          family: familyOf(p.cidr.split('/')[0]!) === 6 ? 6 : 4,
          disabled: p.disabled,
          encapsulation: p.vxlanMode !== 'never' ? 'vxlan' : p.ipipMode !== 'never' ? 'ipip' : 'none',
        }) as PoolView,
    );
  return {
    listPools(opts = {}): Promise<PoolView[]> {
      if (!opts.cached || !cache || Date.now() - cache.at > POOL_CACHE_MS) {
        const pools = readPools();
        cache = { at: Date.now(), pools };
        pools.catch(() => (cache = undefined));
      }
      return cache.pools;
    },
    async assign(req): Promise<string> {
      const extra = { owner: 'libnetwork' };
      const a = req.address
        ? await ipam.assignIp({ ip: req.address, handle: req.handle, node: req.node, extra })
        : await ipam.autoAssign({
            handle: req.handle,
            node: req.node,
            family: req.family,
            extra,
            ...(req.pool ? { pools: [req.pool] } : {}),
          });
      return a.ip;
    },
    async release(address: string): Promise<boolean> {
      return (await ipam.releaseIp(address)) !== undefined;
    },
  };
}
