/**
 * The shell around computeIsolationRules for hosts where nothing else programs the filter table:
 * reads which TSNET-NET-* chains exist, restores the computed chains (`--noflush`, so only ours
 * change) and makes sure FORWARD jumps to TSNET-ISOLATION first; IsolationApplier remembers what
 * it programmed so a loop's later passes skip the reads and unchanged families.
 */
import { ExecaRunner, type CommandRunner } from '@tsnet/dataplane';
import {
  ISOLATION_CHAIN,
  ISOLATION_HOOK,
  computeIsolationRules,
  parseNetworkChains,
  type IsolationInput,
  type IsolationRules,
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
  await new IsolationApplier(runner).apply(input, { full: true });
}

/** The TSNET-NET-* chains a restore text leaves behind (declared, not deleted). */
export function chainsLeftBy(restoreText: string): string[] {
  const deleted = new Set(
    restoreText
      .split('\n')
      .filter((l) => l.startsWith('-X '))
      .map((l) => l.slice(3)),
  );
  return parseNetworkChains(restoreText).filter((c) => !deleted.has(c));
}

/**
 * applyIsolation with memory, for a loop that re-programs on every datastore change. A full pass
 * reads the tables (`*-save`, to find stale chains), restores both families and makes sure the
 * FORWARD hook exists. After it, a pass knows the chains it left, so it runs no `*-save`, restores
 * only a family whose text changed (often none, or only IPv4) and leaves the hook alone: one
 * process instead of six. Pass `full` at start, on the periodic resync (repairs manual edits) and
 * after a failure (dropped memory makes the next pass full anyway).
 */
export class IsolationApplier {
  private last: { rules: IsolationRules; chains: { ipv4: string[]; ipv6: string[] } } | undefined;

  constructor(private readonly runner: CommandRunner = new ExecaRunner()) {}

  /** Returns how many families were restored (0 when nothing changed). */
  async apply(input: Omit<IsolationInput, 'existingChains'>, opts: { full?: boolean } = {}): Promise<number> {
    const last = opts.full ? undefined : this.last;
    this.last = undefined; // until this pass has succeeded
    const existing = last?.chains ?? {
      ipv4: parseNetworkChains(await must(this.runner, TOOLS[4].save, ['-t', 'filter'])),
      ipv6: parseNetworkChains(await must(this.runner, TOOLS[6].save, ['-t', 'filter'])),
    };
    const rules = computeIsolationRules({ ...input, existingChains: existing });
    let restored = 0;
    for (const fam of [4, 6] as const) {
      const text = fam === 4 ? rules.ipv4 : rules.ipv6;
      if (last && text === (fam === 4 ? last.rules.ipv4 : last.rules.ipv6)) continue;
      const t = TOOLS[fam];
      await must(this.runner, t.restore, ['--noflush', '-w', '5'], text);
      restored++;
      if (!last) await this.ensureHook(fam);
    }
    this.last = { rules, chains: { ipv4: chainsLeftBy(rules.ipv4), ipv6: chainsLeftBy(rules.ipv6) } };
    return restored;
  }

  private async ensureHook(fam: 4 | 6): Promise<void> {
    const t = TOOLS[fam];
    const present = await this.runner.run(t.cmd, ['-w', '5', '-t', 'filter', '-C', ...ISOLATION_HOOK]);
    if (present.exitCode !== 0)
      await must(this.runner, t.cmd, ['-w', '5', '-t', 'filter', '-I', ISOLATION_HOOK[0], '1', ...ISOLATION_HOOK.slice(1)]);
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
