import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  acceptRoute,
  desiredAnnouncements,
  dataplaneInput,
  desiredPeers,
  diffAnnouncements,
  diffPeers,
} from './controller.js';
import type { ClusterSnapshot, DesiredPeer, PoolRecord } from './model.js';
import { EXTERNAL_ROUTE_METRIC } from '@tsnet/dataplane';

const pool = (cidr: string, o: Partial<PoolRecord> = {}): PoolRecord => ({
  cidr,
  ipipMode: 'never',
  vxlanMode: 'never',
  natOutgoing: false,
  disabled: false,
  blockSize: 26,
  ...o,
});

const snap = (o: Partial<ClusterSnapshot> = {}): ClusterSnapshot => ({
  config: { defaultAsn: 64511, nodeMesh: true },
  nodes: [
    { name: 'a', ipv4: '198.51.100.1', ipv4Cidr: '198.51.100.1/24', ipv6: null },
    { name: 'b', ipv4: '198.51.100.2', ipv4Cidr: '198.51.100.2/24', ipv6: null, asn: 65001 },
    { name: 'c', ipv4: '203.0.113.3', ipv4Cidr: '203.0.113.3/24', ipv6: null },
  ],
  pools: [pool('192.168.0.0/16')],
  peers: [],
  blocks: [],
  borrowed: [],
  endpoints: [],
  ...o,
});

describe('desiredPeers', () => {
  test('full mesh: every other node with its own or the default AS', () => {
    const peers = desiredPeers(snap(), 'a');
    assert.deepEqual(
      peers.map((p) => [p.address, p.asn, p.type]),
      [
        ['198.51.100.2', 65001, 'node-to-node mesh'],
        ['203.0.113.3', 64511, 'node-to-node mesh'],
      ],
    );
  });

  test('global and own node peers are added, other nodes\u2019 peers and our own address are not', () => {
    const s = snap({
      peers: [
        { address: '192.0.2.9', asn: 65100 },
        { address: '192.0.2.10', asn: 65101, node: 'a' },
        { address: '192.0.2.11', asn: 65102, node: 'b' },
        { address: '198.51.100.1', asn: 65103 },
      ],
    });
    const peers = desiredPeers(s, 'a');
    assert.deepEqual(
      peers.filter((p) => p.type !== 'node-to-node mesh').map((p) => [p.address, p.type]),
      [
        ['192.0.2.10', 'node specific'],
        ['192.0.2.9', 'global'],
      ],
    );
  });

  test('mesh off: plain nodes peer with reflectors only, reflectors with everyone as clients', () => {
    const s = snap({ config: { defaultAsn: 64511, nodeMesh: false } });
    s.nodes[2]!.routeReflectorClusterId = '1.0.0.1';
    assert.deepEqual(
      desiredPeers(s, 'a').map((p) => [p.address, p.routeReflectorClient]),
      [['203.0.113.3', false]],
    );
    assert.deepEqual(
      desiredPeers(s, 'c').map((p) => [p.address, p.routeReflectorClient]),
      [
        ['198.51.100.1', true],
        ['198.51.100.2', true],
      ],
    );
  });

  test('an unregistered node wants no peers', () => {
    assert.deepEqual(desiredPeers(snap(), 'zz'), []);
  });
});

describe('desiredAnnouncements', () => {
  test('affine blocks and borrowed host routes, next hop = node IP', () => {
    const s = snap({
      blocks: [
        { cidr: '192.168.1.0/26', affinity: 'a' },
        { cidr: '192.168.2.0/26', affinity: 'b' },
      ],
      borrowed: [
        { ip: '192.168.2.5', node: 'a' },
        { ip: '192.168.1.7', node: 'a' },
        { ip: '192.168.2.6', node: 'b' },
      ],
    });
    assert.deepEqual(desiredAnnouncements(s, 'a'), [
      { prefix: '192.168.1.0/26', nextHop: '198.51.100.1' },
      { prefix: '192.168.2.5/32', nextHop: '198.51.100.1' },
    ]);
  });
});

