/**
 * The Docker e2e lab: AgentLab hosts (real etcd in the switch namespace) where each host runs a
 * real dockerd in its network namespace and the node agent with `libnetwork: true` — the product
 * path of `tsctl node --libnetwork`: the agent serves the tsnet plugin on the folder bind-mounted
 * as that dockerd's /run/docker/plugins, and mirrors networks into it (DOCKER_HOST = its socket).
 */
import { join } from 'node:path';
import { Dockerd, waitFor } from '@tsnet/testkit';
import { AgentLab } from './agent-lab.js';

export interface DockerHost {
  name: string;
  netns: string;
  /** bind-mounted as this host's /run/docker/plugins; the agent serves tsnet.sock in it */
  pluginDir: string;
  dockerd: Dockerd;
}

/** How an agent is stopped before it is started again. */
export type AgentStop = 'SIGKILL' | 'SIGTERM';

export class DockerLab {
  readonly hosts = new Map<string, DockerHost>();

  constructor(readonly lab: AgentLab) {}

  get(name: string): DockerHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no docker host ${name}`);
    return h;
  }

  /** dockerd on lab host `name`, then its node agent serving the plugin to it. */
  async addDockerHost(name: string): Promise<DockerHost> {
    const ns = this.lab.host(name).ns.name;
    const pluginDir = join(this.lab.dir.path, `plugins-${name}`);
    const dockerd = await Dockerd.start({ netns: ns, pluginDir, label: name });
    const host: DockerHost = { name, netns: ns, pluginDir, dockerd };
    this.hosts.set(name, host);
    await this.startAgent(name);
    return host;
  }

  /** Starts the agent of `name` with the plugin and waits until it answers (plugin socket up by then). */
  async startAgent(name: string): Promise<void> {
    const h = this.get(name);
    await this.lab.startAgent(
      name,
      { libnetwork: true, pluginDir: h.pluginDir },
      { DOCKER_HOST: `unix://${h.dockerd.socketPath}` },
    );
  }

  /**
   * Restarts the agent (and with it the plugin) of `name`: SIGKILL (a crash: nothing cleaned up)
   * or SIGTERM (a clean stop), then `whileDown`, then a start; resolves once it answers again.
   */
  async restartAgent(name: string, how: AgentStop, whileDown?: () => Promise<void>): Promise<void> {
    const { proc } = this.lab.agent(name);
    proc.signal(how);
    await waitFor(`agent ${name} to exit after ${how}`, async () => !proc.running, {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    await whileDown?.();
    await this.startAgent(name);
  }

  docker(name: string, args: string[], timeoutMs?: number): Promise<string> {
    return this.get(name).dockerd.docker(args, timeoutMs);
  }

  /** The container's address on its (only) network. */
  async ipOf(host: string, container: string): Promise<string> {
    return this.docker(host, [
      'inspect',
      '-f',
      '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
      container,
    ]);
  }

  /** One ping from inside a container; true when answered. */
  ping(host: string, container: string, ip: string): Promise<boolean> {
    return this.docker(host, ['exec', container, 'ping', '-c1', '-W1', ip], 10_000).then(
      () => true,
      () => false,
    );
  }

  async waitPing(host: string, container: string, ip: string, timeoutMs = 20_000): Promise<true> {
    try {
      return await waitFor(
        `${container}@${host} → ${ip}`,
        async () => (await this.ping(host, container, ip)) || undefined,
        { timeoutMs, intervalMs: 200 },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await this.diagnose()}`);
    }
  }

  /** Routes, links and isolation rules of every host, for failure messages. */
  async diagnose(): Promise<string> {
    const parts: string[] = [];
    for (const h of this.hosts.values()) {
      const ns = this.lab.host(h.name).ns;
      const show = async (what: string, p: Promise<string>): Promise<void> => {
        parts.push(`--- ${h.name}: ${what}\n${(await p.catch((e: Error) => e.message)).trim()}`);
      };
      await show('ip route', ns.ip('route'));
      await show('ip -o link', ns.ip('-o', 'link'));
      await show('iptables filter', ns.exec('iptables-save', ['-t', 'filter']));
    }
    return parts.join('\n');
  }

  async destroy(): Promise<void> {
    // the agents are stopped by AgentLab.destroy
    for (const h of this.hosts.values()) await h.dockerd.stop().catch(() => undefined);
  }
}
