/**
 * What the fault suite (e2e/src/fault-*.test.ts) needs beyond AgentLab: an etcd cluster inside
 * the switch namespace that can be stopped and restarted member by member, tsctl run inside a
 * host namespace as a user would run it, a busybox ping flood with its loss count, and a scripted
 * raw BGP peer (fault-peer-entry.ts) that can send malformed UPDATEs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Datastore } from '@tsnet/datastore';
import { TrackedProcess, waitFor, type Netns } from '@tsnet/testkit';
import type { AgentLab } from './agent-lab.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const FORWARD = join(here, 'agent-forward.js');
const PEER_ENTRY = join(here, 'fault-peer-entry.js');
export const TSCTL_BIN = join(here, '..', '..', 'apps', 'tsctl', 'bin', 'tsctl.js');

export interface CmdResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Teardown that cannot hang a run: waits for `work` at most `ms`, then gives up with a warning
 * (what is left — processes by PID, namespaces — is still removed when the test process exits).
 */
export async function bounded(what: string, work: () => Promise<unknown>, ms = 60_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), ms)));
  const outcome = await Promise.race([work().then(() => 'done' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late') console.error(`warning: ${what} did not finish within ${ms} ms`);
}

/** Children of execIn still running (e.g. a ping flood whose test failed early). */
const running = new Set<ChildProcess>();

/** Kills (by PID) whatever execIn started and is still running; for `after` hooks. */
export function stopStrays(): void {
  for (const c of running) c.kill('SIGKILL');
}

/** Runs `cmd args` inside namespace `ns`, killed (by its pid) after `timeoutMs`; never rejects on exit codes. */
export function execIn(ns: string, cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<CmdResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      running.delete(child);
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
    child.on('error', (err) => {
      running.delete(child);
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + err.message, ms: Date.now() - t0 });
    });
  });
}

/** `tsctl ARGS` on host `host` of the lab: its run dir, its name, the given etcd endpoints. */
export function tsctl(lab: AgentLab, host: string, args: string[], endpoints: string[]): Promise<CmdResult> {
  return execIn(lab.host(host).ns.name, process.execPath, [TSCTL_BIN, ...args], {
    ETCD_ENDPOINTS: endpoints.join(','),
    TSNET_RUN_DIR: join(lab.dir.path, `run-${host}`),
    HOSTNAME: host,
  });
}

export interface FloodResult {
  transmitted: number;
  received: number;
  lost: number;
  ms: number;
  output: string;
}

/**
 * `busybox ping -q -i INTERVAL -c COUNT ip` from namespace `from`; resolves with the counts from
 * its statistics line once it ends (bounded: COUNT × interval + 30 s).
 */
export async function pingFlood(from: Netns, ip: string, count: number, interval = 0.01): Promise<FloodResult> {
  const r = await execIn(from.name, 'busybox', ['ping', '-q', '-i', String(interval), '-c', String(count), '-W', '2', ip], {}, count * interval * 1000 + 30_000);
  const m = r.stdout.match(/(\d+) packets transmitted, (\d+) packets received/);
  if (!m) throw new Error(`ping ${ip} printed no statistics (exit ${r.code}): ${r.stdout} ${r.stderr}`);
  const transmitted = Number(m[1]);
  const received = Number(m[2]);
  return { transmitted, received, lost: transmitted - received, ms: r.ms, output: r.stdout.trim() };
}

/** A local TCP port (127.0.0.1, test process) that reaches HOST:PORT inside namespace `ns`. */
class NsTunnel {
  private constructor(
    readonly proc: TrackedProcess,
    private readonly server: Server,
    private readonly open: Set<Socket>,
    readonly port: number,
  ) {}

  static async open(ns: string, host: string, port: number, dir: string, label: string): Promise<NsTunnel> {
    const sock = join(dir, `${label}.sock`);
    const proc = new TrackedProcess(`forward ${label}`, 'ip', ['netns', 'exec', ns, process.execPath, FORWARD, sock, host, String(port)], {
      logFile: join(dir, `${label}.log`),
    });
    const open = new Set<Socket>();
    const server = createServer((client) => {
      const up = connect(sock);
      open.add(client).add(up);
      client.pipe(up).pipe(client);
      const close = (): void => {
        client.destroy();
        up.destroy();
        open.delete(client);
        open.delete(up);
      };
      for (const s of [client, up]) {
        s.on('error', close);
        s.on('close', close);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    return new NsTunnel(proc, server, open, typeof addr === 'object' && addr ? addr.port : 0);
  }

  /** Ends every connection through the tunnel (server.close alone waits for them), then the forwarder. */
  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.open) s.destroy();
    this.open.clear();
    await closed;
    await this.proc.stop(3000);
  }
}

/**
 * An etcd cluster of `addrs.length` members inside the lab's switch namespace, member i on
 * `addrs[i]`:2379 (clients) and :2380 (peers), each address put on the switch bridge. The hosts
 * use `endpoints`; the test process reaches the members through NsTunnels and gets `lab.ds`.
 */
export class SwitchEtcd {
  readonly procs: (TrackedProcess | undefined)[] = [];
  private tunnels: NsTunnel[] = [];

  private constructor(
    private readonly lab: AgentLab,
    readonly addrs: string[],
    private readonly dir: string,
  ) {}

  get endpoints(): string[] {
    return this.addrs.map((a) => `http://${a}:2379`);
  }

  /** URLs the test process uses (one tunnel per member). */
  get localEndpoints(): string[] {
    return this.tunnels.map((t) => `http://127.0.0.1:${t.port}`);
  }

