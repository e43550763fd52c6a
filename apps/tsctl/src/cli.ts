/**
 * tsctl's entry point: `main(argv, io)` parses the command line with yargs, runs one command
 * handler and returns the exit code (0 ok, 1 failure, 2 usage). The bin calls it with the real
 * process; tests call it in-process with a captured Io.
 */
import yargs, { type Argv } from 'yargs';
import { Context, DEFAULT_RUN_DIR, type GlobalArgs } from './context.js';
import { reportError, UsageError } from './errors.js';
import { processIo, type Io } from './io.js';
import type { CommandGroup, Run } from './command.js';
import { nodeCommand } from './commands/node.js';
import { statusCommand } from './commands/status.js';
import { poolCommand } from './commands/pool.js';
import { bgpCommand } from './commands/bgp.js';
import { ipamCommand } from './commands/ipam.js';
import { versionCommand } from './commands/version.js';
import { completionCommand } from './commands/completion.js';
import { labCommand } from './commands/lab.js';

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  nodeCommand,
  statusCommand,
  poolCommand,
  bgpCommand,
  ipamCommand,
  versionCommand,
  completionCommand,
  labCommand,
];

const GLOBAL = 'Global flags:';

export async function main(argvIn: string[], io: Io = processIo()): Promise<number> {
  // `tsctl --version` as users try it first; the command is `tsctl version`
  const argv = argvIn.length === 1 && argvIn[0] === '--version' ? ['version'] : argvIn;
  const debug = argv.includes('--debug');
  let ctx: Context | undefined;
  let exitCode = 0;
  const run: Run = (handler) => async (args) => {
    ctx = new Context(io, args as GlobalArgs);
    exitCode = (await handler(ctx, args)) ?? 0;
  };
  try {
    await buildParser(argv, run).parseAsync(argv, {}, (_err, _args, output) => {
      if (output) io.out(output.endsWith('\n') ? output : output + '\n');
    });
    return exitCode;
  } catch (err) {
    const r = reportError(err);
    io.err(`${r.line}\n`);
    if (debug && r.stack) io.err(`${r.stack}\n`);
    return r.exitCode;
  } finally {
    await ctx?.close();
  }
}

function buildParser(argv: string[], run: Run): Argv {
  let y: Argv = yargs(argv)
    .scriptName('tsctl')
    .usage('tsctl <command> [flags]\n\ntsnet command line: nodes, BGP peers, IP pools and IPAM in etcd.')
    .exitProcess(false)
    .strict()
    .wrap(120)
    .version(false)
    .help('help')
    .alias('h', 'help')
    .group('help', GLOBAL)
    .option('etcd-endpoints', {
      type: 'string',
      global: true,
      group: GLOBAL,
      describe: 'etcd endpoints, comma separated (env ETCD_ENDPOINTS, default http://127.0.0.1:2379)',
    })
    .option('etcd-ca', { type: 'string', global: true, group: GLOBAL, describe: 'etcd CA certificate (env ETCD_CA_CERT_FILE)' })
    .option('etcd-cert', { type: 'string', global: true, group: GLOBAL, describe: 'etcd client certificate (env ETCD_CERT_FILE)' })
    .option('etcd-key', { type: 'string', global: true, group: GLOBAL, describe: 'etcd client key (env ETCD_KEY_FILE)' })
    .option('run-dir', {
      type: 'string',
      global: true,
      group: GLOBAL,
      describe: `node agent run directory (env TSNET_RUN_DIR, default ${DEFAULT_RUN_DIR})`,
    })
    .option('name', { type: 'string', global: true, group: GLOBAL, describe: "node name (env HOSTNAME, default this host's name)" })
    .option('output', { alias: 'o', choices: ['table', 'json'], global: true, group: GLOBAL, describe: 'output format of read commands [default: table]' })
    .option('debug', { type: 'boolean', global: true, group: GLOBAL, describe: 'show stack traces of errors' })
    .demandCommand(1, 'no command given')
    .epilogue(commandTree())
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(`${unknownCommand(argv) ?? rephrase(msg)}; see '${helpCommand(argv)}'`);
    }) as unknown as Argv;
  for (const group of COMMAND_GROUPS) y = group.register(y, run);
  return y;
}

/** The synopsis of every command, shown at the end of `tsctl --help`. */
export function commandTree(): string {
  const lines = COMMAND_GROUPS.flatMap((g) => g.tree).map((l) => (l.startsWith(' ') ? `        ${l}` : `  tsctl ${l}`));
  return ['Command tree:', ...lines, '', "Run 'tsctl COMMAND --help' for a command's flags and an example."].join('\n');
}

function rephrase(msg: string | null | undefined): string {
  if (!msg) return 'invalid command line';
  if (msg.startsWith('Not enough non-option arguments')) return 'missing argument';
  const bad = /Argument: ([\w-]+), Given: (.*), Choices: (.*)/.exec(msg);
  if (bad) return `invalid value ${bad[2]} for ${bad[1]}: choose ${bad[3]!.replaceAll('"', '').replaceAll(', ', ' or ')}`;
  if (msg.startsWith('Too many non-option arguments')) return 'too many arguments';
  if (msg.startsWith('Unknown argument')) return msg.replace('Unknown argument', 'unknown command or flag');
  if (msg.startsWith('Unknown arguments')) return msg.replace('Unknown arguments', 'unknown commands or flags');
  return msg.charAt(0).toLowerCase() + msg.slice(1);
}

const TOP_LEVEL = ['node', 'status', 'pool', 'bgp', 'ipam', 'version', 'completion', 'lab'];

/** `unknown command "pol" (did you mean "pool"?)` when the first word is no command. */
function unknownCommand(argv: string[]): string | undefined {
  const first = firstWord(argv);
  if (first === undefined || TOP_LEVEL.includes(first)) return undefined;
  const near = TOP_LEVEL.map((c) => ({ c, d: editDistance(first, c) })).sort((a, b) => a.d - b.d)[0]!;
  return `unknown command "${first}"${near.d <= 2 ? ` (did you mean "${near.c}"?)` : ''}`;
}

const VALUE_FLAGS = new Set(['--etcd-endpoints', '--etcd-ca', '--etcd-cert', '--etcd-key', '--run-dir', '--name', '-o', '--output']);

/** The first word that is not a global flag or its value. */
function firstWord(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) return a;
    if (VALUE_FLAGS.has(a)) i++;
  }
  return undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

const SUBCOMMAND_WORDS = new Set(['node', 'status', 'pool', 'bgp', 'ipam', 'version', 'completion', 'lab', 'stop', 'show', 'remove', 'add', 'peer', 'default-node-as', 'node-mesh', 'release', 'check', 'up', 'down', 'exec']);

/** `tsctl pool add --help` for `tsctl pool add x --bogus`: the help of the command the user meant. */
function helpCommand(argv: string[]): string {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-') || !SUBCOMMAND_WORDS.has(a)) break;
    words.push(a);
  }
  return ['tsctl', ...words, '--help'].join(' ');
}
