/**
 * A real dockerd per test host: started inside the host's network namespace and a private mount
 * namespace whose /run/docker/plugins is a bind mount of `pluginDir` (so each host's dockerd finds
 * only its own plugin socket). State lives in a temp dir; `stop()` removes containers, stops
 * dockerd (by its pidfile PID) and every shim started for it, and deletes the dir.
 *
 * `ip netns exec` is not used on purpose: it remounts /sys and dockerd then dies with "Devices
 * cgroup isn't mounted"; nsenter + unshare -m keeps the host's /sys.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, symlink, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TrackedProcess } from './proc.js';
import { tempDir } from './ports.js';
import { sleep, waitFor } from './wait.js';

const execFileP = promisify(execFile);

/** Why dockerd tests cannot run here, or undefined when they can. */
export function dockerdUnsupportedReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'dockerd tests need root';
  for (const bin of ['dockerd', 'docker', 'containerd', 'nsenter', 'unshare', 'busybox']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore', timeout: 5000 });
    } catch {
      return `${bin} is not installed`;
    }
  }
  return undefined;
}

/** Applets linked into the test image (busybox-static). */
const BUSYBOX_APPLETS = [
  'sh',
  'ping',
  'ip',
  'sleep',
  'cat',
  'ls',
  'ifconfig',
  'route',
  'hostname',
  'nc',
  'wget',
  'echo',
  'true',
  'kill',
];

/**
 * nsenter's arguments that start dockerd inside netns `netns` and a private mount namespace whose
 * /run/docker/plugins is `pluginDir`, with all its state under `dir` (socket `dir`/docker.sock,
 * pidfile `dir`/docker.pid). The shell execs dockerd, so the spawned PID is dockerd's.
 */
