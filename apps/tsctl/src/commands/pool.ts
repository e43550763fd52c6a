/**
 * `tsctl pool add|remove|show`: IP pools. Every CIDR and flag is checked (format, block size,
 * encapsulation, overlaps, addresses in use) before the first write.
 */
import type { Argv } from 'yargs';
import type { EncapMode, IpPool } from '@tsnet/datastore';
import { CliError } from '../errors.js';
import { renderTable } from '../output.js';
import { checkNoOverlap, cidrsOverlap, normalizePool, parseCidr, poolOptionsText } from '@tsnet/ipam';
import { parseNetwork } from '../validate.js';
import { strs, type Args, type CommandGroup, type Run } from '../command.js';
import type { Context } from '../context.js';

export interface PoolJson {
  cidr: string;
  blockSize: number;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  disabled: boolean;
}

const ENCAP_CHOICES = ['always', 'cross-subnet'];

export const poolCommand: CommandGroup = {
  tree: [
    'pool add CIDR... [--ipip] [--ipip-mode always|cross-subnet] [--vxlan] [--vxlan-mode always|cross-subnet]',
    '        [--nat-outgoing] [--block-size N] [--disabled]',
    'pool remove CIDR...',
    'pool show [--ipv4|--ipv6]',
  ],
  register: (y: Argv, run: Run) =>
    y.command('pool', 'Manage IP pools (pool add|remove|show)', (c) =>
      c
        .command(
          'add <cidr..>',
          'Add IP pools',
          (a) =>
            a
              .positional('cidr', { type: 'string', array: true, describe: 'pool CIDRs, e.g. 10.10.0.0/16 fd00:10::/64' })
              .option('ipip', { type: 'boolean', default: false, describe: 'IP-in-IP between nodes (IPv4 only; mode always unless --ipip-mode)' })
              .option('ipip-mode', { choices: ENCAP_CHOICES, describe: 'always, or only to nodes in other subnets (implies --ipip)' })
              .option('vxlan', { type: 'boolean', default: false, describe: 'VXLAN between nodes (mode always unless --vxlan-mode)' })
              .option('vxlan-mode', { choices: ENCAP_CHOICES, describe: 'always, or only to nodes in other subnets (implies --vxlan)' })
              .option('nat-outgoing', { type: 'boolean', default: false, describe: 'masquerade traffic from the pool to outside all pools' })
              .option('block-size', { type: 'string', describe: 'prefix length of per-node blocks (IPv4 20..32, default 26; IPv6 116..128, default 122)' })
              .option('disabled', { type: 'boolean', default: false, describe: 'create the pool without allocating from it' })
              .example('$0 pool add 10.10.0.0/16 --ipip --nat-outgoing', 'IPv4 pool with IP-in-IP and outgoing NAT')
              .example('$0 pool add fd00:10::/64 --block-size 120', 'IPv6 pool with /120 blocks'),
          run(addPools),
        )
        .command(
          'remove <cidr..>',
          'Remove IP pools (refused while addresses from them are in use)',
          (r) => r.positional('cidr', { type: 'string', array: true, describe: 'pool CIDRs' }).example('$0 pool remove 10.10.0.0/16', 'remove one pool'),
          run(removePools),
        )
        .command(
          'show',
          'List IP pools (CIDR | Block size | Options)',
          (s) =>
            s
              .option('ipv4', { type: 'boolean', describe: 'IPv4 pools only' })
              .option('ipv6', { type: 'boolean', describe: 'IPv6 pools only' })
              .conflicts('ipv4', 'ipv6')
              .example('$0 pool show --ipv4', 'IPv4 pools')
              .example('$0 pool show -o json', 'all pools as JSON'),
          run(showPools),
        )
        .demandCommand(1, 'give a subcommand: pool add|remove|show'),
    ),
};

