/**
 * `tsctl node ...`: start the agent (node-start.ts), stop it, list and remove registered nodes,
 * and manage this node's own BGP peers.
 */
import type { Argv } from 'yargs';
import { readFile } from 'node:fs/promises';
import { pidFilePath } from '@tsnet/node/control-api';
import { CliError, UsageError } from '../errors.js';
import { parseAsn, parseIp } from '../validate.js';
import { str, type CommandGroup, type Run } from '../command.js';
import type { Context } from '../context.js';
import { startNode } from './node-start.js';
import { registerPeerCommands } from './peers.js';
import { removeNode } from './node-remove.js';
import { showNodes } from './node-show.js';

export const nodeCommand: CommandGroup = {
  tree: [
    'node [--ip IP] [--ip6 IP6] [--as ASN] [--name NAME] [--libnetwork] [--detach] [--log-dir DIR]',
    'node stop',
    'node show',
    'node remove --name NAME [--remove-endpoints]',
    'node bgp peer add IP as ASN [--accept CIDR,...]',
    'node bgp peer remove IP',
    'node bgp peer show',
  ],
  register: (y: Argv, run: Run) =>
    y.command(
      'node',
      'Start the node agent on this host; node stop, show, remove, bgp peer',
      (c) =>
        c
          .option('ip', { type: 'string', describe: "this node's IPv4 address (default: the address of the default route's interface)" })
          .option('ip6', { type: 'string', describe: "this node's IPv6 address (none by default)" })
          .option('as', { type: 'string', describe: "this node's AS number (default: the cluster's, see tsctl bgp default-node-as)" })
          .option('libnetwork', { type: 'boolean', default: false, describe: 'also serve the Docker network and IPAM plugin' })
          .option('detach', { type: 'boolean', default: false, describe: 'run the agent in the background and return once it answers' })
          .option('log-dir', { type: 'string', describe: 'folder of the agent log tsnet.log (default: the run dir)' })
          .option('metrics-addr', { type: 'string', describe: 'Prometheus /metrics and /healthz address [default: 127.0.0.1:9099]' })
          .option('plugin-dir', { type: 'string', describe: 'folder of the Docker plugin socket (env TSNET_PLUGIN_DIR, default /run/docker/plugins)' })
          .option('timeout', { type: 'string', default: '60', describe: 'with --detach: seconds to wait for the agent to answer' })
          .example('$0 node --detach', 'start the agent in the background with the detected IP')
          .example('$0 node --ip 198.51.100.1 --as 64512 --libnetwork', 'run in the foreground with its own AS and the Docker plugin')
          .command('stop', 'Stop the node agent on this host', (s) => s.example('$0 node stop', 'SIGTERM the agent and wait ≤ 10 s'), run(stopNode))
          .command(
            'show',
            'List registered nodes (Hostname | IPv4 | IPv6 | AS Num | Status)',
            (s) => s.example('$0 node show', 'all nodes').example('$0 node show -o json', 'the same as JSON'),
            run(showNodes),
          )
          .command(
            'remove',
            'Remove a node from the datastore',
            (s) =>
              s
                .option('remove-endpoints', { type: 'boolean', default: false, describe: "also release the node's addresses and blocks" })
                .example('$0 node remove --name host2 --remove-endpoints', "forget host2 and release its addresses"),
            run(async (ctx, args) => {
              const name = str(args.name);
              if (!name) throw new UsageError("node remove needs the node's name: tsctl node remove --name NAME");
              await removeNode(ctx, name, Boolean(args.removeEndpoints));
            }),
          )
          .command('bgp', "Manage this node's BGP peers (node bgp peer add|remove|show)", (b) =>
            b
              .command('peer', "Manage this node's BGP peers", (p) =>
                registerPeerCommands(p, run, {
                  label: 'node specific',
                  command: 'tsctl node bgp peer',
                  check: async (ds, ctx) => {
                    if (!(await ds.getNode(ctx.nodeName))) {
                      throw new CliError(`node ${ctx.nodeName} is not registered: start it with tsctl node, or name another node with --name`);
                    }
                  },
                  list: (ds, ctx) => ds.listNodePeers(ctx.nodeName),
                  add: (ds, ctx, peer) => ds.addNodePeer(ctx.nodeName, peer),
                  remove: (ds, ctx, ip) => ds.removeNodePeer(ctx.nodeName, ip),
                }),
              )
              .demandCommand(1, 'give a subcommand: node bgp peer add|remove|show'),
          ),
      run(async (ctx, args) => {
        const timeoutSeconds = /^\d+(\.\d+)?$/.test(String(args.timeout)) ? Number(args.timeout) : NaN;
        if (!(timeoutSeconds > 0)) throw new CliError(`invalid --timeout "${String(args.timeout)}": give the seconds to wait, e.g. --timeout 120`);
        return startNode(ctx, {
          ip: args.ip === undefined ? undefined : parseIp(str(args.ip)!, 4, '--ip'),
          ip6: args.ip6 === undefined ? undefined : parseIp(str(args.ip6)!, 6, '--ip6'),
          asn: args.as === undefined ? undefined : parseAsn(str(args.as)!),
          libnetwork: Boolean(args.libnetwork),
          logDir: str(args.logDir),
          metricsAddr: str(args.metricsAddr),
          pluginDir: str(args.pluginDir),
          detach: Boolean(args.detach),
          timeoutSeconds,
        });
      }),
    ),
};

// ---- node stop ------------------------------------------------------------------------------

const STOP_WAIT_MS = 10_000;

async function stopNode(ctx: Context): Promise<number> {
  const file = pidFilePath(ctx.runDir);
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new CliError(`tsnet node is not running (no pid file ${file})`);
    throw new CliError(`cannot read ${file}: ${err.code}; run as root or pass --run-dir`);
  });
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new CliError(`${file} does not hold a process id; remove it if no agent runs`);
  if (!(await isAgentProcess(pid))) throw new CliError(`tsnet node is not running (stale pid file ${file}: pid ${pid} is not a tsnet node)`);
  try {
    process.kill(pid, 'SIGTERM');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPERM') throw new CliError(`not allowed to stop tsnet node (pid ${pid}): run as root`);
    throw new CliError(`tsnet node is not running (pid ${pid} has exited)`);
  }
  ctx.out(`Stopping tsnet node (pid ${pid}) ...`);
  const deadline = Date.now() + STOP_WAIT_MS;
  while (Date.now() < deadline) {
    if (!(await isAlive(pid))) {
      ctx.out('tsnet node stopped');
      return 0;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new CliError(
    `tsnet node (pid ${pid}) did not exit within ${STOP_WAIT_MS / 1000} s of SIGTERM; it may still be shutting down: ` +
      `check with tsctl status, or force it with: kill -KILL ${pid}`,
  );
}

/** Alive and not a zombie. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return !/^\d+ \(.*\) Z/.test(stat);
}

/** Guards against a recycled pid: the process must be alive and be Node.js (tsctl or the agent). */
async function isAgentProcess(pid: number): Promise<boolean> {
  if (!(await isAlive(pid))) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline === '' || /node|tsctl|tsnet/.test(cmdline);
}

