// Shared state of one IPAM client: cached pools and blocks (validated by mod revision at write
// time, so a stale cache costs a retry, never a wrong write) and the one transaction shape every
// block change uses: block + the handles it touches (+ affinity and pool for a claim).
import {
  TsnetError,
  encodeValue,
  type AllocationHandle,
  type Block,
  type Datastore,
  type IpPool,
  type RawTxn,
  type Stored,
} from '@tsnet/datastore';
import { poolContaining } from './pools.js';
import { blockOf, formatCidr, formatIp, parseCidr, parseIp } from './ip.js';

export interface IpamOptions {
  /** Optimistic-concurrency attempts per operation before a ConflictError (default 40). */
  maxAttempts?: number;
  /** How long the pool list is cached (default 2000 ms; writes still compare revisions). */
  poolCacheMs?: number;
}

/** A change of one block with the handle counts it moves, committed as one transaction. */
export interface BlockChange {
  /** The block as read; undefined = it must not exist yet (a claim). */
  before: Stored<Block> | undefined;
  /** The new block; undefined = delete it. */
  after: Block | undefined;
  /** Per handle: its record as read (undefined = absent) and the change of its count here. */
  handles: { id: string; before: Stored<AllocationHandle> | undefined; delta: number }[];
  /** Claim: also create the affinity of `node`, and require `pool` unchanged. */
  claim?: { pool: Stored<IpPool>; node: string };
  /** Also delete this node's affinity to the block. */
  dropAffinityOf?: string;
  /**
   * Whether a block as read now shows this change applied: asked when the transaction failed
   * after a retry without answer (an earlier attempt may have been applied).
   */
  landed?: (current: Block) => boolean;
}

export class IpamCore {
  readonly maxAttempts: number;
  private readonly poolCacheMs: number;
  private poolCache: { at: number; pools: Stored<IpPool>[] } | undefined;
  /** Last known state of blocks this client touched. */
  readonly blocks = new Map<string, Stored<Block>>();
  /** Per node: CIDRs of its affine blocks, as last read. */
  readonly affinities = new Map<string, string[]>();
  /** Attempts that lost a race (for the benchmark). */
  retries = 0;
  private readonly nodeLocks = new Map<string, Promise<unknown>>();

  constructor(
    readonly ds: Datastore,
    opts: IpamOptions = {},
  ) {
    this.maxAttempts = opts.maxAttempts ?? 40;
    this.poolCacheMs = opts.poolCacheMs ?? 2000;
  }

  /**
   * Runs `fn` after earlier calls for the same node in this client finished: allocations of one
   * node compete for the same block and ordinal, so in-process queuing beats losing races (and
   * keeps parallel first requests from claiming a block each).
   */
  async serialize<T>(node: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.nodeLocks.get(node) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.nodeLocks.set(node, tail);
    try {
      return await run;
    } finally {
      if (this.nodeLocks.get(node) === tail) this.nodeLocks.delete(node);
    }
  }

  async pools(refresh = false): Promise<Stored<IpPool>[]> {
    if (!refresh && this.poolCache && Date.now() - this.poolCache.at < this.poolCacheMs) return this.poolCache.pools;
    const pools = (await this.ds.list('pool')).items;
    this.poolCache = { at: Date.now(), pools };
    return pools;
  }

  /** Pool and block CIDR of an address; throws when no pool holds it. */
  async locate(ipText: string): Promise<{ ip: string; pool: Stored<IpPool>; block: string }> {
    const ip = parseIp(ipText.trim());
    if (!ip) throw new TsnetError(`bad IP address ${ipText}: give an IPv4 or IPv6 address`, 'usage');
    const canonical = formatIp(ip.family, ip.value);
    let pool = poolContaining((await this.pools()).map((p) => ({ cidr: p.value.cidr, p })), canonical)?.p;
    pool ??= poolContaining((await this.pools(true)).map((p) => ({ cidr: p.value.cidr, p })), canonical)?.p;
    if (!pool) throw new TsnetError(`IP ${canonical} is not in any pool: see tsctl pool show`, 'ip-not-in-pool');
    return { ip: canonical, pool, block: formatCidr(blockOf(ip, pool.value.blockSize)) };
  }

