import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { freePort, tempDir } from './ports.js';
import { TrackedProcess } from './proc.js';
import { waitFor } from './wait.js';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc?: TrackedProcess;
}

/**
 * A real etcd (Debian's etcd-server) on free loopback ports: one member or a cluster.
 * `stop()` removes every process and the data dirs; `kill(i)`/`start(i)` restart one member on
 * the same data dir (for watch-resume and quorum tests).
 */
export class EtcdCluster {
  private constructor(
    readonly members: EtcdMember[],
    private readonly root: { path: string; remove: () => Promise<void> },
    /** Extra etcd flags for every member start, e.g. ['--enable-grpc-gateway=false']. */
    private readonly extraArgs: readonly string[] = [],
  ) {}

  /** Comma-separated client URLs, as ETCD_ENDPOINTS takes them. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  static async start(size = 1, opts: { host?: string; bin?: string; extraArgs?: readonly string[] } = {}): Promise<EtcdCluster> {
    const host = opts.host ?? '127.0.0.1';
    const root = await tempDir('etcd');
    const members: EtcdMember[] = [];
    for (let i = 0; i < size; i++) {
      const name = `m${i}`;
      members.push({
        name,
        clientUrl: `http://${host}:${await freePort(host)}`,
        peerUrl: `http://${host}:${await freePort(host)}`,
        dataDir: join(root.path, name),
      });
    }
    const cluster = new EtcdCluster(members, root, opts.extraArgs);
    try {
      await Promise.all(members.map((_, i) => cluster.start(i, opts.bin)));
      await Promise.all(members.map((_, i) => cluster.waitHealthy(i)));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  async start(i: number, bin = 'etcd'): Promise<void> {
    const m = this.members[i]!;
    await mkdir(m.dataDir, { recursive: true });
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    m.proc = new TrackedProcess(
      `etcd ${m.name}`,
      bin,
      [
        '--name', m.name,
        '--data-dir', m.dataDir,
        '--listen-client-urls', m.clientUrl,
        '--advertise-client-urls', m.clientUrl,
        '--listen-peer-urls', m.peerUrl,
        '--initial-advertise-peer-urls', m.peerUrl,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', `tsnet-test-${process.pid}`,
        '--heartbeat-interval', '50',
        '--election-timeout', '500',
        '--log-level', 'warn',
        '--logger', 'zap',
        ...this.extraArgs,
      ],
      { logFile: `${m.dataDir}.log` },
    );
  }

  /** Waits until member i answers /health with true (10 s bound). */
  async waitHealthy(i: number, timeoutMs = 15_000): Promise<void> {
    const m = this.members[i]!;
    await waitFor(
      `etcd ${m.name} at ${m.clientUrl} to be healthy`,
      async () => {
        if (m.proc && !m.proc.running) throw new Error(`etcd ${m.name} exited; see ${m.dataDir}.log`);
        const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.json()) as { health?: string };
        return body.health === 'true';
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  /** Kills member i at once (SIGKILL), keeping its data dir. */
  async kill(i: number): Promise<void> {
    const p = this.members[i]!.proc;
    if (p) {
      p.signal('SIGKILL');
      await p.exited;
    }
  }

  /** Restarts member i on the same data dir and ports, and waits until it is healthy. */
  async restart(i: number): Promise<void> {
    await this.kill(i);
    await this.start(i);
    await this.waitHealthy(i);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.proc?.stop(3000)));
    await this.root.remove();
  }
}
