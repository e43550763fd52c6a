/**
 * Datastore records → the controller's ClusterSnapshot (pure). Borrowed addresses come from the
 * blocks: an allocation whose node differs from the block's affinity.
 */
import { DEFAULT_CLUSTER_CONFIG, type AnyStored, type BgpPeer, type NodeRecord as StoredNode } from '@tsnet/datastore';
import type { ClusterSnapshot, NodeRecord, PeerRecord } from './model.js';
import { bigintToIp, byText, parseCidr } from './net.js';

export function nodeFromStored(n: StoredNode): NodeRecord {
  return {
    name: n.name,
    ipv4: n.ipv4 ?? null,
    ...(n.ipv4Network ? { ipv4Cidr: n.ipv4Network } : {}),
    ipv6: n.ipv6 ?? null,
    ...(n.asn !== undefined ? { asn: n.asn } : {}),
    ...(n.routeReflector ? { routeReflectorClusterId: n.routeReflector.clusterId } : {}),
    ...(n.vxlanTunnelAddr && n.vxlanTunnelMac ? { vtep: { ip: n.vxlanTunnelAddr, mac: n.vxlanTunnelMac } } : {}),
  };
}

/** What the operator allows a peer to send us; absent = the pools (see acceptRoute). */
const acceptOf = (peer: BgpPeer): Pick<PeerRecord, 'acceptPrefixes'> => (peer.acceptPrefixes ? { acceptPrefixes: peer.acceptPrefixes } : {});

type StoredBlock = Extract<AnyStored, { kind: 'block' }>['value'];
interface BlockView {
  block: ClusterSnapshot['blocks'][number];
  borrowed: ClusterSnapshot['borrowed'];
}

/**
 * A block's use per node and its borrowed addresses, once per stored value: the snapshot is
 * rebuilt after every change, and walking every block's allocations each time (64 per /26) was
 * the agent's largest cost while a cluster forms. Values are replaced, never changed, on updates.
 */
const blockViews = new WeakMap<StoredBlock, BlockView>();
function blockView(b: StoredBlock): BlockView {
  let v = blockViews.get(b);
  if (v) return v;
  const c = parseCidr(b.cidr);
  const inUse: Record<string, number> = {};
  const borrowed: BlockView['borrowed'] = [];
  b.allocations.forEach((attr, ordinal) => {
    if (attr === null) return;
    const node = b.attributes[attr]?.node;
    if (!node) return;
    inUse[node] = (inUse[node] ?? 0) + 1;
    if (node !== b.affinity) borrowed.push({ ip: bigintToIp(c.net + BigInt(ordinal), c.family), node });
  });
  v = { block: { cidr: b.cidr, affinity: b.affinity, inUse }, borrowed };
  blockViews.set(b, v);
  return v;
}

export function clusterFromRecords(records: Iterable<AnyStored>): ClusterSnapshot {
  const snap: ClusterSnapshot = {
    config: { defaultAsn: DEFAULT_CLUSTER_CONFIG.defaultAsn, nodeMesh: DEFAULT_CLUSTER_CONFIG.nodeMesh },
    nodes: [],
    pools: [],
    peers: [],
    blocks: [],
    borrowed: [],
    endpoints: [],
  };
  for (const r of records) {
    switch (r.kind) {
      case 'clusterConfig':
        snap.config = { defaultAsn: r.value.defaultAsn, nodeMesh: r.value.nodeMesh };
        break;
      case 'node':
        snap.nodes.push(nodeFromStored(r.value));
        break;
      case 'pool':
        snap.pools.push({ ...r.value });
        break;
      case 'globalPeer':
        snap.peers.push({ address: r.value.ip, asn: r.value.asn, ...acceptOf(r.value) });
        break;
      case 'nodePeer':
        snap.peers.push({ address: r.value.ip, asn: r.value.asn, node: r.value.node ?? r.id[0]!, ...acceptOf(r.value) });
        break;
      case 'block': {
        const v = blockView(r.value);
        snap.blocks.push(v.block);
        snap.borrowed.push(...v.borrowed);
        break;
      }
      case 'dockerEndpoint': {
        const e = r.value;
        // the plugin keeps records of endpoints that left (active: false); their veth is gone
        if ((e as { active?: boolean }).active === false) break;
        const ips = [e.ipv4, e.ipv6].filter((x): x is string => !!x);
        snap.endpoints.push({ node: e.node, id: e.id, ips, hostIf: e.hostVeth });
        break;
      }
      default:
        break;
    }
  }
  snap.nodes.sort((a, b) => byText(a.name, b.name));
  return snap;
}

/**
 * Whether a stored block matters to `node`'s agent: affine to it (announced, blackholed) or
 * holding addresses it borrowed (announced as /32s). Other blocks reach it as BGP routes, so
 * their changes need no sync there — with many nodes, every block change would otherwise wake
 * every agent.
 */
export function blockConcerns(stored: AnyStored | undefined, node: string): boolean {
  if (stored?.kind !== 'block') return false;
  const b = stored.value;
  return b.affinity === node || b.allocations.some((a) => a !== null && b.attributes[a]?.node === node);
}
