// The thin shell: read the kernel, diff against the desired state, apply only the difference.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  parseFdb,
  parseLinks,
  parseNat,
  parseNeighs,
  parseRoutes,
  parseSysctls,
  type ActualState,
} from './actual.js';
import type { Family } from './cidr.js';
import { computeDesiredState } from './desired.js';
import { computePlan, planSize, type Plan } from './diff.js';
import { ExecaRunner, formatCommand, type CommandRunner } from './runner.js';
import {
  IPIP_DEVICE,
  TSNET_RT_PROTO,
  VXLAN_DEVICE,
  type DataplaneInput,
  type DesiredState,
  type KernelSupport,
} from './types.js';

export const RT_PROTOS_FILE = '/etc/iproute2/rt_protos.d/tsnet.conf';

export interface ReconcileError {
  /** the exact command (for batch lines: the tool and the line) */
  command: string;
  error: string;
}

export interface ReconcileResult {
  /** every change applied (or attempted), one line each, as given to the tools */
  applied: string[];
  /** the subset of `applied` that the kernel refused; retried on the next pass */
  errors: ReconcileError[];
  /** pools or routes that cannot be programmed (missing kernel support, missing VTEP, ...) */
  problems: string[];
  durationMs: number;
}

/** pino-compatible subset. */
export interface DataplaneLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ReconcilerOptions {
  runner?: CommandRunner;
  log?: DataplaneLogger;
  /** where to register `80 tsnet` for `ip` to print names; null = do not write (tests) */
  rtProtosFile?: string | null;
}

const IPTABLES = {
  4: ['iptables-save', 'iptables-restore'],
  6: ['ip6tables-save', 'ip6tables-restore'],
} as const;

/** Maps `ip -force -batch` / `bridge -force -batch` stderr back to the failing lines. */
export function parseBatchErrors(tool: string, lines: string[], stderr: string): ReconcileError[] {
  const errors: ReconcileError[] = [];
  let pending: string[] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.trim();
    const failed = /^Command failed \S+:(\d+)$/.exec(line);
    if (failed) {
      const n = Number(failed[1]);
      errors.push({
        command: `${tool} -batch: ${lines[n - 1] ?? `line ${n}`}`,
        error: pending.join('; ') || 'failed',
      });
      pending = [];
    } else if (line) pending.push(line);
  }
  if (pending.length > 0 && errors.length === 0)
    errors.push({ command: `${tool} -batch -`, error: pending.join('; ') });
  return errors;
}

export class Reconciler {
  readonly runner: CommandRunner;
  private readonly log: DataplaneLogger | undefined;
  private readonly rtProtosFile: string | null;
  private support: Partial<KernelSupport> = {};
  private rtProtosWritten = false;

  constructor(opts: ReconcilerOptions = {}) {
    this.runner = opts.runner ?? new ExecaRunner();
    this.log = opts.log;
    this.rtProtosFile = opts.rtProtosFile === undefined ? RT_PROTOS_FILE : opts.rtProtosFile;
  }

  /**
   * Whether the kernel can make IPIP / VXLAN devices; probed once each, only when a pool needs it
   * (an existing tunl0 proves IPIP; otherwise a throwaway `tsnet-probe` device is made and deleted).
   */
  async kernelSupport(need: { ipip: boolean; vxlan: boolean }): Promise<KernelSupport> {
    if (need.ipip && this.support.ipip === undefined) {
      const tunl = await this.runner.run('ip', ['link', 'show', IPIP_DEVICE]);
      this.support.ipip = tunl.exitCode === 0 || (await this.probe(['type', 'ipip']));
    }
    if (need.vxlan && this.support.vxlan === undefined) {
      this.support.vxlan = await this.probe(['type', 'vxlan', 'id', '1', 'dstport', '4789']);
    }
    return { ipip: this.support.ipip ?? true, vxlan: this.support.vxlan ?? true };
  }

  private async probe(typeArgs: string[]): Promise<boolean> {
    const add = await this.runner.run('ip', ['link', 'add', 'tsnet-probe', ...typeArgs]);
    if (add.exitCode !== 0) return false;
    await this.runner.run('ip', ['link', 'del', 'tsnet-probe']);
    return true;
  }

  /** The desired state for `input` with this kernel's capabilities. */
  async desiredState(input: DataplaneInput): Promise<DesiredState> {
    const need = {
      ipip: input.pools.some((p) => p.ipipMode !== 'never' && !p.cidr.includes(':')),
      vxlan: input.pools.some((p) => p.vxlanMode !== 'never' && !p.cidr.includes(':')),
    };
    return computeDesiredState(input, await this.kernelSupport(need));
  }

  /** Our routes in the kernel now (protocol 80, every table, both families). */
  async readRoutes(): Promise<ActualState['routes']> {
    const proto = String(TSNET_RT_PROTO);
    const read = async (family: Family): Promise<ActualState['routes']> => {
      const res = await this.runner.run('ip', [`-${family}`, '-json', 'route', 'show', 'table', 'all', 'proto', proto]);
      if (res.exitCode !== 0) throw new Error(`cannot read the kernel state (ip route -${family}): ${res.stderr.trim()}`);
      return parseRoutes(res.stdout, family);
    };
    const [r4, r6] = await Promise.all([read(4), read(6)]);
    return [...r4, ...r6];
  }

