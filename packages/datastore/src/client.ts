// The Datastore: the typed store plus watches and the domain helpers tsctl and the agent use.
import { isIP } from 'node:net';
import { TsnetError } from './errors.js';
import type { Kind } from './keys.js';
import { DEFAULT_CLUSTER_CONFIG, type BgpPeer, type ClusterConfig, type NodeRecord, type NodeStatus } from './model.js';
import type { DatastoreOptions } from './options.js';
import type { KvClient } from './kv.js';
import { kvClient } from './kv-select.js';
import { parsePrefix } from './prefix.js';
import { EtcdStore } from './store.js';
import { DatastoreWatch, snapshot, type Snapshot, type WatchHandlers, type WatchOptions } from './watch.js';

export { isUnreachable, type Stored, type AnyStored, type ListResult, type TxnCondition, type TxnOp, type TxnResult, type RawTxn } from './store.js';

export class Datastore extends EtcdStore {
  private constructor(kv: KvClient, opts: DatastoreOptions) {
    super(kv, opts);
  }

  /**
   * Connects and checks that etcd answers within `timeoutMs`; throws EtcdUnreachableError
   * ("cannot reach etcd at URL (tried for 5 s): is etcd running? ...") otherwise.
   */
  static async connect(opts: DatastoreOptions): Promise<Datastore> {
    const ds = Datastore.create(opts);
    try {
      await ds.revision();
    } catch (err) {
      await ds.close();
      throw err;
    }
    return ds;
  }

  /** Like connect() without the reachability probe (calls still fail clearly when unreachable). */
  static create(opts: DatastoreOptions): Datastore {
    return new Datastore(kvClient(opts), opts);
  }

  /**
   * Watches the model: first a full snapshot (unless `resumeAfter`), then every change once, in
   * order, across reconnects; a compacted resume point yields a fresh snapshot. Close it when done.
   */
  async watch(handlers: WatchHandlers, opts: WatchOptions = {}): Promise<DatastoreWatch> {
    if (this.isClosed) throw new Error('datastore is closed');
    const w = new DatastoreWatch(this, handlers, opts);
    const closer = () => w.close();
    this.closers.add(closer);
    w.onClose(() => this.closers.delete(closer));
    try {
      await w.start(opts.resumeAfter !== undefined);
    } catch (err) {
      await w.close();
      throw err;
    }
    return w;
  }

  /** Consistent full state of the given kinds (default all) at one revision. */
  async snapshot(kinds?: readonly Kind[]): Promise<Snapshot> {
    return snapshot(this, kinds ? new Set(kinds) : undefined);
  }

  // ---- domain helpers (thin wrappers over the typed API) --------------------------------------

  /** The cluster config, with defaults (AS 64511, mesh on) for an absent record. */
  async getClusterConfig(): Promise<ClusterConfig> {
    const cur = await this.get('clusterConfig', []);
    return { ...DEFAULT_CLUSTER_CONFIG, ...cur?.value };
  }

  /** Changes cluster config fields atomically (read-modify-write on mod revision). */
  async setClusterConfig(patch: Partial<ClusterConfig>): Promise<ClusterConfig> {
    if (patch.defaultAsn !== undefined) checkAsn(patch.defaultAsn);
    const next = await this.update('clusterConfig', [], (cur) => ({ ...DEFAULT_CLUSTER_CONFIG, ...cur, ...patch }));
    return next!;
  }

  async getNode(name: string): Promise<NodeRecord | undefined> {
    return (await this.get('node', name))?.value;
  }

  /** All valid nodes, sorted by name (bad values are reported through onBadValue and skipped). */
  async listNodes(): Promise<NodeRecord[]> {
    return (await this.list('node')).items.map((i) => i.value).sort((a, b) => a.name.localeCompare(b.name));
  }

  async putNode(node: NodeRecord): Promise<void> {
    if (node.asn !== undefined) checkAsn(node.asn);
    for (const ip of [node.ipv4, node.ipv6]) if (ip !== undefined && isIP(ip) === 0) throw new TsnetError(`bad node address ${ip}: give an IPv4 or IPv6 address`, 'usage');
    await this.put('node', node.name, node);
  }

  /** Removes a node with its BGP peers and status; returns whether it existed. IPAM is separate. */
  async deleteNode(name: string): Promise<boolean> {
    const existed = await this.delete('node', name);
    await this.deleteAll('nodePeer', [name]);
    await this.delete('nodeStatus', name);
    return existed;
  }

  async listGlobalPeers(): Promise<BgpPeer[]> {
    return (await this.list('globalPeer')).items.map((i) => i.value);
  }

  async addGlobalPeer(peer: BgpPeer): Promise<void> {
    const p = checkPeer(peer);
    await this.put('globalPeer', p.ip, { ip: p.ip, asn: p.asn, ...acceptOf(p) });
  }

  async removeGlobalPeer(ip: string): Promise<boolean> {
    return this.delete('globalPeer', canonicalIp(ip));
  }

  async listNodePeers(node: string): Promise<BgpPeer[]> {
    return (await this.list('nodePeer', [node])).items.map((i) => i.value);
  }

  async addNodePeer(node: string, peer: BgpPeer): Promise<void> {
    const p = checkPeer(peer);
    await this.put('nodePeer', [node, p.ip], { ip: p.ip, asn: p.asn, node, ...acceptOf(p) });
  }

  async removeNodePeer(node: string, ip: string): Promise<boolean> {
    return this.delete('nodePeer', [node, canonicalIp(ip)]);
  }

  /** Records a node agent heartbeat. */
  async heartbeat(status: NodeStatus): Promise<void> {
    await this.put('nodeStatus', status.node, status);
  }

  async listNodeStatus(): Promise<NodeStatus[]> {
    return (await this.list('nodeStatus')).items.map((i) => i.value);
  }
}

function checkAsn(asn: number): void {
  if (!Number.isInteger(asn) || asn < 1 || asn > 4294967295) throw new TsnetError(`bad AS number ${asn}: give an integer in 1..4294967295`, 'usage');
}

/** An IP in canonical text (IPv6 lower-case, compressed by the URL parser). */
export function canonicalIp(ip: string): string {
  const v = isIP(ip);
  if (v === 0) throw new TsnetError(`bad IP address ${ip}: give an IPv4 or IPv6 address`, 'usage');
  return v === 4 ? ip : new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

/** Checks a peer before any write: AS, address and import list, each made canonical. */
function checkPeer(peer: BgpPeer): BgpPeer {
  checkAsn(peer.asn);
  const ip = canonicalIp(peer.ip);
  return peer.acceptPrefixes === undefined ? { ...peer, ip } : { ...peer, ip, acceptPrefixes: canonicalPrefixes(peer.acceptPrefixes) };
}

const acceptOf = (p: BgpPeer): Pick<BgpPeer, 'acceptPrefixes'> => (p.acceptPrefixes ? { acceptPrefixes: p.acceptPrefixes } : {});

/**
 * A peer's import list in canonical text, duplicates dropped, order kept; a bad CIDR (or one with
 * host bits set) is a usage error naming it.
 */
export function canonicalPrefixes(prefixes: readonly string[]): string[] {
  const out: string[] = [];
  for (const text of prefixes) {
    const p = parsePrefix(text);
    if (!p) throw new TsnetError(`bad prefix ${text} in --accept: give CIDRs like 10.0.0.0/8`, 'usage');
    if (p.hostBitsSet) throw new TsnetError(`bad prefix ${text} in --accept: host bits are set; did you mean ${p.canonical}?`, 'usage');
    if (!out.includes(p.canonical)) out.push(p.canonical);
  }
  return out;
}
