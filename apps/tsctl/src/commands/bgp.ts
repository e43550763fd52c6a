/** `tsctl bgp ...`: cluster-wide BGP settings: global peers, default node AS, node-to-node mesh. */
import type { Argv } from 'yargs';
import { parseAsn } from '../validate.js';
import { str, type CommandGroup, type Run } from '../command.js';
import { registerPeerCommands } from './peers.js';

export interface DefaultAsnJson {
  defaultAsn: number;
}
export interface NodeMeshJson {
  nodeMesh: boolean;
}

export const bgpCommand: CommandGroup = {
  tree: ['bgp peer add IP as ASN [--accept CIDR,...]', 'bgp peer remove IP', 'bgp peer show', 'bgp default-node-as [ASN]', 'bgp node-mesh [on|off]'],
  register: (y: Argv, run: Run) =>
    y.command('bgp', 'Cluster-wide BGP settings (bgp peer|default-node-as|node-mesh)', (c) =>
      c
        .command('peer', 'Manage global BGP peers (every node peers with them)', (p) =>
          registerPeerCommands(p, run, {
            label: 'global',
            command: 'tsctl bgp peer',
            list: (ds) => ds.listGlobalPeers(),
            add: (ds, _ctx, peer) => ds.addGlobalPeer(peer),
            remove: (ds, _ctx, ip) => ds.removeGlobalPeer(ip),
          }),
        )
        .command(
          'default-node-as [asn]',
          'Show or set the AS number of nodes without their own (default 64511)',
          (d) =>
            d
              .positional('asn', { type: 'string', describe: 'new default AS number, 1..4294967295' })
              .example('$0 bgp default-node-as', 'prints 64511')
              .example('$0 bgp default-node-as 64512', 'nodes without --as now use AS 64512'),
          run(async (ctx, args) => {
            const asn = args.asn === undefined ? undefined : parseAsn(str(args.asn)!);
            const ds = await ctx.datastore();
            if (asn === undefined) {
              const { defaultAsn } = await ds.getClusterConfig();
              return ctx.json ? ctx.printJson({ defaultAsn } satisfies DefaultAsnJson) : ctx.out(String(defaultAsn));
            }
            await ds.setClusterConfig({ defaultAsn: asn });
            ctx.out(`Default node AS number set to ${asn}`);
          }),
        )
        .command(
          'node-mesh [state]',
          'Show or set the node-to-node BGP mesh (off = nodes peer with route reflectors only)',
          (m) =>
            m
              .positional('state', { choices: ['on', 'off'], describe: 'on or off' })
              .example('$0 bgp node-mesh', 'prints on or off')
              .example('$0 bgp node-mesh off', 'turn the full mesh off'),
          run(async (ctx, args) => {
            const ds = await ctx.datastore();
            if (args.state === undefined) {
              const { nodeMesh } = await ds.getClusterConfig();
              return ctx.json ? ctx.printJson({ nodeMesh } satisfies NodeMeshJson) : ctx.out(nodeMesh ? 'on' : 'off');
            }
            await ds.setClusterConfig({ nodeMesh: args.state === 'on' });
            ctx.out(`Node-to-node mesh is ${String(args.state)}`);
          }),
        )
        .demandCommand(1, 'give a subcommand: bgp peer|default-node-as|node-mesh'),
    ),
};
