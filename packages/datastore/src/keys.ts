// Key layout: one descriptor row per record kind (path under the prefix, id segments, validator),
// so adding a kind is one row. Values are stored as {"kind","version","spec"} JSON envelopes.
import {
  validateAffinity,
  validateBlock,
  validateClusterConfig,
  validateDockerEndpoint,
  validateDockerNetwork,
  validateHandle,
  validateNode,
  validateNodeStatus,
  validatePeer,
  validatePool,
  type AllocationHandle,
  type BgpPeer,
  type Block,
  type BlockAffinity,
  type ClusterConfig,
  type DockerEndpoint,
  type DockerNetwork,
  type IpPool,
  type NodeRecord,
  type NodeStatus,
} from './model.js';
import { prefixEnd } from './kv.js';

/** Record kind → value type. */
export interface RecordTypes {
  clusterConfig: ClusterConfig;
  node: NodeRecord;
  globalPeer: BgpPeer;
  nodePeer: BgpPeer;
  pool: IpPool;
  block: Block;
  affinity: BlockAffinity;
  handle: AllocationHandle;
  nodeStatus: NodeStatus;
  dockerNetwork: DockerNetwork;
  dockerEndpoint: DockerEndpoint;
}
export type Kind = keyof RecordTypes;

/**
 * Identifies a record within its kind: a string for one-segment ids (node name, pool CIDR, ...),
 * `[node, ip]` for nodePeer, `[node, blockCidr]` for affinity, `[]` (or '') for clusterConfig.
 */
export type RecordId = string | readonly string[];

/** Schema version written in every envelope; readers accept versions <= this. */
export const SCHEMA_VERSION = 1;

type Segment = 'name' | 'cidr';
interface KindRow {
  /** Type tag in the envelope. */
  tag: string;
  /** Path below `<prefix>/v1/`. */
  path: string;
  /** How each id segment is encoded in the key. */
  id: readonly Segment[];
  validate: (v: unknown) => unknown;
}

export const KINDS: { readonly [K in Kind]: KindRow } = {
  clusterConfig: { tag: 'ClusterConfig', path: 'config/cluster', id: [], validate: validateClusterConfig },
  node: { tag: 'Node', path: 'nodes', id: ['name'], validate: validateNode },
  globalPeer: { tag: 'BgpPeer', path: 'bgp/global', id: ['name'], validate: validatePeer },
  nodePeer: { tag: 'BgpPeer', path: 'bgp/node', id: ['name', 'name'], validate: validatePeer },
  pool: { tag: 'IpPool', path: 'ipam/pools', id: ['cidr'], validate: validatePool },
  block: { tag: 'Block', path: 'ipam/blocks', id: ['cidr'], validate: validateBlock },
  affinity: { tag: 'BlockAffinity', path: 'ipam/affinities', id: ['name', 'cidr'], validate: validateAffinity },
  handle: { tag: 'Handle', path: 'ipam/handles', id: ['name'], validate: validateHandle },
  nodeStatus: { tag: 'NodeStatus', path: 'status', id: ['name'], validate: validateNodeStatus },
  dockerNetwork: { tag: 'DockerNetwork', path: 'libnetwork/networks', id: ['name'], validate: validateDockerNetwork },
  dockerEndpoint: { tag: 'DockerEndpoint', path: 'libnetwork/endpoints', id: ['name'], validate: validateDockerEndpoint },
};

const ALL_KINDS = Object.keys(KINDS) as Kind[];

function encodeSegment(s: string, how: Segment): string {
  if (s === '') throw new Error('empty id segment');
  // CIDRs read well in keys as 192.168.0.0-26 (Calico's style); other ids are URI-escaped.
  return how === 'cidr' ? s.replace('/', '-') : encodeURIComponent(s);
}
function decodeSegment(s: string, how: Segment): string {
  if (how !== 'cidr') return decodeURIComponent(s);
  const i = s.lastIndexOf('-');
  return i < 0 ? s : `${s.slice(0, i)}/${s.slice(i + 1)}`;
}

export function idParts(id: RecordId): readonly string[] {
  return typeof id === 'string' ? (id === '' ? [] : [id]) : id;
}

/** Key builder and parser for one prefix. */
export class Keys {
  /** Root of all tsnet keys, e.g. '/tsnet/v1/'. */
  readonly root: string;

  constructor(readonly prefix = '/tsnet') {
    this.root = `${prefix.replace(/\/+$/, '')}/v1/`;
  }