  /** Reads everything the diff looks at (one command per kind, in parallel). */
  async readActual(desired: DesiredState): Promise<ActualState> {
    const r = this.runner;
    const sysctlPaths = Object.keys(desired.sysctls).map((k) => `/proc/sys/${k}`);
    const [routes, links, neighs, fdb, proxy, nat4, nat6, sysctls] = await Promise.all([
      this.readRoutes(),
      r.run('ip', ['-d', '-json', 'addr', 'show']),
      r.run('ip', ['-4', '-json', 'neigh', 'show', 'dev', VXLAN_DEVICE, 'nud', 'permanent']),
      r.run('bridge', ['-json', 'fdb', 'show', 'dev', VXLAN_DEVICE]),
      r.run('ip', ['-6', '-json', 'neigh', 'show', 'proxy']),
      r.run(IPTABLES[4][0], ['-t', 'nat']),
      r.run(IPTABLES[6][0], ['-t', 'nat']),
      sysctlPaths.length > 0
        ? r.run('grep', ['-s', '-H', '.', ...sysctlPaths])
        : Promise.resolve({ exitCode: 0, stdout: '', stderr: '' }),
    ]);
    if (links.exitCode !== 0) throw new Error(`cannot read the kernel state (ip addr): ${links.stderr.trim()}`);
    const parsedLinks = parseLinks(links.stdout);
    const hasVxlan = parsedLinks.has(VXLAN_DEVICE);
    const nat: ActualState['nat'] = {};
    if (nat4.exitCode === 0) nat[4] = parseNat(nat4.stdout, 4);
    if (nat6.exitCode === 0) nat[6] = parseNat(nat6.stdout, 6);
    return {
      routes,
      links: parsedLinks,
      neighs: hasVxlan && neighs.exitCode === 0 ? parseNeighs(neighs.stdout, VXLAN_DEVICE) : [],
      fdb: hasVxlan && fdb.exitCode === 0 ? parseFdb(fdb.stdout) : [],
      proxyNeighs: proxy.exitCode === 0 ? parseNeighs(proxy.stdout) : [],
      sysctls: parseSysctls(sysctls.stdout),
      nat,
    };
  }

  /**
   * One pass: desired state, actual state, apply the difference. Never throws for kernel
   * errors: each failing command or batch line is in `errors` and the rest is still applied;
   * call again (on any change and periodically) to retry them and to repair drift.
   */
  async reconcile(input: DataplaneInput): Promise<ReconcileResult> {
    const started = performance.now();
    await this.registerRtProto();
    const desired = await this.desiredState(input);
    const actual = await this.readActual(desired);
    for (const f of [4, 6] as Family[]) {
      if (!actual.nat[f] && desired.nat.some((n) => n.family === f)) {
        desired.problems.push(
          `cannot read the IPv${f} nat table (${IPTABLES[f][0]} -t nat failed): nat-outgoing is not programmed`,
        );
      }
    }
    const plan = computePlan(desired, actual);
    const { applied, errors } = await this.apply(plan);
    for (const e of errors)
      this.log?.warn({ command: e.command, error: e.error }, 'dataplane change failed; will retry');
    if (applied.length > 0)
      this.log?.info({ changes: applied.length, errors: errors.length }, 'dataplane reconciled');
    return { applied, errors, problems: desired.problems, durationMs: performance.now() - started };
  }

  /** Applies a plan in dependency order: sysctls, devices, routes/neighbours, FDB, NAT, cleanup. */
  async apply(plan: Plan): Promise<{ applied: string[]; errors: ReconcileError[] }> {
    const applied: string[] = [];
    const errors: ReconcileError[] = [];
    if (planSize(plan) === 0) return { applied, errors };
    if (plan.sysctls.length > 0) {
      const args = ['-w', ...plan.sysctls.map(([k, v]) => `${k}=${v}`)];
      applied.push(formatCommand('sysctl', args));
      const res = await this.runner.run('sysctl', args);
      if (res.exitCode !== 0)
        errors.push({ command: formatCommand('sysctl', args), error: res.stderr.trim() });
    }
    const batch = async (tool: 'ip' | 'bridge', lines: string[]): Promise<void> => {
      if (lines.length === 0) return;
      applied.push(...lines.map((l) => `${tool} ${l}`));
      const res = await this.runner.run(tool, ['-force', '-batch', '-'], { input: lines.join('\n') + '\n' });
      if (res.exitCode !== 0) errors.push(...parseBatchErrors(tool, lines, res.stderr));
    };
    await batch('ip', plan.deviceLines);
    await batch('ip', plan.ipLines);
    await batch('bridge', plan.bridgeLines);
    for (const { family, restore } of plan.nat) {
      const cmd = IPTABLES[family][1];
      applied.push(`${cmd} -w 5 --noflush <<EOF\n${restore}EOF`);
      const res = await this.runner.run(cmd, ['-w', '5', '--noflush'], { input: restore });
      if (res.exitCode !== 0) errors.push({ command: `${cmd} -w 5 --noflush`, error: res.stderr.trim() });
    }
    await batch('ip', plan.cleanupLines);
    return { applied, errors };
  }

  /** Writes `80 tsnet` so `ip route` prints the name; routes work without it (we pass the number). */
  private async registerRtProto(): Promise<void> {
    if (this.rtProtosWritten || this.rtProtosFile === null) return;
    this.rtProtosWritten = true;
    const line = `${TSNET_RT_PROTO}\ttsnet\n`;
    try {
      const current = await readFile(this.rtProtosFile, 'utf8').catch(() => '');
      if (current === line) return;
      await mkdir(dirname(this.rtProtosFile), { recursive: true });
      await writeFile(this.rtProtosFile, line);
    } catch (err) {
      this.log?.info(
        { file: this.rtProtosFile, error: (err as Error).message },
        'not registering the tsnet route protocol name',
      );
    }
  }
}
