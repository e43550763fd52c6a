/**
 * IpamDriver: dockerd's address requests mapped onto tsnet pools. A `--subnet` must be a tsnet
 * pool (its CIDR becomes the PoolID); without one the network draws from every enabled pool of
 * the family. The gateway dockerd insists on is the link-local 169.254.1.1 every workload uses,
 * so it never consumes a pool address and dockerd adds no docker_gwbridge.
 */
import { randomBytes } from 'node:crypto';
import {
  ANY_POOL_V4,
  ANY_POOL_V6,
  GATEWAY_REQUEST_TYPE,
  WORKLOAD_GATEWAY_V4,
  WORKLOAD_GATEWAY_V6,
  type ReleaseAddressRequest,
  type RequestAddressRequest,
  type RequestPoolRequest,
  type RequestPoolResponse,
} from './protocol.js';
import { canonicalCidr, cidrContains, familyOf, stripPrefix } from './addr.js';
import { PluginError, messageOf } from './errors.js';
import type { AddressAllocator, Logger, PoolView } from './ports.js';

export const LOCAL_ADDRESS_SPACE = 'tsnet-local';
export const GLOBAL_ADDRESS_SPACE = 'tsnet-global';

/** Handles of plugin-assigned addresses start with this (tsctl ipam check can find them). */
export const HANDLE_PREFIX = 'libnetwork.';

export class IpamDriver {
  constructor(
    private readonly allocator: AddressAllocator,
    private readonly nodeName: string,
    private readonly log: Logger,
  ) {}

  getCapabilities(): object {
    return { RequiresMACAddress: false, RequiresRequestReplay: false };
  }

  getDefaultAddressSpaces(): object {
    return { LocalDefaultAddressSpace: LOCAL_ADDRESS_SPACE, GlobalDefaultAddressSpace: GLOBAL_ADDRESS_SPACE };
  }

  async requestPool(req: RequestPoolRequest): Promise<RequestPoolResponse> {
    const family: 4 | 6 = req.V6 ? 6 : 4;
    if (req.SubPool) {
      throw new PluginError(
        `--ip-range ${req.SubPool} is not supported by tsnet: remove it (addresses come from the whole pool)`,
      );
    }
    const pools = (await this.allocator.listPools()).filter((p) => p.family === family);
    if (!req.Pool) {
      if (!pools.some((p) => !p.disabled)) {
        throw new PluginError(`no enabled IPv${family} tsnet pool: add one with \`tsctl pool add CIDR\``);
      }
      return family === 4
        ? { PoolID: ANY_POOL_V4, Pool: '0.0.0.0/0', Data: {} }
        : { PoolID: ANY_POOL_V6, Pool: '::/0', Data: {} };
    }
    const wanted = canonicalCidr(req.Pool);
    if (!wanted || familyOf(wanted) !== family)
      throw new PluginError(`subnet ${req.Pool} is not a valid IPv${family} CIDR`);
    const pool = pools.find((p) => canonicalCidr(p.cidr) === wanted);
    if (!pool) {
      const known = pools.map((p) => p.cidr).join(', ') || 'none';
      throw new PluginError(
        `subnet ${req.Pool} is not a tsnet pool (pools: ${known}): create it with \`tsctl pool add ${wanted}\` or pass an existing pool as --subnet`,
      );
    }
    if (pool.disabled)
      throw new PluginError(`tsnet pool ${pool.cidr} is disabled: enable it or choose another --subnet`);
    return { PoolID: wanted, Pool: wanted, Data: {} };
  }

  releasePool(): object {
    return {};
  }

  async requestAddress(
    req: RequestAddressRequest,
  ): Promise<{ Address: string; Data: Record<string, string> }> {
    const family = poolFamily(req.PoolID);
    const pool = isAnyPool(req.PoolID) ? null : req.PoolID;
    if (req.Options?.RequestAddressType === GATEWAY_REQUEST_TYPE) {
      return { Address: family === 4 ? `${WORKLOAD_GATEWAY_V4}/32` : `${WORKLOAD_GATEWAY_V6}/128`, Data: {} };
    }
    const wanted = req.Address ? stripPrefix(req.Address) : undefined;
    if (wanted !== undefined) {
      if (familyOf(wanted) !== family)
        throw new PluginError(`address ${wanted} is not an IPv${family} address`);
      if (pool && !cidrContains(pool, wanted))
        throw new PluginError(`address ${wanted} is outside tsnet pool ${pool}: pick an address inside it`);
      if (!pool) await this.requireInSomePool(wanted, family);
    }
    const handle = `${HANDLE_PREFIX}${this.nodeName}.${randomBytes(6).toString('hex')}`;
    let address: string;
    try {
      address = await this.allocator.assign({
        family,
        pool,
        handle,
        node: this.nodeName,
        ...(wanted ? { address: wanted } : {}),
      });
    } catch (err) {
      const where = pool ? `tsnet pool ${pool}` : `the enabled IPv${family} tsnet pools`;
      throw new PluginError(
        `cannot assign ${wanted ? `address ${wanted}` : 'an address'} from ${where}: ${messageOf(err)}`,
      );
    }
    this.log.debug({ address, pool, handle }, 'address assigned');
    return { Address: `${address}/${family === 4 ? 32 : 128}`, Data: {} };
  }

  async releaseAddress(req: ReleaseAddressRequest): Promise<object> {
    const address = stripPrefix(req.Address ?? '');
    if (address === WORKLOAD_GATEWAY_V4 || address === WORKLOAD_GATEWAY_V6) return {};
    if (familyOf(address) === 0)
      throw new PluginError(`ReleaseAddress: "${req.Address}" is not an IP address`);
    const released = await this.allocator.release(address);
    if (!released) this.log.debug({ address }, 'release of an address that was not assigned (repeat?)');
    return {};
  }

  private async requireInSomePool(ip: string, family: 4 | 6): Promise<PoolView> {
    const pools = await this.allocator.listPools();
    const pool = pools.find((p) => p.family === family && cidrContains(p.cidr, ip));
    if (!pool)
      throw new PluginError(`address ${ip} is in no tsnet pool: pick one inside a pool (tsctl pool show)`);
    return pool;
  }
}

function isAnyPool(poolId: string): boolean {
  return poolId === ANY_POOL_V4 || poolId === ANY_POOL_V6;
}

function poolFamily(poolId: string): 4 | 6 {
  if (poolId === ANY_POOL_V4) return 4;
  if (poolId === ANY_POOL_V6) return 6;
  const fam = familyOf((poolId ?? '').split('/')[0] ?? '');
  if (fam === 0)
    throw new PluginError(
      `unknown PoolID "${poolId}": it was not handed out by tsnet (recreate the network)`,
    );
  return fam;
}
