/** `tsctl lab exec HOST -- CMD`: run a command inside a lab host, with tsctl pointed at that host. */
import { spawn } from 'node:child_process';
import { defaultLabDir, loadState } from './state.js';
import { hostEnv, LabError } from './up.js';

export async function labExec(host: string, argv: string[], ctx: { tsctlBin: string; labDir?: string }): Promise<number> {
  const labDir = ctx.labDir ?? defaultLabDir();
  const state = await loadState(labDir);
  if (!state) throw new LabError("no lab is running; start one with 'tsctl lab up'");
  if (!state.plan.hosts.some((h) => h.name === host))
    throw new LabError(`no host ${host} in the lab; hosts are ${state.plan.hosts.map((h) => h.name).join(', ')}`);
  if (argv.length === 0) throw new LabError('nothing to run: give a command after --, e.g. tsctl lab exec h1 -- ip route');
  const cmd = argv[0] === 'tsctl' ? [process.execPath, ctx.tsctlBin, ...argv.slice(1)] : argv;
  const child = spawn('ip', ['netns', 'exec', `${state.plan.prefix}${host}`, ...cmd], {
    stdio: 'inherit',
    env: hostEnv(state, labDir, host),
  });
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.on('error', () => resolve(127));
  });
}
