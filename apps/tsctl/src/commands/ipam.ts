/** `tsctl ipam show|release|check`: address usage, lookups, releases and leak checks. */
import type { Argv } from 'yargs';
import type { AllocationAttributes, Block, Datastore, DockerEndpoint } from '@tsnet/datastore';
import { allocationsOf, cidrSize, parseCidr, type CheckReport, type IpLookup, type PoolUsage } from '@tsnet/ipam';
import { CliError } from '../errors.js';
import { renderTable } from '../output.js';
import { parseIp } from '../validate.js';
import { str, type Args, type CommandGroup, type Run } from '../command.js';
import type { Context } from '../context.js';

/** `ipam show -o json`: one entry per pool; sizes are decimal strings (IPv6 pools exceed 2^53). */
export interface PoolUsageJson {
  cidr: string;
  size: string;
  inUse: number;
  free: string;
  blocks?: { cidr: string; node: string | null; size: string; inUse: number; free: string }[];
}

export const ipamCommand: CommandGroup = {
  tree: ['ipam show [--ip IP] [--show-blocks]', 'ipam release IP', 'ipam check [--release]'],
  register: (y: Argv, run: Run) =>
    y.command('ipam', 'IP address management (ipam show|release|check)', (c) =>
      c
        .command(
          'show',
          'Show address usage per pool (and block), or who holds one address',
          (s) =>
            s
              .option('ip', { type: 'string', describe: 'look up one address: in use (handle, node) or not assigned' })
              .option('show-blocks', { type: 'boolean', default: false, describe: 'also list the blocks of each pool' })
              .example('$0 ipam show --show-blocks', 'usage of every pool and block')
              .example('$0 ipam show --ip 192.168.0.5', 'IP 192.168.0.5 is in use / is not assigned'),
          run(showIpam),
        )
        .command(
          'release <ip>',
          'Release one address (e.g. leaked by a removed container)',
          (r) => r.positional('ip', { type: 'string', describe: 'the address' }).example('$0 ipam release 192.168.0.5', 'free 192.168.0.5'),
          run(async (ctx, args) => {
            const ip = parseIp(str(args.ip)!);
            const released = await (await ctx.ipam()).releaseIp(ip);
            if (!released) throw new CliError(`IP ${ip} is not assigned: nothing to release (see tsctl ipam show --ip ${ip})`);
            ctx.out(`Released IP ${ip} (handle ${released.handle}, node ${released.node})`);
          }),
        )
        .command(
          'check',
          'Find addresses whose node or Docker endpoint is gone, orphan blocks and stale handles',
          (k) =>
            k
              .option('release', { type: 'boolean', default: false, describe: 'release what the check finds' })
              .example('$0 ipam check', 'report leaks')
              .example('$0 ipam check --release', 'report and release them'),
          run(async (ctx, args) => {
            const ownerExists = await dockerEndpointOwner(await ctx.datastore());
            const report = await (await ctx.ipam()).check({ release: Boolean(args.release), ownerExists });
            if (ctx.json) return ctx.printJson(report);
            ctx.out(renderCheck(report));
          }),
        )
        .demandCommand(1, 'give a subcommand: ipam show|release|check'),
    ),
};

/**
 * `ipam check`'s owner test for the Docker plugin's addresses (handle `HANDLE_PREFIX…`, one address
 * per handle): alive while an active `dockerEndpoint` record holds the address. Every other
 * address is left to the node test. Blocks and endpoints are read on first use, i.e. after the
 * check's own snapshot, so a container that became active meanwhile is not taken for a leak; an
 * address made after that snapshot has an unknown handle here and counts as alive. A container
 * between its RequestAddress and Join (seconds at most) has no active record yet: check when no
 * container is starting.
 */
export async function dockerEndpointOwner(ds: Datastore): Promise<(attrs: AllocationAttributes) => Promise<boolean>> {
  // loaded here, not at the top: every other tsctl command starts without the plugin's modules
  const { HANDLE_PREFIX } = await import('@tsnet/libnetwork');
  let index: Promise<(handle: string) => boolean> | undefined;
  const read = async (): Promise<(handle: string) => boolean> => {
    const [blocks, endpoints] = await Promise.all([ds.list('block'), ds.list('dockerEndpoint')]);
    return dockerOwnerIndex(
      blocks.items.map((b) => b.value),
      endpoints.items.map((e) => e.value),
      HANDLE_PREFIX,
    );
  };
  return async (attrs) => {
    if (!attrs.handle.startsWith(HANDLE_PREFIX)) return true;
    index ??= read();
    return (await index)(attrs.handle);
  };
}

/**
 * Pure core of dockerEndpointOwner: for a plugin handle, whether an active endpoint (record
 * without `active: false`) holds one of its addresses; unknown handles count as alive.
 */
