/**
 * The e2e lab for node agents: an Underlay of host namespaces, a real etcd inside the switch
 * namespace (reachable from every host on the gateway address), the test's own etcd access via a
 * forwarder over a unix socket, one agent process per host (`ip netns exec NS node tsnet-agent.mjs`, as `tsctl node --detach`
 * starts it),
 * and workloads as namespaces with a routed veth, the way the plugin makes them.
 */
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Datastore } from '@tsnet/datastore';
import { Ipam } from '@tsnet/ipam';
import { ExecaRunner, configureNetnsWorkload, createWorkloadVeth, workloadIfNames } from '@tsnet/dataplane';
import { agentProcessArgs, callAgent, type AgentOptions, type AgentStatus } from '@tsnet/node';
import { Netns, TrackedProcess, Underlay, tempDir, waitFor, type UnderlayHost } from '@tsnet/testkit';

const here = fileURLToPath(new URL('.', import.meta.url));
const FORWARD = join(here, 'agent-forward.js');
export const TEST_BGP_PORT = 1179;

export interface LabAgent {
  proc: TrackedProcess;
  runDir: string;
  logFile: string;
}

export interface LabWorkload {
  ns: Netns;
  ip: string;
  id: string;
  host: string;
}

export class AgentLab {
  readonly agents = new Map<string, LabAgent>();
  readonly workloads: LabWorkload[] = [];
  private readonly procs: TrackedProcess[] = [];
  private proxy: Server | undefined;
  ds!: Datastore;
  /** etcd as the hosts reach it */
  etcdUrl = '';
  /** pid of etcd once started (`ip netns exec` execs it in place) */
  etcdPid: number | undefined;

  private constructor(
    readonly underlay: Underlay,
    readonly dir: { path: string; remove: () => Promise<void> },
  ) {}

  /** Underlay + etcd on `etcdHost` (the first gateway: call after the first addHost). */
  static async create(prefix: string, dirTag = 'agentlab'): Promise<AgentLab> {
    const underlay = await Underlay.create(prefix);
    const dir = await tempDir(dirTag);
    return new AgentLab(underlay, dir);
  }

  addHost(name: string, cidr: string, gateway: string): Promise<UnderlayHost> {
    return this.underlay.addHost(name, cidr, gateway);
  }

  host(name: string): UnderlayHost {
    const h = this.underlay.hosts.get(name);
    if (!h) throw new Error(`no lab host ${name}`);
    return h;
  }

