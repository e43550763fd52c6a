/**
 * Network sync: dockerd keeps its networks per host (driver scope `local`), so a network made
 * with `docker network create` on one host is created by the plugin in every other host's dockerd
 * (same name and subnet, `-o tsnet.network=<id>` tying it to the same tsnet network), learns the
 * names of networks created locally, and removes local copies of networks deleted elsewhere.
 * `planNetworkSync` is the pure part; `DockerNetworkSync` the loop around the Docker API.
 */
import { unixHttp } from '@tsnet/unix-http';
import { NETWORK_ID_OPTION } from './protocol.js';
import { messageOf } from './errors.js';
import type { Logger, NetworkRecord, PluginRecords } from './ports.js';

export interface LocalDockerNetwork {
  Id: string;
  Name: string;
  Driver: string;
  Containers?: Record<string, unknown> | null;
}

export type SyncAction =
  | { kind: 'name'; record: NetworkRecord; name: string }
  | { kind: 'create'; record: NetworkRecord & { name: string } }
  | { kind: 'remove'; network: LocalDockerNetwork };

/** What to do on `node` given its dockerd's tsnet networks and the datastore's networks. */
export function planNetworkSync(
  node: string,
  local: LocalDockerNetwork[],
  records: NetworkRecord[],
): SyncAction[] {
  const actions: SyncAction[] = [];
  const tsnetLocal = local.filter((n) => n.Driver === 'tsnet');
  const localById = new Map(tsnetLocal.map((n) => [n.Id, n]));
  const localNames = new Set(local.map((n) => n.Name));
  const known = new Set<string>();
  for (const rec of records) {
    const dockerId = rec.dockerIds[node];
    const mine = dockerId !== undefined ? localById.get(dockerId) : undefined;
    if (mine) {
      known.add(mine.Id);
      if (rec.name !== mine.Name) actions.push({ kind: 'name', record: rec, name: mine.Name });
    } else if (rec.name && !localNames.has(rec.name)) {
      actions.push({ kind: 'create', record: { ...rec, name: rec.name } });
    }
  }
  for (const n of tsnetLocal) {
    const attached = Object.keys(n.Containers ?? {}).length;
    if (!known.has(n.Id) && attached === 0) actions.push({ kind: 'remove', network: n });
  }
  return actions;
}

/** A tiny Docker Engine API client on a unix socket (only what the sync needs). */
export class DockerApi {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 30_000,
  ) {}

  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const reply = await unixHttp({ socketPath: this.socketPath, method, path: `/v1.41${path}`, body, timeoutMs: this.timeoutMs, what: 'docker' });
    if (reply.status >= 300) {
      let msg = reply.text.trim();
      try {
        msg = (JSON.parse(reply.text) as { message?: string }).message ?? msg;
      } catch {
        /* not JSON: keep the text */
      }
      throw new Error(`docker ${method} ${path}: ${msg || `HTTP ${reply.status}`}`);
    }
    return (reply.text ? JSON.parse(reply.text) : undefined) as T;
  }

  listNetworks(): Promise<LocalDockerNetwork[]> {
    return this.call('GET', '/networks');
  }
}

export class DockerNetworkSync {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly failedCreates = new Map<string, string>();

  constructor(
    private readonly docker: DockerApi,
    private readonly records: PluginRecords,
    private readonly node: string,
    private readonly log: Logger,
    private readonly intervalMs = 2000,
  ) {}

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.syncOnce()
        .then(() => undefined)
        .catch((err) =>
          this.log.debug({ err: messageOf(err) }, 'network sync: docker or datastore not reachable yet'),
        )
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.timer = setTimeout(tick, 200);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: plan, then act; each action's failure is logged and retried on the next pass. */
  async syncOnce(): Promise<SyncAction[]> {
    const [local, records] = await Promise.all([this.docker.listNetworks(), this.records.listNetworks()]);
    const actions = planNetworkSync(this.node, local, records);
    for (const a of actions) {
      try {
        await this.apply(a);
      } catch (err) {
        const key = a.kind === 'remove' ? a.network.Id : a.record.id;
        const msg = messageOf(err);
        if (this.failedCreates.get(key) !== msg)
          this.log.warn({ action: a.kind, network: key, err: msg }, 'network sync step failed');
        this.failedCreates.set(key, msg);
      }
    }
    return actions;
  }

  private async apply(a: SyncAction): Promise<void> {
    if (a.kind === 'name') {
      await this.records.updateNetwork(a.record.id, (cur) => (cur ? { ...cur, name: a.name } : undefined));
    } else if (a.kind === 'create') {
      const r = a.record;
      const config = [r.ipv4Pool, r.ipv6Pool]
        .filter((p): p is string => p !== null)
        .map((Subnet) => ({ Subnet }));
      await this.docker.call('POST', '/networks/create', {
        Name: r.name,
        CheckDuplicate: true,
        Driver: 'tsnet',
        EnableIPv6: r.ipv6,
        IPAM: { Driver: 'tsnet', Config: config },
        Options: { [NETWORK_ID_OPTION]: r.id },
      });
      this.log.info(
        { network: r.id, name: r.name },
        'network created in local dockerd (made on another host)',
      );
    } else {
      await this.docker.call('DELETE', `/networks/${a.network.Id}`);
      this.log.info(
        { dockerId: a.network.Id, name: a.network.Name },
        'network removed from local dockerd (deleted on another host)',
      );
    }
  }
}