export function dockerOwnerIndex(
  blocks: readonly Block[],
  endpoints: readonly (DockerEndpoint & { active?: boolean })[],
  handlePrefix: string,
): (handle: string) => boolean {
  const bare = (a: string): string => a.split('/')[0]!.toLowerCase();
  const active = new Set<string>();
  for (const e of endpoints) {
    if (e.active === false) continue;
    for (const a of [e.ipv4, e.ipv6]) if (a) active.add(bare(a));
  }
  const ipsOf = new Map<string, string[]>();
  for (const b of blocks)
    for (const a of allocationsOf(b)) {
      if (!a.attrs.handle.startsWith(handlePrefix)) continue;
      ipsOf.set(a.attrs.handle, [...(ipsOf.get(a.attrs.handle) ?? []), bare(a.ip)]);
    }
  return (handle) => {
    const ips = ipsOf.get(handle);
    return ips === undefined || ips.some((ip) => active.has(ip));
  };
}

async function showIpam(ctx: Context, args: Args): Promise<void> {
  const ipam = await ctx.ipam();
  if (args.ip !== undefined) {
    const found = await ipam.lookup(parseIp(str(args.ip)!));
    return ctx.json ? ctx.printJson(found) : ctx.out(renderLookup(found));
  }
  const usage = usageJson(await ipam.usage(), Boolean(args.showBlocks));
  if (ctx.json) return ctx.printJson(usage);
  if (usage.length === 0) return ctx.out('No pools defined. Add one with: tsctl pool add CIDR');
  ctx.out(renderUsage(usage, Boolean(args.showBlocks)));
}

export function usageJson(usage: PoolUsage[], withBlocks: boolean): PoolUsageJson[] {
  return usage.map((u) => {
    const size = cidrSize(parseCidr(u.pool.cidr)!);
    const entry: PoolUsageJson = { cidr: u.pool.cidr, size: String(size), inUse: u.allocated, free: String(size - BigInt(u.allocated)) };
    if (withBlocks) {
      entry.blocks = u.blocks.map((b) => ({
        cidr: b.cidr,
        node: b.affinity,
        size: String(b.total),
        inUse: b.used,
        free: String(b.total - b.used),
      }));
    }
    return entry;
  });
}

/** "5 (8%)": a count and its share of the total, rounded (never 0% for a non-zero count of a small total). */
function share(count: bigint, total: bigint): string {
  if (total === 0n) return String(count);
  return `${count} (${(count * 100n + total / 2n) / total}%)`;
}

export function renderUsage(usage: PoolUsageJson[], withBlocks: boolean): string {
  const rows: string[][] = [];
  for (const p of usage) {
    const size = BigInt(p.size);
    rows.push(['IP Pool', p.cidr, ...(withBlocks ? [''] : []), p.size, share(BigInt(p.inUse), size), share(BigInt(p.free), size)]);
    for (const b of p.blocks ?? []) {
      const bsize = BigInt(b.size);
      rows.push(['Block', b.cidr, b.node ?? '(none)', b.size, share(BigInt(b.inUse), bsize), share(BigInt(b.free), bsize)]);
    }
  }
  const head = ['Grouping', 'CIDR', ...(withBlocks ? ['Node'] : []), 'IPs total', 'IPs in use', 'IPs free'];
  return renderTable(head, rows);
}

export function renderLookup(l: IpLookup): string {
  if (!l.inUse) return `IP ${l.ip} is not assigned${l.pool ? '' : ' (it is in no tsnet pool)'}`;
  const fields: [string, string | undefined][] = [
    ['Handle', l.handle],
    ['Node', l.node],
    ['Container', l.containerId],
    ['Block', `${l.block} (pool ${l.pool})`],
  ];
  const lines = [`IP ${l.ip} is in use`, ...fields.filter(([, v]) => v).map(([k, v]) => `  ${`${k}:`.padEnd(11)}${v}`)];
  return lines.join('\n');
}

export function renderCheck(r: CheckReport): string {
  const n = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;
  const lines: string[] = [];
  lines.push(`Found ${n(r.leakedAddresses.length, 'leaked address')}${r.leakedAddresses.length ? ':' : '.'}`);
  for (const a of r.leakedAddresses) lines.push(`  ${a.ip}  handle ${a.handle}  node ${a.node}  (${a.reason})`);
  lines.push(`Found ${n(r.orphanBlocks.length, 'orphan block')}${r.orphanBlocks.length ? ':' : '.'}`);
  for (const b of r.orphanBlocks) lines.push(`  ${b.cidr}  affine to missing node ${b.affinity}  (${b.used} in use)`);
  lines.push(`Found ${n(r.staleHandles.length, 'stale handle')}${r.staleHandles.length ? ':' : '.'}`);
  for (const h of r.staleHandles) lines.push(`  ${h}`);
  for (const b of r.bad) lines.push(`Bad value at ${b.key}: ${b.reason}`);
  const problems = r.leakedAddresses.length + r.orphanBlocks.length + r.staleHandles.length;
  if (r.released) {
    const x = r.released;
    lines.push(`Released ${n(x.addresses, 'address')}, ${n(x.blocks, 'block')}, ${n(x.handles, 'handle')}.`);
  } else if (problems > 0) {
    lines.push("Run 'tsctl ipam check --release' to release them.");
  } else {
    lines.push('IPAM is consistent.');
  }
  return lines.join('\n');
}
