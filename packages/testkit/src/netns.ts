import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Why network-namespace tests cannot run here, or undefined when they can. */
export function netnsUnsupportedReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespace tests need root';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore', timeout: 5000 });
  } catch {
    return 'iproute2 (ip) is not installed: run scripts/bootstrap';
  }
  return undefined;
}

/** A short prefix unique to this test run; namespace names start with it so cleanup is exact. */
export function uniquePrefix(tag = ''): string {
  return `tsn${tag}${randomBytes(3).toString('hex')}`;
}

const created = new Set<string>();

/** Runs a command with a timeout; rejects with its stderr in the message. */
export async function run(cmd: string, args: string[], timeoutMs = 15_000): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

/** One network namespace this test created. */
export class Netns {
  private constructor(readonly name: string) {}

  /**
   * Creates the namespace. Unless `persistent`, it is also deleted when this process exits (the
   * safety net for tests); the lab keeps its namespaces after the CLI exits.
   */
  static async create(name: string, opts: { persistent?: boolean } = {}): Promise<Netns> {
    await run('ip', ['netns', 'add', name]);
    if (!opts.persistent) created.add(name);
    const ns = new Netns(name);
    await ns.exec('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A handle on an existing namespace (not deleted automatically). */
  static attach(name: string): Netns {
    return new Netns(name);
  }

  /** Runs `cmd args` inside the namespace (ip netns exec), bounded by timeoutMs. */
  exec(cmd: string, args: string[], timeoutMs = 15_000): Promise<string> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], timeoutMs);
  }

  /** `ip -n NAME args`. */
  ip(...args: string[]): Promise<string> {
    return run('ip', ['-n', this.name, ...args]);
  }

  async delete(): Promise<void> {
    created.delete(this.name);
    await run('ip', ['netns', 'del', this.name]).catch(() => undefined);
  }
}

export interface UnderlayHost {
  ns: Netns;
  /** host address without prefix length */
  ip: string;
  cidr: string;
}

/**
 * Test hosts on one underlay: a "switch" namespace holding a bridge (and routing between the
 * subnets on it), each host a namespace with eth0 on the bridge and a default route via the
 * switch, so proxy ARP on host veths works. Nothing is created in the root namespace.
 */
export class Underlay {
  readonly hosts = new Map<string, UnderlayHost>();
  private readonly gateways = new Set<string>();

  private constructor(
    readonly prefix: string,
    readonly sw: Netns,
    private readonly persistent: boolean,
  ) {}

  /** Adopts an underlay created earlier (e.g. by another process), for destroy(). */
  static attach(prefix: string, hostNames: string[]): Underlay {
    const u = new Underlay(prefix, Netns.attach(`${prefix}sw`), true);
    for (const h of hostNames) u.hosts.set(h, { ns: Netns.attach(`${prefix}${h}`), ip: '', cidr: '' });
    return u;
  }

  static async create(prefix = uniquePrefix(), opts: { persistent?: boolean } = {}): Promise<Underlay> {
    const sw = await Netns.create(`${prefix}sw`, opts);
    try {
      await sw.ip('link', 'add', 'br0', 'type', 'bridge');
      await sw.ip('link', 'set', 'br0', 'up');
      await sw.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      await sw.exec('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
    } catch (err) {
      await sw.delete();
      throw err;
    }
    return new Underlay(prefix, sw, opts.persistent ?? false);
  }

  /**
   * Adds host `name` with address `cidr` (e.g. 198.51.100.1/24) and a default route via
   * `gateway` (put on the switch bridge the first time it is used).
   */
  async addHost(name: string, cidr: string, gateway: string): Promise<UnderlayHost> {
    const ns = await Netns.create(`${this.prefix}${name}`, { persistent: this.persistent });
    const plen = cidr.split('/')[1];
    const port = `p${this.hosts.size}${name}`.slice(0, 15);
    await this.sw.ip('link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name);
    await this.sw.ip('link', 'set', port, 'master', 'br0', 'up');
    if (!this.gateways.has(gateway)) {
      this.gateways.add(gateway);
      await this.sw.ip('addr', 'add', `${gateway}/${plen}`, 'dev', 'br0');
    }
    await ns.ip('addr', 'add', cidr, 'dev', 'eth0');
    await ns.ip('link', 'set', 'eth0', 'up');
    await ns.ip('route', 'add', 'default', 'via', gateway);
    const host = { ns, ip: cidr.split('/')[0]!, cidr };
    this.hosts.set(name, host);
    return host;
  }

  async destroy(): Promise<void> {
    for (const h of this.hosts.values()) await h.ns.delete();
    this.hosts.clear();
    await this.sw.delete();
  }
}

/** Last resort: namespaces a crashed test left are removed when its process exits. */
process.once('exit', () => {
  for (const name of created) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore', timeout: 5000 });
    } catch {
      /* already gone */
    }
  }
});
