/**
 * ClusterStore over @tsnet/datastore: registers the node, follows the model by watch (snapshot
 * then events) into an in-memory map, and derives the controller's snapshot from it on demand.
 */
import { Datastore, EtcdUnreachableError, type AnyStored, type DatastoreWatch, type Kind, type NodeRecord } from '@tsnet/datastore';
import type { EtcdConnection } from './options.js';
import type { ClusterSnapshot } from './model.js';
import type { ClusterStore, SelfRegistration } from './ports.js';
import { blockConcerns, clusterFromRecords } from './snapshot.js';
import type { Logger } from './log.js';
import { ensureDefaultPools, ensureVtepAddress } from './ipam-glue.js';

/**
 * How long a VTEP this agent wrote may take to come back through the watch before it is written
 * again (passes in between wait for it instead of writing it once more each).
 */
export const VTEP_ECHO_MS = 5000;

/** The kinds the agent acts on (heartbeats, handles and affinities only add noise). */
const FOLLOWED: Kind[] = ['clusterConfig', 'node', 'globalPeer', 'nodePeer', 'pool', 'block', 'dockerEndpoint'];

export class DatastoreClusterStore implements ClusterStore {
  private readonly records = new Map<string, AnyStored>();
  private cached: ClusterSnapshot | undefined;
  private watch: DatastoreWatch | undefined;
  private connected = true;
  private lastError: string | undefined;
  /** this node's name, once registered */
  private self: string | undefined;
  /** when this agent last wrote its node's VTEP (performance.now()) */
  private vtepWrittenAt = -Infinity;

  private constructor(
    readonly ds: Datastore,
    private readonly log: Logger,
  ) {}

  /** Connects, retrying while etcd is unreachable for up to `waitMs` (progress via onWait). */
  static async connect(
    etcd: EtcdConnection,
    log: Logger,
    onWait: (msg: string) => void,
    waitMs = 60_000,
  ): Promise<DatastoreClusterStore> {
    const opts = {
      endpoints: etcd.endpoints,
      ...(etcd.caFile ? { caFile: etcd.caFile } : {}),
      ...(etcd.certFile ? { certFile: etcd.certFile } : {}),
      ...(etcd.keyFile ? { keyFile: etcd.keyFile } : {}),
      ...(etcd.prefix ? { prefix: etcd.prefix } : {}),
      onBadValue: (bad: { key: string; reason: string }) => log.warn(bad, 'ignoring bad datastore value'),
    };
    const deadline = Date.now() + waitMs;
    for (;;) {
      onWait(`waiting for etcd at ${etcd.endpoints.join(',')}`);
      try {
        return new DatastoreClusterStore(await Datastore.connect(opts), log);
      } catch (err) {
        // unreachable etcd is waited for (it may be starting too); anything else is fatal
        if (!(err instanceof EtcdUnreachableError) || Date.now() >= deadline) throw err;
        log.warn({ err: err.message }, 'etcd not reachable yet');
      }
    }
  }

  async register(self: SelfRegistration): Promise<void> {
    this.self = self.name;
    await this.ds.update('node', self.name, (cur) => {
      const next: NodeRecord = { ...cur, name: self.name, ipv4: self.ipv4 };
      if (self.ipv4Network) next.ipv4Network = self.ipv4Network;
      if (self.ipv6) next.ipv6 = self.ipv6;
      else delete next.ipv6;
      if (self.asn !== undefined) next.asn = self.asn;
      else delete next.asn;
      next.lastSeen = new Date().toISOString();
      return next;
    });
    await ensureDefaultPools(this.ds);
  }

  async follow(onChange: () => void): Promise<void> {
    this.watch = await this.ds.watch(
      {
        onSnapshot: (snap) => {
          this.records.clear();
          for (const r of snap.records) this.records.set(r.key, r);
          this.cached = undefined;
          onChange();
        },
        onEvent: (ev) => {
          if (ev.type === 'bad') return;
          this.log.debug({ kind: ev.kind, type: ev.type }, 'datastore change');
          const before = this.records.get(ev.key);
          if (ev.type === 'delete') this.records.delete(ev.key);
          else this.records.set(ev.key, ev);
          // Another node's block (nothing of ours in it, before or after) changes nothing here: no
          // sync, and the snapshot is not rebuilt for it either (every UPDATE's import policy reads
          // it). Its list of other nodes' blocks may then lag until the next change; nothing the
          // agent does reads those (announcements, dataplane and metrics look at ours only).
          if (ev.kind === 'block' && this.self !== undefined && !blockConcerns(before, this.self) && !blockConcerns(this.records.get(ev.key), this.self)) return;
          this.cached = undefined;
          onChange();
        },
        onStatus: (status, err) => {
          this.connected = status !== 'disconnected';
          this.lastError = err ? err.message : undefined;
          this.log.info({ status, err: err?.message }, 'datastore watch');
        },
        onError: (err) => this.log.error({ err }, 'datastore watch handler failed'),
      },
      { kinds: FOLLOWED },
    );
  }

  current(): ClusterSnapshot {
    this.cached ??= clusterFromRecords(this.records.values());
    return this.cached;
  }

  async ensureVtep(name: string): Promise<boolean> {
    const snap = this.current();
    const self = snap.nodes.find((n) => n.name === name);
    if (!self || self.vtep) return false;
    const pool = snap.pools.find((p) => p.vxlanMode !== 'never' && !p.disabled && !p.cidr.includes(':'));
    if (!pool) return false;
    // written a moment ago, not back from the watch yet: the pass waits for it (at start several
    // passes come before the echo, and each wrote it again: IPAM reads and a node update apiece)
    if (performance.now() - this.vtepWrittenAt < VTEP_ECHO_MS) return true;
    const vtep = await ensureVtepAddress(this.ds, name, pool.cidr);
    await this.ds.update('node', name, (cur) =>
      cur ? { ...cur, vxlanTunnelAddr: vtep.ip, vxlanTunnelMac: vtep.mac } : cur,
    );
    this.vtepWrittenAt = performance.now();
    this.log.info({ vtep }, 'recorded this node\u2019s VXLAN tunnel endpoint');
    return true;
  }

  async heartbeat(s: { node: string; startedAt: string; pid: number; version: string }): Promise<void> {
    await this.ds.heartbeat({ node: s.node, heartbeat: new Date().toISOString(), startedAt: s.startedAt, pid: s.pid, agentVersion: s.version });
  }

  async clearHeartbeat(node: string): Promise<void> {
    await this.ds.delete('nodeStatus', node);
  }

  problems(): string[] {
    return this.connected ? [] : [`datastore unreachable (${this.lastError ?? 'watch disconnected'}): check etcd`];
  }

  async close(): Promise<void> {
    await this.watch?.close().catch(() => undefined);
    await this.ds.close();
  }
}
