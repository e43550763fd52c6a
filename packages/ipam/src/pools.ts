// IP pools: pure validation of a pool spec against the existing pools, and the etcd operations
// that add, remove and default them. Every change to the set of pools goes through one guard key
// (compare-and-set on its mod revision), so overlap checks and default creation are race-free.
import IPCIDR from 'ip-cidr';
import { TsnetError, encodeValue, type Datastore, type EncapMode, type IpPool, type Stored } from '@tsnet/datastore';
import { cidrsOverlap, formatCidr, parseCidr, parseIpOrCidr, cidrContainsCidr, type Family } from './ip.js';

/** What `tsctl pool add` gives; absent fields take defaults. */
export interface PoolSpec {
  cidr: string;
  /** Default 26 (IPv4) / 122 (IPv6). */
  blockSize?: number;
  ipipMode?: EncapMode;
  vxlanMode?: EncapMode;
  natOutgoing?: boolean;
  disabled?: boolean;
}

export const DEFAULT_IPV4_POOL = '192.168.0.0/16';
export const DEFAULT_IPV6_POOL = 'fd80:24e2:f998:72d6::/64';
export const DEFAULT_BLOCK_SIZE = { 4: 26, 6: 122 } as const;
const BLOCK_SIZE_RANGE = { 4: [20, 32], 6: [116, 128] } as const;
const MODES: readonly string[] = ['always', 'cross-subnet', 'never'];

/** Validates a spec and fills defaults; throws TsnetError saying what is wrong and what to do. */
export function normalizePool(spec: PoolSpec): IpPool {
  const text = spec.cidr.trim();
  const loose = parseCidr(text);
  if (!loose || !IPCIDR.isValidCIDR(text)) {
    throw new TsnetError(`bad pool CIDR "${spec.cidr}": give a network like 192.168.0.0/16 or fd00:1::/64`, 'pool-invalid');
  }
  const cidr = formatCidr(loose);
  if (!parseCidr(text, true)) {
    throw new TsnetError(`pool CIDR ${text} has host bits set: did you mean ${cidr}?`, 'pool-invalid');
  }
  const family = loose.family;
  const blockSize = spec.blockSize ?? DEFAULT_BLOCK_SIZE[family];
  const [min, max] = BLOCK_SIZE_RANGE[family];
  if (!Number.isInteger(blockSize) || blockSize < min || blockSize > max) {
    throw new TsnetError(`block size ${blockSize} is outside ${min}..${max} for IPv${family} pools: choose --block-size in that range`, 'pool-invalid');
  }
  if (blockSize < loose.prefix) {
    throw new TsnetError(`block size /${blockSize} is larger than pool ${cidr}: use a block size of at least /${loose.prefix}`, 'pool-invalid');
  }
  const ipipMode = spec.ipipMode ?? 'never';
  const vxlanMode = spec.vxlanMode ?? 'never';
  for (const [flag, mode] of [['ipip', ipipMode], ['vxlan', vxlanMode]] as const) {
    if (!MODES.includes(mode)) throw new TsnetError(`bad --${flag}-mode ${mode}: use always or cross-subnet`, 'pool-invalid');
  }
  if (family === 6 && ipipMode !== 'never') {
    throw new TsnetError(`IPIP carries IPv4 only: remove --ipip for IPv6 pool ${cidr}`, 'pool-invalid');
  }
  if (ipipMode !== 'never' && vxlanMode !== 'never') {
    throw new TsnetError(`--ipip and --vxlan exclude each other: choose one for pool ${cidr}`, 'pool-invalid');
  }
  return { cidr, blockSize, ipipMode, vxlanMode, natOutgoing: spec.natOutgoing ?? false, disabled: spec.disabled ?? false };
}

/** Throws when `pool` overlaps one of `existing`. */
export function checkNoOverlap(pool: IpPool, existing: readonly IpPool[]): void {
  const p = parseCidr(pool.cidr)!;
  for (const e of existing) {
    const q = parseCidr(e.cidr);
    if (q && cidrsOverlap(p, q)) {
      const what = e.cidr === pool.cidr ? 'already exists' : `overlaps existing pool ${e.cidr}`;
      throw new TsnetError(`pool ${pool.cidr} ${what}: remove that pool first or choose a disjoint CIDR`, 'pool-overlap');
    }
  }
}

/** The pool holding an address or prefix (pure). */
export function poolContaining<T extends { cidr: string }>(pools: readonly T[], ipOrCidr: string): T | undefined {
  const x = parseIpOrCidr(ipOrCidr);
  if (!x) return undefined;
  return pools.find((p) => {
    const c = parseCidr(p.cidr);
    return c !== undefined && cidrContainsCidr(c, x);
  });
}

export function poolFamily(pool: { cidr: string }): Family {
  return parseCidr(pool.cidr)!.family;
}

/** Pool options as `tsctl pool show` prints them, e.g. 'ipip,nat-outgoing'. */
export function poolOptionsText(pool: IpPool): string {
  const opts: string[] = [];
  if (pool.ipipMode !== 'never') opts.push(pool.ipipMode === 'always' ? 'ipip' : 'ipip-cross-subnet');
  if (pool.vxlanMode !== 'never') opts.push(pool.vxlanMode === 'always' ? 'vxlan' : 'vxlan-cross-subnet');
  if (pool.natOutgoing) opts.push('nat-outgoing');
  if (pool.disabled) opts.push('disabled');
  return opts.join(',');
}

