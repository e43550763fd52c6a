/**
 * `tsctl lab up|status|exec|down`: a multi-host tsnet lab in network namespaces on this machine
 * (the work is in @tsnet/lab; this module parses, reports progress and renders).
 */
import { fileURLToPath } from 'node:url';
import {
  LabError,
  defaultLabDir,
  labDown,
  labExec,
  labStatus,
  labUp,
  renderReport,
  reportJson,
  type LabMode,
} from '@tsnet/lab';
import { CliError } from '../errors.js';
import { str, strs, type CommandGroup, type Handler } from '../command.js';
import type { Context } from '../context.js';

/** The bin the lab runs inside each host (this very tsctl). */
const TSCTL_BIN = fileURLToPath(new URL('../../bin/tsctl.js', import.meta.url));

/** Progress goes to stdout for people, to stderr when stdout carries JSON. */
const progress = (ctx: Context) => (line: string) => (ctx.json ? ctx.io.err(`${line}\n`) : ctx.out(line));

/** Lab failures are operator-facing one-liners. */
const labErrors =
  (h: Handler): Handler =>
  async (ctx, args) => {
    try {
      return await h(ctx, args);
    } catch (err) {
      if (err instanceof LabError) throw new CliError(err.message);
      throw err;
    }
  };

export const labCommand: CommandGroup = {
  tree: [
    'lab up [--hosts N] [--mode native|vxlan|ipip] [--docker]',
    'lab status',
    'lab exec HOST -- COMMAND...',
    'lab down',
  ],
  register: (y, run) =>
    y.command('lab', 'A multi-host tsnet lab in network namespaces on this machine (needs root)', (lab) =>
      lab
        .command(
          'up',
          'Create N hosts, etcd, an agent and a workload per host; show status, routes and a ping matrix',
          (c) =>
            c
              .option('hosts', { type: 'number', default: 3, describe: 'number of hosts (2..50)' })
              .option('mode', { choices: ['native', 'vxlan', 'ipip'], default: 'native', describe: 'pool encapsulation' })
              .option('docker', { type: 'boolean', default: false, describe: 'real dockerd containers as workloads' })
              .example('$0 lab up --hosts 3 --mode vxlan', 'three hosts on two subnets with a vxlan pool')
              .example('$0 lab up -o json', 'the result as JSON: hosts, peer states and {"ping": {"h1->h2": true, …}}'),
          run(
            labErrors(async (ctx, args) => {
              const report = await labUp(
                { hosts: Number(args.hosts), mode: String(args.mode) as LabMode, docker: Boolean(args.docker) },
                { tsctlBin: TSCTL_BIN, progress: progress(ctx) },
              );
              if (ctx.json) ctx.printJson(reportJson(report));
              else ctx.out(renderReport(report, defaultLabDir()));
              return Object.values(report.ping).every(Boolean) ? 0 : 1;
            }),
          ),
        )
        .command(
          'status',
          "The running lab: each host's BGP peers, its learned routes and the workload ping matrix",
          (c) => c.example('$0 lab status -o json', 'peer states and the ping matrix for scripts'),
          run(
            labErrors(async (ctx) => {
              const report = await labStatus({ tsctlBin: TSCTL_BIN });
              if (ctx.json) ctx.printJson(reportJson(report));
              else ctx.out(renderReport(report, defaultLabDir()));
            }),
          ),
        )
        .command(
          'exec <host> [command..]',
          'Run a command inside a lab host (tsctl there talks to that host and the lab etcd)',
          (c) =>
            c
              .positional('host', { type: 'string', describe: 'h1, h2, …' })
              .positional('command', { type: 'string', array: true })
              .parserConfiguration({ 'populate--': true, 'unknown-options-as-args': true })
              .example('$0 lab exec h1 -- tsctl status', "host h1's BGP peers")
              .example('$0 lab exec h2 -- ip route', "host h2's routing table"),
          run(
            labErrors(async (_ctx, args) => {
              const argv = [...strs(args.command), ...strs((args as Record<string, unknown>)['--'])];
              return labExec(str(args.host) ?? '', argv, { tsctlBin: TSCTL_BIN });
            }),
          ),
        )
        .command(
          'down',
          'Remove every namespace, process and directory the lab made (idempotent, also after a crash)',
          (c) => c.example('$0 lab down', 'tear the lab down'),
          run(
            labErrors(async (ctx) => {
              await labDown({ progress: progress(ctx) });
            }),
          ),
        )
        .example('$0 lab up', 'three hosts, native routing; then: tsctl lab exec h1 -- tsctl status')
        .example('$0 lab down', 'remove everything the lab made')
        .demandCommand(1, 'missing lab command: up, status, exec or down'),
    ),
};
