/**
 * The Docker e2e lab: AgentLab hosts (real etcd, one node agent per host programming routes and
 * proxy ARP) plus, per host, the tsnet plugin process and a real dockerd in the host's network
 * namespace that finds that plugin under its /run/docker/plugins.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Dockerd, TrackedProcess, waitFor } from '@tsnet/testkit';
import { AgentLab } from './agent-lab.js';

const here = fileURLToPath(new URL('.', import.meta.url));
export const PLUGIN_ENTRY = join(here, 'docker-plugin-entry.js');

export interface DockerHost {
  name: string;
  netns: string;
  pluginDir: string;
  pluginLog: string;
  plugin: TrackedProcess | undefined;
  dockerd: Dockerd;
}

export class DockerLab {
  readonly hosts = new Map<string, DockerHost>();

  constructor(readonly lab: AgentLab) {}

  get(name: string): DockerHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no docker host ${name}`);
    return h;
  }

  /** Plugin + dockerd on lab host `name` (its agent is started separately). */
  async addDockerHost(name: string): Promise<DockerHost> {
    const ns = this.lab.host(name).ns.name;
    const pluginDir = join(this.lab.dir.path, `plugins-${name}`);
    const dockerd = await Dockerd.start({ netns: ns, pluginDir, label: name });
    const host: DockerHost = {
      name,
      netns: ns,
      pluginDir,
      pluginLog: join(this.lab.dir.path, `plugin-${name}.log`),
      plugin: undefined,
      dockerd,
    };
    this.hosts.set(name, host);
    await this.startPlugin(name);
    return host;
  }

  async startPlugin(name: string): Promise<void> {
    const h = this.get(name);
    const opts = {
      etcd: [this.lab.etcdUrl],
      name,
      pluginDir: h.pluginDir,
      dockerSocket: h.dockerd.socketPath,
    };
    const sock = join(h.pluginDir, 'tsnet.sock');
    h.plugin = new TrackedProcess(
      `plugin ${name}`,
      'ip',
      ['netns', 'exec', h.netns, process.execPath, PLUGIN_ENTRY, JSON.stringify(opts)],
      {
        logFile: h.pluginLog,
      },
    );
    const proc = h.plugin;
    await waitFor(
      `plugin socket of ${name}`,
      () => {
        if (!proc.running) throw new Error(`plugin on ${name} exited; see ${h.pluginLog}`);
        return existsSync(sock);
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  }

  async stopPlugin(name: string): Promise<void> {
    await this.get(name).plugin?.stop(5000);
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
    for (const h of this.hosts.values()) {
      await h.dockerd.stop().catch(() => undefined);
      await h.plugin?.stop(5000).catch(() => undefined);
    }
  }
}