describe('acceptRoute', () => {
  const pools = [pool('192.168.0.0/16')];
  const mesh: Pick<DesiredPeer, 'type'> = { type: 'node-to-node mesh' };
  test('mesh peers: only prefixes inside pools', () => {
    assert.equal(acceptRoute(mesh, '192.168.4.0/26', pools), true);
    assert.equal(acceptRoute(mesh, '0.0.0.0/0', pools), false);
    assert.equal(acceptRoute(mesh, '192.168.0.0/15', pools), false);
    assert.equal(acceptRoute(mesh, '198.51.100.0/24', pools), false);
  });
  test('global peers: what the operator allowed, else the pools', () => {
    assert.equal(acceptRoute({ type: 'global', acceptPrefixes: ['0.0.0.0/0'] }, '10.0.0.0/8', pools), true);
    assert.equal(acceptRoute({ type: 'global' }, '10.0.0.0/8', pools), false);
    assert.equal(acceptRoute({ type: 'node-to-node mesh', acceptPrefixes: ['0.0.0.0/0'] }, '10.0.0.0/8', pools), false);
  });
});

describe('diffs', () => {
  const p = (address: string, asn = 64511): DesiredPeer => ({
    address,
    asn,
    family: 'ipv4',
    type: 'node-to-node mesh',
    routeReflectorClient: false,
  });
  test('peers: added, removed, AS changed = re-added', () => {
    const current = new Map([p('10.0.0.1'), p('10.0.0.2'), p('10.0.0.3')].map((x) => [x.address, x]));
    const d = diffPeers(current, [p('10.0.0.1'), p('10.0.0.3', 65000), p('10.0.0.4')]);
    assert.deepEqual(d.remove.sort(), ['10.0.0.2', '10.0.0.3']);
    assert.deepEqual(d.add.map((x) => x.address).sort(), ['10.0.0.3', '10.0.0.4']);
  });
  test('peers: a changed import list keeps the session and asks for a re-import', () => {
    const g = (address: string, acceptPrefixes?: string[]): DesiredPeer => ({
      ...p(address, 65100),
      type: 'global',
      ...(acceptPrefixes ? { acceptPrefixes } : {}),
    });
    const current = new Map([g('192.0.2.1', ['10.50.0.0/16']), g('192.0.2.2'), g('192.0.2.3', ['0.0.0.0/0', '10.0.0.0/8']), g('192.0.2.4')].map((x) => [x.address, x]));
    const d = diffPeers(current, [g('192.0.2.1', ['0.0.0.0/0']), g('192.0.2.2', ['10.0.0.0/8']), g('192.0.2.3', ['10.0.0.0/8', '0.0.0.0/0']), g('192.0.2.4')]);
    assert.deepEqual(d.add, []);
    assert.deepEqual(d.remove, []);
    assert.deepEqual(d.reimport.map((x) => [x.address, x.acceptPrefixes]), [
      ['192.0.2.1', ['0.0.0.0/0']],
      ['192.0.2.2', ['10.0.0.0/8']],
    ]);
    const back = diffPeers(new Map([['192.0.2.2', g('192.0.2.2', ['10.0.0.0/8'])]]), [g('192.0.2.2')]);
    assert.deepEqual(back.reimport.map((x) => x.address), ['192.0.2.2'], 'list removed = pools again');
    const asChanged = diffPeers(new Map([['192.0.2.1', g('192.0.2.1')]]), [{ ...g('192.0.2.1', ['0.0.0.0/0']), asn: 65101 }]);
    assert.deepEqual([asChanged.remove, asChanged.add.length, asChanged.reimport], [['192.0.2.1'], 1, []], 'a re-added session needs no re-import');
  });
  test('announcements: new next hop re-announced, gone withdrawn', () => {
    const current = new Map([
      ['10.1.0.0/26', { prefix: '10.1.0.0/26', nextHop: '1.1.1.1' }],
      ['10.2.0.0/26', { prefix: '10.2.0.0/26', nextHop: '1.1.1.1' }],
    ]);
    const d = diffAnnouncements(current, [
      { prefix: '10.1.0.0/26', nextHop: '1.1.1.2' },
      { prefix: '10.3.0.0/26', nextHop: '1.1.1.1' },
    ]);
    assert.deepEqual(d.withdraw, ['10.2.0.0/26']);
    assert.deepEqual(
      d.announce.map((a) => a.prefix),
      ['10.1.0.0/26', '10.3.0.0/26'],
    );
  });
});