export function dockerdInNetnsArgs(o: { netns: string; pluginDir: string; dir: string }): string[] {
  const dockerd = [
    'dockerd',
    '--storage-driver', 'vfs',
    '--data-root', join(o.dir, 'data'),
    '--exec-root', join(o.dir, 'exec'),
    '-H', `unix://${join(o.dir, 'docker.sock')}`,
    '--pidfile', join(o.dir, 'docker.pid'),
    '--bridge', 'none',
    '--iptables=false',
    '--ip6tables=false',
    '--ip-masq=false',
    '--userland-proxy=false',
  ].join(' ');
  const script = `mkdir -p /run/docker/plugins && mount --bind '${o.pluginDir}' /run/docker/plugins && exec ${dockerd}`;
  return [`--net=/run/netns/${o.netns}`, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', script];
}

/** Builds `dir`/rootfs.tar: busybox-static and its applets, an image `docker import` accepts. */
export async function busyboxRootfsTar(dir: string): Promise<string> {
  const root = join(dir, 'rootfs');
  await mkdir(join(root, 'bin'), { recursive: true });
  await copyFile((await execFileP('sh', ['-c', 'command -v busybox'])).stdout.trim(), join(root, 'bin', 'busybox'));
  for (const a of BUSYBOX_APPLETS) await symlink('busybox', join(root, 'bin', a)).catch(() => undefined);
  const tar = join(dir, 'rootfs.tar');
  await execFileP('tar', ['-C', root, '-cf', tar, '.'], { timeout: 30_000 });
  return tar;
}

export interface DockerdOptions {
  /** network namespace (name under /run/netns) the daemon and its containers' host side live in */
  netns: string;
  /** folder bind-mounted on /run/docker/plugins in the daemon's mount namespace */
  pluginDir: string;
  label?: string;
  /** start timeout (default 60 s: vfs + containerd start takes a while on 2 cores) */
  timeoutMs?: number;
}

export class Dockerd {
  private proc: TrackedProcess | undefined;

  private constructor(
    readonly opts: DockerdOptions,
    /** temp dir holding data-root, exec-root, socket, pidfile, log */
    readonly dir: string,
    private readonly removeDir: () => Promise<void>,
  ) {}

  get socketPath(): string {
    return join(this.dir, 'docker.sock');
  }
  get pidFile(): string {
    return join(this.dir, 'docker.pid');
  }
  get logFile(): string {
    return join(this.dir, 'dockerd.log');
  }
  get execRoot(): string {
    return join(this.dir, 'exec');
  }

  static async start(opts: DockerdOptions): Promise<Dockerd> {
    // short path: the containerd socket under exec-root must fit a unix socket path (108 bytes)
    const t = await tempDir(`dk${opts.label ?? ''}`);
    const d = new Dockerd(opts, t.path, t.remove);
    try {
      await d.launch();
    } catch (err) {
      await d.stop();
      throw err;
    }
    return d;
  }

  /** Starts dockerd (again, after `kill()`), waiting until it answers. */
  async launch(): Promise<void> {
    const { netns, pluginDir } = this.opts;
    await mkdir(pluginDir, { recursive: true });
    this.proc = new TrackedProcess(
      `dockerd-${this.opts.label ?? netns}`,
      'nsenter',
      dockerdInNetnsArgs({ netns, pluginDir, dir: this.dir }),
      {
        logFile: this.logFile,
        detached: true,
      },
    );
    const proc = this.proc;
    await waitFor(
      `dockerd in ${netns} to answer on ${this.socketPath}`,
      async () => {
        if (!proc.running) throw new Error(`dockerd exited: ${(await this.logTail()).trim()}`);
        return (
          (await this.docker(['version', '--format', '{{.Server.Version}}'], 5000).catch(() => '')) !== ''
        );
      },
      { timeoutMs: this.opts.timeoutMs ?? 60_000, intervalMs: 250 },
    );
  }

  /** Runs the docker CLI against this daemon; rejects with its stderr. */
  async docker(args: string[], timeoutMs = 60_000): Promise<string> {
    try {
      const { stdout } = await execFileP('docker', ['-H', `unix://${this.socketPath}`, ...args], {
        timeout: timeoutMs,
        maxBuffer: 64 << 20,
      });
      return stdout.trim();
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`docker ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
    }
  }

  /** Imports a busybox-static rootfs as image `tag` (no registry needed). */
  async importBusybox(tag = 'tsnet/busybox:latest'): Promise<string> {
    const tar = await busyboxRootfsTar(this.dir);
    await this.docker(['import', '--change', 'ENV PATH=/bin', tar, tag], 120_000);
    return tag;
  }

  async logTail(lines = 20): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  }

  /** dockerd's PID from its pidfile (what stop/kill signal). */
  async pid(): Promise<number | undefined> {
    const text = await readFile(this.pidFile, 'utf8').catch(() => '');
    const pid = Number(text.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /**
   * Stops dockerd by its PID (SIGTERM, SIGKILL after graceMs), leaving containers running as a
   * daemon restart would (live-restore is off, so dockerd stops them on its way down).
   */
  async kill(graceMs = 15_000): Promise<void> {
    const pid = (await this.pid()) ?? this.proc?.pid;
    if (pid !== undefined) signal(pid, 'SIGTERM');
    if (this.proc) {
      const timer = setTimeout(() => this.proc?.signal('SIGKILL'), graceMs);
      await this.proc.exited;
      clearTimeout(timer);
    }
  }

  /** Removes containers, stops dockerd and its containerd and shims, deletes the state dir. */
  async stop(): Promise<void> {
    if (this.proc?.running) {
      const ids = await this.docker(['ps', '-aq'], 15_000).catch(() => '');
      if (ids) await this.docker(['rm', '-f', ...ids.split('\n')], 60_000).catch(() => undefined);
      await this.kill();
    }
    await this.killLeftovers();
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
    await this.removeDir();
  }

  /**
   * Processes started for this daemon outlive it when it dies hard: containerd and the shims
   * (re-parented to init). They are found by this daemon's own exec-root path in their command
   * line, which no other process has.
   */
  private async killLeftovers(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      const pids = await processesMentioning(this.dir);
      if (pids.length === 0) return;
      for (const pid of pids) signal(pid, round === 0 ? 'SIGTERM' : 'SIGKILL');
      await sleep(500);
    }
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** PIDs whose command line contains `needle` (a unique temp path), excluding this process. */
export async function processesMentioning(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(needle)) out.push(Number(entry));
  }
  return out;
}

/** True when a process with this PID exists. */
export function pidAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}