/** The pool records `pool add` would write, from its flags (throws on the first bad input). */
export function poolsFromArgs(cidrs: string[], args: Args): IpPool[] {
  const ipipMode = (args.ipipMode as EncapMode | undefined) ?? (args.ipip ? 'always' : 'never');
  const vxlanMode = (args.vxlanMode as EncapMode | undefined) ?? (args.vxlan ? 'always' : 'never');
  const sizeText = args.blockSize === undefined ? undefined : String(args.blockSize);
  if (sizeText !== undefined && !/^\d{1,3}$/.test(sizeText)) {
    throw new CliError(`invalid block size "${sizeText}": give a prefix length such as 26 (IPv4) or 122 (IPv6)`);
  }
  const pools: IpPool[] = [];
  for (const text of cidrs) {
    if (!parseCidr(text)) throw new CliError(`invalid CIDR "${text}": expected a network such as 10.10.0.0/16 or fd00:10::/64`);
    const pool = normalizePool({
      cidr: text,
      ...(sizeText !== undefined ? { blockSize: Number(sizeText) } : {}),
      ipipMode,
      vxlanMode,
      natOutgoing: Boolean(args.natOutgoing),
      disabled: Boolean(args.disabled),
    });
    const clash = pools.find((p) => cidrsOverlap(parseCidr(p.cidr)!, parseCidr(pool.cidr)!));
    if (clash) throw new CliError(`pools ${clash.cidr} and ${pool.cidr} overlap: give CIDRs that do not overlap`);
    pools.push(pool);
  }
  return pools;
}

async function addPools(ctx: Context, args: Args): Promise<void> {
  const pools = poolsFromArgs(strs(args.cidr), args);
  const ipam = await ctx.ipam();
  const existing = await ipam.listPools();
  for (const p of pools) checkNoOverlap(p, existing);
  for (const p of pools) {
    await ipam.addPool(p);
    const opts = poolOptionsText(p);
    ctx.out(`Added pool ${p.cidr} (block size /${p.blockSize}${opts ? `, ${opts}` : ''})`);
  }
}

async function removePools(ctx: Context, args: Args): Promise<void> {
  const cidrs = strs(args.cidr).map(parseNetwork);
  const ipam = await ctx.ipam();
  const usage = await ipam.usage();
  // Check every pool before removing the first, so a refused pool leaves all of them in place.
  for (const cidr of cidrs) {
    const u = usage.find((x) => x.pool.cidr === cidr);
    if (!u) throw new CliError(`pool ${cidr} does not exist: see tsctl pool show`);
    if (u.allocated > 0) {
      throw new CliError(
        `pool ${cidr} has ${u.allocated} address${u.allocated === 1 ? '' : 'es'} in use: remove the containers using them, ` +
          'or release them with tsctl ipam release IP (find them with tsctl ipam show --show-blocks)',
      );
    }
  }
  for (const cidr of cidrs) {
    await ipam.removePool(cidr);
    ctx.out(`Removed pool ${cidr}`);
  }
}

export function renderPools(pools: IpPool[]): string {
  return renderTable(['CIDR', 'Block size', 'Options'], pools.map((p) => [p.cidr, String(p.blockSize), poolOptionsText(p)]));
}

async function showPools(ctx: Context, args: Args): Promise<void> {
  const family = args.ipv4 ? 4 : args.ipv6 ? 6 : undefined;
  const pools = await (await ctx.ipam()).listPools(family ? { family } : {});
  if (ctx.json) {
    return ctx.printJson(
      pools.map((p): PoolJson => ({
        cidr: p.cidr,
        blockSize: p.blockSize,
        ipipMode: p.ipipMode,
        vxlanMode: p.vxlanMode,
        natOutgoing: p.natOutgoing,
        disabled: p.disabled,
      })),
    );
  }
  if (pools.length === 0) return ctx.out(`No ${family ? `IPv${family} ` : ''}pools defined. Add one with: tsctl pool add CIDR`);
  ctx.out(renderPools(pools));
}
