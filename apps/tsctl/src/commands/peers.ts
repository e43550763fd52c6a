/**
 * BGP peer commands shared by `tsctl bgp peer ...` (global peers) and `tsctl node bgp peer ...`
 * (peers of this node only): `add IP as ASN [--accept CIDR,...]`, `remove IP`, `show`.
 */
import type { Argv } from 'yargs';
import { canonicalPrefixes, type BgpPeer, type Datastore } from '@tsnet/datastore';
import { CliError, UsageError } from '../errors.js';
import { renderTable } from '../output.js';
import { compareIps, parseAsn, parseIp } from '../validate.js';
import { str, strs, type Run } from '../command.js';
import type { Context } from '../context.js';

/** Where the peers live: the cluster (global) or one node. */
export interface PeerScope {
  /** 'global' or 'node specific', as in messages and the status table */
  label: string;
  list(ds: Datastore, ctx: Context): Promise<BgpPeer[]>;
  add(ds: Datastore, ctx: Context, peer: BgpPeer): Promise<void>;
  remove(ds: Datastore, ctx: Context, ip: string): Promise<boolean>;
  /** checks before a change (e.g. that the node exists) */
  check?(ds: Datastore, ctx: Context): Promise<void>;
  /** e.g. 'tsctl node bgp peer' */
  command: string;
}

export interface PeerJson {
  ip: string;
  asn: number;
  /** the node of a node-specific peer */
  node?: string;
  /** the prefixes it may send; absent = only prefixes inside the IP pools */
  acceptPrefixes?: string[];
}

export function registerPeerCommands(y: Argv, run: Run, scope: PeerScope): Argv {
  const cmd = scope.command.replace(/^tsctl /, '$0 ');
  return y
    .command(
      'add <ip> [as] [asn]',
      `Add a ${scope.label} BGP peer (syntax: add IP as ASN)`,
      (c) =>
        c
          .usage(`${cmd} add <ip> as <asn>\n\nAdd a ${scope.label} BGP peer`)
          .positional('ip', { type: 'string', describe: 'peer IPv4 or IPv6 address' })
          .positional('as', { type: 'string', describe: 'the word "as"' })
          .positional('asn', { type: 'string', describe: 'peer AS number, 1..4294967295' })
          .option('accept', {
            type: 'string',
            describe: 'prefixes the peer may send, comma separated or repeated (default: only prefixes inside the IP pools)',
          })
          .example(`${cmd} add 198.51.100.10 as 64512`, `peer with 198.51.100.10 in AS 64512`)
          .example(`${cmd} add 198.51.100.10 as 64512 --accept 10.50.0.0/16,10.60.0.0/16`, 'also accept routes inside these prefixes')
          .example(`${cmd} add 198.51.100.10 as 64512 --accept 0.0.0.0/0`, 'accept every IPv4 route (the default route too)'),
      run(async (ctx, args) => {
        if (str(args.as) !== 'as' || args.asn === undefined) {
          const got = ['add', args.ip, args.as, args.asn].filter((w) => w !== undefined).join(' ');
          throw new UsageError(`expected "add IP as ASN" (e.g. add 198.51.100.10 as 64512), got "${got}"; see '${scope.command} add --help'`);
        }
        const ip = parseIp(str(args.ip)!, undefined, 'peer IP');
        const asn = parseAsn(str(args.asn)!);
        const acceptPrefixes = args.accept === undefined ? undefined : parseAccept(strs(args.accept));
        const ds = await ctx.datastore();
        await scope.check?.(ds, ctx);
        await scope.add(ds, ctx, { ip, asn, ...(acceptPrefixes ? { acceptPrefixes } : {}) });
        ctx.out(`Added ${scope.label} BGP peer ${ip} (AS ${asn})${acceptPrefixes ? `, accepting ${acceptPrefixes.join(', ')}` : ''}`);
      }),
    )
    .command(
      'remove <ip>',
      `Remove a ${scope.label} BGP peer`,
      (c) => c.positional('ip', { type: 'string', describe: 'peer address' }).example(`${cmd} remove 198.51.100.10`, 'stop peering with it'),
      run(async (ctx, args) => {
        const ip = parseIp(str(args.ip)!, undefined, 'peer IP');
        const ds = await ctx.datastore();
        await scope.check?.(ds, ctx);
        if (!(await scope.remove(ds, ctx, ip))) {
          throw new CliError(`${ip} is not a ${scope.label} BGP peer; list them with: ${scope.command} show`);
        }
        ctx.out(`Removed ${scope.label} BGP peer ${ip}`);
      }),
    )
    .command(
      'show',
      `List ${scope.label} BGP peers`,
      (c) =>
        c
          .example(`${cmd} show`, 'table Peer address | AS Num | Accepts ("pools" = only prefixes inside the IP pools)')
          .example(`${cmd} show -o json`, '[{"ip": ..., "asn": ..., "acceptPrefixes": [...]}]'),
      run(async (ctx) => {
        const ds = await ctx.datastore();
        const peers = sortPeers(await scope.list(ds, ctx));
        if (ctx.json) return ctx.printJson(peers.map(peerJson));
        if (peers.length === 0) return ctx.out(`No ${scope.label} BGP peers defined.`);
        ctx.out(renderTable(['Peer address', 'AS Num', 'Accepts'], peers.map((p) => [p.ip, String(p.asn), acceptsText(p)])));
      }),
    )
    .demandCommand(1, `give a subcommand: add, remove or show`);
}

export const sortPeers = (peers: BgpPeer[]): BgpPeer[] => [...peers].sort((a, b) => compareIps(a.ip, b.ip));

const peerJson = (p: BgpPeer): PeerJson => ({
  ip: p.ip,
  asn: p.asn,
  ...(p.node ? { node: p.node } : {}),
  ...(p.acceptPrefixes ? { acceptPrefixes: p.acceptPrefixes } : {}),
});

/** The Accepts column: the list, "pools" when unset (the default), "nothing" for an empty list. */
const acceptsText = (p: BgpPeer): string =>
  p.acceptPrefixes === undefined ? 'pools' : p.acceptPrefixes.length === 0 ? 'nothing' : p.acceptPrefixes.join(',');

/**
 * `--accept` values (repeated flags and comma-separated lists) as canonical CIDRs, checked before
 * the datastore is touched; the datastore's own check words the error.
 */
function parseAccept(values: string[]): string[] {
  const items = values.flatMap((v) => v.split(',')).map((x) => x.trim());
  if (items.some((x) => x === '')) throw new UsageError('--accept needs CIDRs, e.g. --accept 10.50.0.0/16,10.60.0.0/16 (or 0.0.0.0/0 for every IPv4 route)');
  return canonicalPrefixes(items);
}