  /** Full key of one record. */
  key(kind: Kind, id: RecordId): string {
    const row = KINDS[kind];
    const parts = idParts(id);
    if (parts.length !== row.id.length) throw new Error(`${kind} id needs ${row.id.length} part(s)`);
    return this.root + [row.path, ...parts.map((p, i) => encodeSegment(p, row.id[i]!))].join('/');
  }

  /** Key prefix of a kind, optionally narrowed by leading id parts (e.g. one node's peers). */
  kindPrefix(kind: Kind, parent: readonly string[] = []): string {
    const row = KINDS[kind];
    if (row.id.length === 0) return this.key(kind, []);
    return this.root + [row.path, ...parent.map((p, i) => encodeSegment(p, row.id[i]!))].join('/') + '/';
  }

  /**
   * The one key range a watch of `kinds` (default all) needs: from the first kind's path to the
   * end of the last one's, so kinds after them stay out of it. The agent's kinds end at 'nodes',
   * before 'status': the heartbeats every node writes every few seconds are not sent to every
   * watching agent (kinds inside the range are still filtered by the reader).
   */
  watchRange(kinds?: ReadonlySet<Kind>): { key: string; end: Buffer } {
    if (!kinds || kinds.size === 0) return { key: this.root, end: prefixEnd(this.root) };
    const paths = [...kinds].map((k) => this.root + KINDS[k].path).sort();
    const ends = paths.map((p) => prefixEnd(p)).sort(Buffer.compare);
    return { key: paths[0]!, end: ends[ends.length - 1]! };
  }

  /** Internal guard key that serializes changes to the set of pools. */
  get poolsGuard(): string {
    return `${this.root}ipam/pools-guard`;
  }

  /** Internal key bumped by every block claim in a pool, so pool removal sees concurrent claims. */
  poolClaims(poolCidr: string): string {
    return `${this.root}ipam/claims/${encodeSegment(poolCidr, 'cidr')}`;
  }

  /** Internal bookkeeping keys (not records; skipped by lists, snapshots and watches). */
  isInternal(key: string): boolean {
    return key === this.poolsGuard || key.startsWith(`${this.root}ipam/claims/`);
  }

  /** Which kind and id a key belongs to, or undefined for keys outside the model. */
  parse(key: string): { kind: Kind; id: string[] } | undefined {
    if (!key.startsWith(this.root)) return undefined;
    const rest = key.slice(this.root.length);
    // Longest path first: 'bgp/node' must not be read as a 'bgp/...' sibling.
    for (const kind of ALL_KINDS) {
      const row = KINDS[kind];
      if (row.id.length === 0) {
        if (rest === row.path) return { kind, id: [] };
        continue;
      }
      if (!rest.startsWith(row.path + '/')) continue;
      const segs = rest.slice(row.path.length + 1).split('/');
      if (segs.length !== row.id.length || segs.some((s) => s === '')) continue;
      try {
        return { kind, id: segs.map((s, i) => decodeSegment(s, row.id[i]!)) };
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}

/** Serializes a record into its envelope. */
export function encodeValue<K extends Kind>(kind: K, value: RecordTypes[K]): string {
  return JSON.stringify({ kind: KINDS[kind].tag, version: SCHEMA_VERSION, spec: value });
}

/** Parses and validates an envelope; throws a one-line reason when it is not a valid `kind`. */
export function decodeValue<K extends Kind>(kind: K, raw: string): RecordTypes[K] {
  let env: unknown;
  try {
    env = JSON.parse(raw);
  } catch {
    throw new Error(`not JSON (${JSON.stringify(raw.slice(0, 40))})`);
  }
  if (typeof env !== 'object' || env === null) throw new Error('not a tsnet record (no envelope)');
  const e = env as { kind?: unknown; version?: unknown; spec?: unknown };
  const tag = KINDS[kind].tag;
  if (e.kind !== tag) throw new Error(`expected kind ${tag}, found ${JSON.stringify(e.kind ?? null)}`);
  if (typeof e.version !== 'number' || e.version < 1 || e.version > SCHEMA_VERSION) {
    throw new Error(`unsupported ${tag} version ${JSON.stringify(e.version ?? null)} (this tsnet reads <= ${SCHEMA_VERSION})`);
  }
  return KINDS[kind].validate(e.spec) as RecordTypes[K];
}