  static async start(lab: AgentLab, addrs: string[], plen = 24): Promise<SwitchEtcd> {
    const dir = join(lab.dir.path, 'switch-etcd');
    await mkdir(dir, { recursive: true });
    const etcd = new SwitchEtcd(lab, addrs, dir);
    for (const a of addrs) await lab.underlay.sw.ip('addr', 'add', `${a}/${plen}`, 'dev', 'br0');
    addrs.forEach((_, i) => etcd.start(i));
    for (const [i, a] of addrs.entries()) etcd.tunnels.push(await NsTunnel.open(lab.underlay.sw.name, a, 2379, dir, `m${i}`));
    lab.etcdUrl = etcd.endpoints[0]!;
    for (const i of addrs.keys()) await etcd.waitHealthy(i);
    await etcd.connect();
    return etcd;
  }

  /** Starts member i (again) on its data dir. */
  start(i: number): void {
    const a = this.addrs[i]!;
    const cluster = this.addrs.map((x, j) => `m${j}=http://${x}:2380`).join(',');
    this.procs[i] = new TrackedProcess(
      `etcd m${i}`,
      'ip',
      [
        'netns', 'exec', this.lab.underlay.sw.name, 'etcd',
        '--name', `m${i}`, '--data-dir', join(this.dir, `m${i}`),
        '--listen-client-urls', `http://${a}:2379`, '--advertise-client-urls', `http://${a}:2379`,
        '--listen-peer-urls', `http://${a}:2380`, '--initial-advertise-peer-urls', `http://${a}:2380`,
        '--initial-cluster', cluster, '--initial-cluster-state', 'new', '--initial-cluster-token', 'fault',
        '--heartbeat-interval', '50', '--election-timeout', '500', '--log-level', 'warn', '--logger', 'zap',
      ],
      { logFile: join(this.dir, `m${i}.log`) },
    );
  }

  /** SIGKILL (crash) or SIGTERM (orderly stop) of member i; resolves when it is gone. */
  async stop(i: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const p = this.procs[i];
    if (!p?.running) return;
    p.signal(signal);
    await p.exited;
  }

  async waitHealthy(i: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      `etcd member m${i} healthy`,
      async () => {
        if (!this.procs[i]?.running) throw new Error(`etcd m${i} exited; see ${join(this.dir, `m${i}.log`)}`);
        const res = await fetch(`${this.localEndpoints[i]}/health`, { signal: AbortSignal.timeout(1000) });
        return ((await res.json()) as { health?: string }).health === 'true';
      },
      { timeoutMs, intervalMs: 200 },
    );
  }

  /** Index of the current leader (asked of a running member). */
  async leader(): Promise<number> {
    const ids: string[] = [];
    let leader = '';
    for (const url of this.localEndpoints) {
      const res = await fetch(`${url}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2000) });
      const s = (await res.json()) as { header: { member_id: string }; leader: string };
      ids.push(s.header.member_id);
      leader = s.leader;
    }
    const i = ids.indexOf(leader);
    if (i < 0) throw new Error(`no etcd leader among ${ids.join(', ')}`);
    return i;
  }

  /** (Re)connects the test's datastore (`lab.ds`) to every member. */
  async connect(): Promise<Datastore> {
    const old = this.lab.ds as Datastore | undefined;
    if (old) await old.close().catch(() => undefined);
    this.lab.ds = await waitFor('the test datastore to connect', () => Datastore.connect({ endpoints: this.localEndpoints, timeoutMs: 2000 }), {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    return this.lab.ds;
  }

  /** Stops members and tunnels; call after lab.destroy() (which closes lab.ds). */
  async destroy(): Promise<void> {
    for (const t of this.tunnels) await t.close().catch(() => undefined);
    for (const p of this.procs) await p?.stop(3000).catch(() => undefined);
    if (!process.env.TSNET_KEEP_LAB) await rm(this.dir, { recursive: true, force: true });
  }
}

/** A line the raw peer printed (see fault-peer-entry.ts). */
export interface PeerEvent {
  event: string;
  [k: string]: unknown;
}

/**
 * The scripted raw BGP peer of fault-peer-entry.ts, run inside namespace `ns`: `send(cmd)` writes
 * a command line, `events` collects what it printed, `waitEvent` waits for one.
 */
export class RawPeer {
  readonly events: PeerEvent[] = [];
  private constructor(readonly proc: TrackedProcess) {}

  static spawn(ns: Netns, mode: 'serve' | 'probe', opts: Record<string, unknown>): RawPeer {
    const proc = new TrackedProcess(`raw peer ${mode}`, 'ip', ['netns', 'exec', ns.name, process.execPath, PEER_ENTRY, mode, JSON.stringify(opts)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const peer = new RawPeer(proc);
    createInterface({ input: proc.child.stdout! }).on('line', (line) => {
      try {
        peer.events.push(JSON.parse(line) as PeerEvent);
      } catch {
        peer.events.push({ event: 'text', line });
      }
    });
    return peer;
  }

  send(cmd: string): void {
    this.proc.child.stdin!.write(`${cmd}\n`);
  }

  /** Waits for an event after index `from` matching `pred`; returns it. */
  waitEvent(what: string, pred: (e: PeerEvent) => boolean, from = 0, timeoutMs = 15_000): Promise<PeerEvent> {
    return waitFor(
      `raw peer: ${what}`,
      async () => {
        const e = this.events.slice(from).find(pred);
        if (!e && !this.proc.running) throw new Error(`raw peer exited before ${what}: ${JSON.stringify(this.events)}`);
        return e;
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  async stop(): Promise<void> {
    await this.proc.stop(2000);
  }
}
