/**
 * The BGP interop lab: two hosts on an Underlay ("a" runs ts-bgp, "b" runs BIRD 2 or GoBGP),
 * IPv4 + IPv6 on one link, and the processes under test started inside their namespaces by PID.
 * ts-bgp reports JSON lines on stdout; the lab keeps them and waits on them.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TrackedProcess, Underlay, run, tempDir, uniquePrefix, waitFor, type UnderlayHost } from '@tsnet/testkit';

export const TS_BGP_BIN = fileURLToPath(new URL('../../packages/ts-bgp/bin/ts-bgp.js', import.meta.url));

export interface LabHost extends UnderlayHost {
  ip6: string;
  /** further IPv4 addresses (198.51.100.1N, .2N, .3N) for more sessions between the same hosts */
  ip2: string;
  ip3: string;
  ip4: string;
}

export class BgpLab {
  private readonly procs: TrackedProcess[] = [];

  private constructor(
    readonly underlay: Underlay,
    readonly dir: string,
    private readonly removeDir: () => Promise<void>,
    readonly a: LabHost,
    readonly b: LabHost,
  ) {}

  static async create(tag: string): Promise<BgpLab> {
    const underlay = await Underlay.create(uniquePrefix(tag));
    const dir = await tempDir(`bgp-${tag}`);
    try {
      const a = await addHost(underlay, 'a', 1);
      const b = await addHost(underlay, 'b', 2);
      return new BgpLab(underlay, dir.path, dir.remove, a, b);
    } catch (err) {
      await underlay.destroy();
      await dir.remove();
      throw err;
    }
  }

  /** Start `ts-bgp args` in host a; stdout JSON lines are collected. */
  tsBgp(args: string[], label = 'ts-bgp'): TsBgp {
    const proc = new TrackedProcess(label, 'ip', ['netns', 'exec', this.a.ns.name, process.execPath, TS_BGP_BIN, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.procs.push(proc);
    return new TsBgp(proc);
  }

  /** Start a process inside host b, logging to a file in the lab dir. */
  spawnInB(label: string, cmd: string, args: string[]): TrackedProcess {
    const proc = new TrackedProcess(label, 'ip', ['netns', 'exec', this.b.ns.name, cmd, ...args], {
      logFile: join(this.dir, `${label}.log`),
    });
    this.procs.push(proc);
    return proc;
  }

  async writeFile(name: string, text: string): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(path, text);
    return path;
  }

  /** Stop every process (by PID), then remove namespaces and files. */
  async destroy(): Promise<void> {
    for (const p of this.procs) await p.stop(2000).catch(() => undefined);
    await this.underlay.destroy().catch(() => undefined);
    await this.removeDir().catch(() => undefined);
  }
}

async function addHost(u: Underlay, name: string, n: number): Promise<LabHost> {
  const h = await u.addHost(name, `198.51.100.${n}/24`, '198.51.100.254');
  const ip6 = `2001:db8:64::${n}`;
  const [ip2, ip3, ip4] = [10, 20, 30].map((x) => `198.51.100.${x + n}`) as [string, string, string];
  await h.ns.ip('addr', 'add', `${ip6}/64`, 'dev', 'eth0', 'nodad');
  for (const ip of [ip2, ip3, ip4]) await h.ns.ip('addr', 'add', `${ip}/24`, 'dev', 'eth0');
  return { ...h, ip6, ip2, ip3, ip4 };
}

export interface TsBgpEvent {
  event: string;
  [k: string]: unknown;
}

/** A running ts-bgp daemon and the events it printed. */
export class TsBgp {
  readonly events: TsBgpEvent[] = [];
  stderr = '';

  constructor(readonly proc: TrackedProcess) {
    createInterface({ input: proc.child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as TsBgpEvent);
      } catch {
        this.stderr += `unparsable stdout line: ${line}\n`;
      }
    });
    proc.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Write a command line to the daemon's stdin ("announce 10.0.0.0/24", "withdraw ..."). */
  command(line: string): void {
    this.proc.child.stdin!.write(`${line}\n`);
  }

  /** Wait for an event matching `pred` printed at or after index `from`. */
  waitEvent(what: string, pred: (e: TsBgpEvent) => boolean, timeoutMs = 15_000, from = 0): Promise<TsBgpEvent> {
    return waitFor(
      `ts-bgp ${what} (events so far: ${this.events.map((e) => JSON.stringify(e)).slice(-5).join(' ')}; stderr: ${this.stderr.trim().slice(-300)})`,
      () => this.events.slice(from).find(pred),
      { timeoutMs, intervalMs: 50 },
    );
  }

  established(peer: string, timeoutMs = 20_000, from = 0): Promise<TsBgpEvent> {
    return this.waitEvent(`Established with ${peer}`, (e) => e.event === 'state' && e.peer === peer && e.state === 'Established', timeoutMs, from);
  }
}

/** Run a command in a namespace with a bounded time. */
export const nsRun = (ns: string, cmd: string, args: string[], timeoutMs = 10_000): Promise<string> =>
  run('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