const GUARD_ATTEMPTS = 20;

/** Reads the guard revision and then all pools (a later guard change invalidates the read). */
export async function readPools(ds: Datastore): Promise<{ guard: number; pools: Stored<IpPool>[] }> {
  const guard = await ds.rawModRevision(ds.keys.poolsGuard);
  const list = await ds.list('pool');
  return { guard, pools: list.items };
}

/** Runs `plan` on the current pools and commits its writes only if no pool change intervened. */
async function changePools<T>(
  ds: Datastore,
  what: string,
  plan: (pools: Stored<IpPool>[]) => Promise<{ conditions: { key: string; modRevision: number }[]; puts: IpPool[]; deletes: string[]; result: T }>,
): Promise<T> {
  for (let i = 0; i < GUARD_ATTEMPTS; i++) {
    const { guard, pools } = await readPools(ds);
    const p = await plan(pools);
    if (p.puts.length === 0 && p.deletes.length === 0) return p.result;
    const r = await ds.rawTxn({
      conditions: [{ key: ds.keys.poolsGuard, modRevision: guard }, ...p.conditions],
      puts: [{ key: ds.keys.poolsGuard, value: String(Date.now()) }, ...p.puts.map((x) => ({ key: ds.keys.key('pool', x.cidr), value: encodeValue('pool', x) }))],
      deletes: p.deletes,
    });
    if (r.succeeded) return p.result;
  }
  throw new TsnetError(`${what}: pools kept changing concurrently; retry`, 'conflict');
}

/** Adds a pool after validation and the overlap check. */
export async function addPool(ds: Datastore, spec: PoolSpec): Promise<IpPool> {
  const pool = normalizePool(spec);
  return changePools(ds, `adding pool ${pool.cidr}`, async (pools) => {
    checkNoOverlap(pool, pools.map((p) => p.value));
    return { conditions: [], puts: [pool], deletes: [], result: pool };
  });
}

/**
 * Removes a pool with its (empty) blocks and affinities; refused while addresses are allocated
 * from it. Concurrent block claims and allocations make the removal retry.
 */
export async function removePool(ds: Datastore, cidrText: string): Promise<void> {
  const parsed = parseCidr(cidrText.trim());
  const cidr = parsed ? formatCidr(parsed) : cidrText;
  await changePools(ds, `removing pool ${cidr}`, async (pools) => {
    const pool = pools.find((p) => p.value.cidr === cidr);
    if (!pool) throw new TsnetError(`no pool ${cidrText}: see tsctl pool show`, 'pool-not-found');
    const claimsKey = ds.keys.poolClaims(cidr);
    const claims = await ds.rawModRevision(claimsKey);
    const blocks = (await ds.list('block')).items.filter((b) => b.value.pool === cidr);
    const inUse = blocks.reduce((n, b) => n + b.value.allocations.filter((a) => a !== null).length, 0);
    if (inUse > 0) {
      throw new TsnetError(
        `pool ${cidr} still has ${inUse} address${inUse === 1 ? '' : 'es'} in use: release them first ` +
          '(remove the containers, tsctl ipam release IP, or tsctl node remove --name NODE --remove-endpoints)',
        'pool-in-use',
      );
    }
    return {
      conditions: [
        { key: pool.key, modRevision: pool.modRevision },
        { key: claimsKey, modRevision: claims },
        ...blocks.map((b) => ({ key: b.key, modRevision: b.modRevision })),
      ],
      puts: [],
      deletes: [
        pool.key,
        claimsKey,
        ...blocks.map((b) => b.key),
        ...blocks.flatMap((b) => (b.value.affinity ? [ds.keys.key('affinity', [b.value.affinity, b.value.cidr])] : [])),
      ],
      result: undefined,
    };
  });
}

/** Pools sorted IPv4 first, then by address. */
export async function listPools(ds: Datastore, filter: { family?: Family } = {}): Promise<IpPool[]> {
  const pools = (await ds.list('pool')).items.map((p) => p.value);
  return pools
    .filter((p) => filter.family === undefined || poolFamily(p) === filter.family)
    .sort((a, b) => {
      const x = parseCidr(a.cidr)!;
      const y = parseCidr(b.cidr)!;
      return x.family - y.family || (x.network < y.network ? -1 : x.network > y.network ? 1 : x.prefix - y.prefix);
    });
}

/**
 * Creates 192.168.0.0/16 and fd80:24e2:f998:72d6::/64 when no pool exists. Safe when several
 * nodes start at once: exactly one creates them, the others see them.
 */
export async function ensureDefaultPools(ds: Datastore): Promise<{ created: boolean; pools: IpPool[] }> {
  const created = await changePools(ds, 'creating the default pools', async (pools) => {
    if (pools.length > 0) return { conditions: [], puts: [], deletes: [], result: false };
    return { conditions: [], puts: [normalizePool({ cidr: DEFAULT_IPV4_POOL }), normalizePool({ cidr: DEFAULT_IPV6_POOL })], deletes: [], result: true };
  });
  return { created, pools: await listPools(ds) };
}