describe('dataplaneInput', () => {
  const underlay = { interface: 'eth0', cidr: '198.51.100.0/24' };
  test('remote routes inside pools only, local blocks, local workloads, other nodes\u2019 VTEPs', () => {
    const s = snap({
      pools: [pool('192.168.0.0/16', { natOutgoing: true, vxlanMode: 'cross-subnet' })],
      blocks: [
        { cidr: '192.168.1.0/26', affinity: 'a' },
        { cidr: '192.168.2.0/26', affinity: 'b' },
      ],
      endpoints: [
        { node: 'a', id: 'ep1', ips: ['192.168.1.2/32'], hostIf: 'ts1' },
        { node: 'b', id: 'ep2', ips: ['192.168.2.2/32'], hostIf: 'ts2' },
      ],
    });
    s.nodes[0]!.vtep = { ip: '192.168.1.1', mac: '02:00:00:00:00:01' };
    s.nodes[2]!.vtep = { ip: '192.168.3.1', mac: '02:00:00:00:00:03' };
    const d = dataplaneInput(
      s,
      'a',
      [
        { prefix: '192.168.2.0/26', nextHop: '198.51.100.2' },
        { prefix: '0.0.0.0/0', nextHop: '198.51.100.2' },
        { prefix: '192.168.1.0/26', nextHop: '198.51.100.1' },
      ],
      underlay,
    )!;
    assert.deepEqual(d.remoteRoutes, [{ prefix: '192.168.2.0/26', nextHop: '198.51.100.2' }]);
    assert.deepEqual(d.localBlocks, ['192.168.1.0/26']);
    assert.deepEqual(d.workloads, [{ ip: '192.168.1.2', hostIfName: 'ts1' }]);
    assert.deepEqual(d.remoteVteps, [{ nodeIp: '203.0.113.3', vtepIp: '192.168.3.1', vtepMac: '02:00:00:00:00:03' }]);
    assert.deepEqual(d.node.vxlan, { vtepIp: '192.168.1.1', vtepMac: '02:00:00:00:00:01' });
    assert.equal(d.pools[0]!.natOutgoing, true);
  });

  test('IPv6: own IPv6 address, IPv6 routes and workloads, the workload gateway for proxy NDP', () => {
    const s = snap({
      pools: [pool('192.168.0.0/16'), pool('fd00:65::/64', { blockSize: 122 })],
      blocks: [
        { cidr: 'fd00:65::/122', affinity: 'a' },
        { cidr: 'fd00:65::40/122', affinity: 'b' },
      ],
      endpoints: [{ node: 'a', id: 'ep6', ips: ['192.168.1.3/32', 'fd00:65::3/128'], hostIf: 'ts6' }],
    });
    s.nodes[0]!.ipv6 = '2001:db8::1';
    s.nodes[1]!.ipv6 = '2001:db8::2';
    const d = dataplaneInput(
      s,
      'a',
      [
        { prefix: 'fd00:65::40/122', nextHop: '2001:db8::2' },
        { prefix: 'fd00:65::/122', nextHop: '2001:db8::1' },
        { prefix: '2001:db8::/64', nextHop: '2001:db8::2' },
      ],
      underlay,
    )!;
    assert.equal(d.node.ipv6, '2001:db8::1');
    assert.deepEqual(d.remoteRoutes, [{ prefix: 'fd00:65::40/122', nextHop: '2001:db8::2' }]);
    assert.deepEqual(d.localBlocks, ['fd00:65::/122']);
    assert.deepEqual(d.workloads, [
      { ip: '192.168.1.3', hostIfName: 'ts6' },
      { ip: 'fd00:65::3', hostIfName: 'ts6' },
    ]);
    assert.equal(d.ipv6Gateway, 'fe80::1');
  });

  test('routes outside the pools pass when this node’s global or node peer may send them', () => {
    const learned = [
      { prefix: '10.50.0.0/16', nextHop: '198.51.100.9' },
      { prefix: '10.60.0.0/16', nextHop: '198.51.100.9' },
      { prefix: '0.0.0.0/0', nextHop: '198.51.100.9' },
      { prefix: '10.70.0.0/16', nextHop: '198.51.100.8' },
      { prefix: '192.168.2.0/26', nextHop: '198.51.100.2' },
    ];
    const routes = (peers: ClusterSnapshot['peers']): string[] =>
      dataplaneInput(snap({ peers }), 'a', learned, underlay)!.remoteRoutes.map((r) => r.prefix);
    assert.deepEqual(routes([{ address: '198.51.100.9', asn: 65100 }]), ['192.168.2.0/26'], 'no list: the pools');
    assert.deepEqual(routes([{ address: '198.51.100.9', asn: 65100, acceptPrefixes: ['10.50.0.0/16'] }]), ['10.50.0.0/16', '192.168.2.0/26']);
    assert.deepEqual(routes([{ address: '198.51.100.9', asn: 65100, acceptPrefixes: ['0.0.0.0/0'] }]), ['0.0.0.0/0', '10.50.0.0/16', '10.60.0.0/16', '10.70.0.0/16', '192.168.2.0/26']);
    // another node's own peer, or a list on an address that is a mesh node, allows nothing here
    assert.deepEqual(routes([{ address: '198.51.100.9', asn: 65100, node: 'b', acceptPrefixes: ['0.0.0.0/0'] }]), ['192.168.2.0/26']);
    assert.deepEqual(routes([{ address: '198.51.100.2', asn: 65100, acceptPrefixes: ['0.0.0.0/0'] }]), ['192.168.2.0/26']);
    assert.deepEqual(routes([{ address: '198.51.100.9', asn: 65100, node: 'a', acceptPrefixes: ['10.60.0.0/15'] }]), ['10.60.0.0/16', '192.168.2.0/26']);
  });

  test('routes outside every pool carry EXTERNAL_ROUTE_METRIC (beside the host routes); pool routes none', () => {
    const learned = [
      { prefix: '0.0.0.0/0', nextHop: '198.51.100.9' },
      { prefix: '10.50.0.0/16', nextHop: '198.51.100.9' },
      { prefix: '192.168.2.0/26', nextHop: '198.51.100.2' },
      { prefix: '192.168.3.0/26', nextHop: '198.51.100.9' },
    ];
    const peers = [{ address: '198.51.100.9', asn: 65100, acceptPrefixes: ['0.0.0.0/0'] }];
    const d = dataplaneInput(snap({ peers }), 'a', learned, underlay)!;
    assert.equal(EXTERNAL_ROUTE_METRIC, 32);
    assert.deepEqual(d.remoteRoutes, [
      { prefix: '0.0.0.0/0', nextHop: '198.51.100.9', metric: EXTERNAL_ROUTE_METRIC },
      { prefix: '10.50.0.0/16', nextHop: '198.51.100.9', metric: EXTERNAL_ROUTE_METRIC },
      { prefix: '192.168.2.0/26', nextHop: '198.51.100.2' },
      // inside a pool even though a global peer sent it: routed like the other nodes' blocks
      { prefix: '192.168.3.0/26', nextHop: '198.51.100.9' },
    ]);
  });

  test('nothing before this node is registered', () => {
    assert.equal(dataplaneInput(snap(), 'zz', [], underlay), null);
  });
});