  /** Starts etcd in the switch namespace on `gateway` (an address on the switch bridge). */
  async startEtcd(gateway: string): Promise<void> {
    const sw = this.underlay.sw.name;
    this.etcdUrl = `http://${gateway}:2379`;
    const data = join(this.dir.path, 'etcd');
    this.etcdPid = this.spawn('etcd', 'ip', [
      'netns', 'exec', sw, 'etcd',
      '--name', 'lab', '--data-dir', data,
      '--listen-client-urls', `${this.etcdUrl},http://127.0.0.1:2379`,
      '--advertise-client-urls', this.etcdUrl,
      '--listen-peer-urls', 'http://127.0.0.1:2380',
      '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', 'lab=http://127.0.0.1:2380',
      '--heartbeat-interval', '50', '--election-timeout', '500',
      '--log-level', 'warn', '--logger', 'zap',
    ], join(this.dir.path, 'etcd.log')).pid;
    // the test process reaches etcd: 127.0.0.1:P (here) → unix socket → 127.0.0.1:2379 (switch)
    const sock = join(this.dir.path, 'etcd.sock');
    this.spawn('forward', 'ip', ['netns', 'exec', sw, process.execPath, FORWARD, sock, '127.0.0.1', '2379'], join(this.dir.path, 'forward.log'));
    this.proxy = createServer((client) => {
      const up = connect(sock);
      client.pipe(up).pipe(client);
      const close = (): void => {
        client.destroy();
        up.destroy();
      };
      client.on('error', close);
      up.on('error', close);
    });
    const proxy = this.proxy;
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const addr = proxy.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    this.ds = await waitFor(
      'etcd in the switch namespace',
      async () => Datastore.connect({ endpoints: [`http://127.0.0.1:${port}`], timeoutMs: 1000 }),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
  }

  private spawn(label: string, cmd: string, args: string[], logFile: string, env: Record<string, string> = {}): TrackedProcess {
    const p = new TrackedProcess(label, cmd, args, { logFile, env: { ...process.env, ...env } });
    this.procs.push(p);
    return p;
  }

  /** Starts the agent of host `name` and waits until its control socket answers. */
  async startAgent(name: string, extra: Partial<AgentOptions> = {}, env: Record<string, string> = {}): Promise<LabAgent> {
    const agent = this.launchAgent(name, extra, env);
    await this.waitAnswering(name);
    return agent;
  }

  /** Waits until the agent of `name` answers on its control socket. */
  async waitAnswering(name: string, timeoutMs = 20_000, intervalMs = 100): Promise<AgentStatus> {
    const { proc, runDir, logFile } = this.agent(name);
    return waitFor(
      `agent ${name} to answer on its control socket`,
      async () => {
        if (!proc.running) throw new Error(`agent ${name} exited; see ${logFile}`);
        return callAgent<AgentStatus>(runDir, 'GET', '/status', undefined, 1000);
      },
      { timeoutMs, intervalMs },
    );
  }

  /** Starts the agent process of host `name` without waiting for it. */
  launchAgent(name: string, extra: Partial<AgentOptions> = {}, env: Record<string, string> = {}, nodeFlags: string[] = []): LabAgent {
    const h = this.host(name);
    const runDir = join(this.dir.path, `run-${name}`);
    const logFile = join(this.dir.path, `agent-${name}.log`);
    const opts: AgentOptions = {
      name,
      ip: h.ip,
      etcd: { endpoints: [this.etcdUrl] },
      runDir,
      logDir: join(this.dir.path, `log-${name}`),
      libnetwork: false,
      pluginDir: join(this.dir.path, `plugins-${name}`),
      metricsAddr: '127.0.0.1:9099',
      bgpPort: TEST_BGP_PORT,
      ...extra,
    };
    // agents must not write the host's /etc/iproute2 (TSNET_RT_PROTOS_FILE empty = off)
    const proc = this.spawn(`agent ${name}`, 'ip', ['netns', 'exec', h.ns.name, process.execPath, ...nodeFlags, ...agentProcessArgs(opts)], logFile, {
      TSNET_RT_PROTOS_FILE: '',
      ...env,
    });
    const agent = { proc, runDir, logFile };
    this.agents.set(name, agent);
    return agent;
  }

  status(name: string): Promise<AgentStatus> {
    return callAgent<AgentStatus>(this.agent(name).runDir, 'GET', '/status', undefined, 2000);
  }

  agent(name: string): LabAgent {
    const a = this.agents.get(name);
    if (!a) throw new Error(`no agent on ${name}`);
    return a;
  }

  /** Waits until the agent on `name` has exactly `peers` sessions, all Established. */
  async waitEstablished(name: string, peers: number, timeoutMs = 20_000): Promise<AgentStatus> {
    return waitFor(
      `${name}: ${peers} sessions Established`,
      async () => {
        const s = await this.status(name);
        return s.peers.length === peers && s.peers.every((p) => p.state === 'up') ? s : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  /** The routes tsnet installed on a host (`ip route show proto 80`), one per line. */
  async routes(name: string): Promise<string[]> {
    const out = await this.host(name).ns.ip('route', 'show', 'proto', '80');
    return out.split('\n').filter((l) => l.trim() !== '');
  }

  /** Waits until `probe(routes of name)` holds. */
  waitRoutes(name: string, what: string, probe: (routes: string[]) => boolean, timeoutMs = 15_000): Promise<string[]> {
    return waitFor(`${name}: ${what}`, async () => {
      const r = await this.routes(name);
      return probe(r) ? r : undefined;
    }, { timeoutMs, intervalMs: 100 });
  }

  /** One IPv4 address for a workload on `host` (from its block, claimed on first use). */
  async allocate(host: string, handle: string, pools?: string[]): Promise<string> {
    const a = await new Ipam(this.ds).autoAssign({ handle, node: host, family: 4, ...(pools ? { pools } : {}) });
    return a.ip.split('/')[0]!;
  }

  /**
   * A workload on `host` with address `ip` (taken by the caller from a block affine to host): a
   * namespace with a routed veth, recorded as an endpoint in the datastore like the plugin does.
   */
  async addWorkload(host: string, id: string, ip: string): Promise<LabWorkload> {
    const h = this.host(host);
    const ns = await Netns.create(`${this.underlay.prefix}w${id}`);
    const runner = new ExecaRunner({ netns: h.ns.name });
    const { hostIfName, tempIfName } = workloadIfNames(id);
    await createWorkloadVeth({ hostIfName, tempIfName, mtu: 1450, runner });
    // the workload namespace is moved by name from inside the host namespace
    await configureNetnsWorkload({ tempIfName, netns: ns.name, ip, runner });
    await this.ds.put('dockerEndpoint', id, { id, networkId: 'lab', ipv4: `${ip}/32`, hostVeth: hostIfName, node: host });
    const w = { ns, ip, id, host };
    this.workloads.push(w);
    return w;
  }

  async ping(from: Netns, ip: string): Promise<boolean> {
    return from.exec('busybox', ['ping', '-c1', '-W1', ip], 5000).then(
      () => true,
      () => false,
    );
  }

  async destroy(): Promise<void> {
    for (const a of this.agents.values()) await a.proc.stop(5000).catch(() => undefined);
    await this.ds?.close().catch(() => undefined);
    for (const p of this.procs.reverse()) await p.stop(3000).catch(() => undefined);
    await new Promise<void>((r) => (this.proxy ? this.proxy.close(() => r()) : r()));
    for (const w of this.workloads) await w.ns.delete();
    await this.underlay.destroy();
    if (!process.env.TSNET_KEEP_LAB) await this.dir.remove();
  }
}
