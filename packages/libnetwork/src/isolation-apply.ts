/**
 * The shell around computeIsolationRules for hosts where nothing else programs the filter table:
 * reads which TSNET-NET-* chains exist, restores the computed chains (`--noflush`, so only ours
 * change) and makes sure FORWARD jumps to TSNET-ISOLATION first.
 */
import { ExecaRunner, type CommandRunner } from '@tsnet/dataplane';
import {
  ISOLATION_CHAIN,
  ISOLATION_HOOK,
  computeIsolationRules,
  parseNetworkChains,
  type IsolationInput,
} from './isolation.js';

const TOOLS = {
  4: { save: 'iptables-save', restore: 'iptables-restore', cmd: 'iptables' },
  6: { save: 'ip6tables-save', restore: 'ip6tables-restore', cmd: 'ip6tables' },
} as const;

async function must(runner: CommandRunner, cmd: string, args: string[], input?: string): Promise<string> {
  const r = await runner.run(cmd, args, input === undefined ? {} : { input });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Programs the isolation chains for both families; rejects with the tool's message on failure. */
export async function applyIsolation(
  input: Omit<IsolationInput, 'existingChains'>,
  runner: CommandRunner = new ExecaRunner(),
): Promise<void> {
  const existing = {
    ipv4: parseNetworkChains(await must(runner, TOOLS[4].save, ['-t', 'filter'])),
    ipv6: parseNetworkChains(await must(runner, TOOLS[6].save, ['-t', 'filter'])),
  };
  const rules = computeIsolationRules({ ...input, existingChains: existing });
  for (const fam of [4, 6] as const) {
    const t = TOOLS[fam];
    await must(runner, t.restore, ['--noflush', '-w', '5'], fam === 4 ? rules.ipv4 : rules.ipv6);
    const present = await runner.run(t.cmd, ['-w', '5', '-t', 'filter', '-C', ...ISOLATION_HOOK]);
    if (present.exitCode !== 0)
      await must(runner, t.cmd, [
        '-w',
        '5',
        '-t',
        'filter',
        '-I',
        ISOLATION_HOOK[0],
        '1',
        ...ISOLATION_HOOK.slice(1),
      ]);
  }
}

/** Removes the hook and every TSNET-ISOLATION / TSNET-NET-* chain (uninstall, tests). */
export async function removeIsolation(runner: CommandRunner = new ExecaRunner()): Promise<void> {
  for (const fam of [4, 6] as const) {
    const t = TOOLS[fam];
    for (let i = 0; i < 10; i++) {
      if ((await runner.run(t.cmd, ['-w', '5', '-t', 'filter', '-D', ...ISOLATION_HOOK])).exitCode !== 0)
        break;
    }
    const saved = await runner.run(t.save, ['-t', 'filter']);
    for (const c of [ISOLATION_CHAIN, ...parseNetworkChains(saved.stdout)]) {
      await runner.run(t.cmd, ['-w', '5', '-t', 'filter', '-F', c]);
    }
    for (const c of [ISOLATION_CHAIN, ...parseNetworkChains(saved.stdout)]) {
      await runner.run(t.cmd, ['-w', '5', '-t', 'filter', '-X', c]);
    }
  }
}