  /** A block, from cache unless `fresh`; undefined when it does not exist. */
  async block(cidr: string, fresh = false): Promise<Stored<Block> | undefined> {
    if (!fresh) {
      const c = this.blocks.get(cidr);
      if (c) return c;
    }
    const b = await this.ds.get('block', cidr);
    if (b) this.blocks.set(cidr, b);
    else this.blocks.delete(cidr);
    return b;
  }

  /** CIDRs of the blocks affine to `node`. */
  async affineBlocks(node: string, fresh = false): Promise<string[]> {
    if (!fresh) {
      const c = this.affinities.get(node);
      if (c) return c;
    }
    const list = (await this.ds.list('affinity', [node])).items.map((a) => a.value.cidr);
    this.affinities.set(node, list);
    return list;
  }

  async handle(id: string): Promise<Stored<AllocationHandle> | undefined> {
    return this.ds.get('handle', id);
  }

  /** Commits a block change; false when a concurrent writer won (caller re-reads and retries). */
  async commit(c: BlockChange): Promise<boolean> {
    const ds = this.ds;
    const cidr = (c.after ?? c.before!.value).cidr;
    const blockKey = ds.keys.key('block', cidr);
    const t: RawTxn = { conditions: [{ key: blockKey, modRevision: c.before?.modRevision ?? 0 }], puts: [], deletes: [] };
    if (c.after) t.puts.push({ key: blockKey, value: encodeValue('block', c.after) });
    else t.deletes.push(blockKey);
    for (const h of c.handles) {
      const key = ds.keys.key('handle', h.id);
      t.conditions.push({ key, modRevision: h.before?.modRevision ?? 0 });
      const blocks = { ...h.before?.value.blocks };
      const n = (blocks[cidr] ?? 0) + h.delta;
      if (n > 0) blocks[cidr] = n;
      else delete blocks[cidr];
      if (Object.keys(blocks).length > 0) t.puts.push({ key, value: encodeValue('handle', { id: h.id, blocks }) });
      else if (h.before) t.deletes.push(key);
    }
    if (c.claim) {
      const affKey = ds.keys.key('affinity', [c.claim.node, cidr]);
      t.conditions.push({ key: affKey, modRevision: 0 }, { key: c.claim.pool.key, modRevision: c.claim.pool.modRevision });
      t.puts.push(
        { key: affKey, value: encodeValue('affinity', { node: c.claim.node, cidr }) },
        // Blind bump so a concurrent pool removal (which compares it) notices this claim.
        { key: ds.keys.poolClaims(c.claim.pool.value.cidr), value: cidr },
      );
    }
    if (c.dropAffinityOf) t.deletes.push(ds.keys.key('affinity', [c.dropAffinityOf, cidr]));
    const r = await ds.rawTxn(t);
    if (!r.succeeded) {
      this.blocks.delete(cidr);
      if (r.uncertain && c.landed) {
        const now = await this.block(cidr, true);
        if (now && c.landed(now.value)) return true;
      }
      this.retries++;
      return false;
    }
    if (c.after) this.blocks.set(cidr, { key: blockKey, id: [cidr], value: c.after, modRevision: r.revision, createRevision: c.before?.createRevision ?? r.revision });
    else this.blocks.delete(cidr);
    if (c.claim) {
      const list = this.affinities.get(c.claim.node);
      if (list && !list.includes(cidr)) list.push(cidr);
    }
    if (c.dropAffinityOf) this.affinities.delete(c.dropAffinityOf);
    return true;
  }
}

/** Pools an allocation may use: the requested ones (CIDR or a prefix inside one) or all enabled. */
export function selectPools(all: Stored<IpPool>[], family: 4 | 6, requested?: readonly string[]): Stored<IpPool>[] {
  const ofFamily = all.filter((p) => parseCidr(p.value.cidr)?.family === family);
  if (!requested || requested.length === 0) return ofFamily.filter((p) => !p.value.disabled);
  return requested.map((r) => {
    const pool = poolContaining(ofFamily.map((p) => ({ cidr: p.value.cidr, p })), r)?.p;
    if (!pool) throw new TsnetError(`${r} is not an IPv${family} tsnet pool: create it with tsctl pool add ${r}`, 'pool-not-found');
    if (pool.value.disabled) throw new TsnetError(`pool ${pool.value.cidr} is disabled: enable it or use another pool`, 'pool-disabled');
    return pool;
  });
}
