import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnyStored } from '@tsnet/datastore';
import { blockConcerns, clusterFromRecords } from './snapshot.js';

const rec = (kind: string, id: string[], value: unknown): AnyStored =>
  ({ kind, key: `/tsnet/v1/${kind}/${id.join('/')}`, id, value, modRevision: 1, createRevision: 1 }) as AnyStored;

test('records become the controller snapshot: nodes, peers, borrowed addresses, endpoints', () => {
  const s = clusterFromRecords([
    rec('clusterConfig', [], { defaultAsn: 65000, nodeMesh: false, version: '0.1.0' }),
    rec('node', ['b'], { name: 'b', ipv4: '10.0.0.2', ipv4Network: '10.0.0.0/24', vxlanTunnelAddr: '192.168.0.1', vxlanTunnelMac: '02:00:00:00:00:02' }),
    rec('node', ['a'], { name: 'a', ipv4: '10.0.0.1', asn: 65001, routeReflector: { clusterId: '1.1.1.1' } }),
    rec('globalPeer', ['10.9.9.9'], { ip: '10.9.9.9', asn: 65100, acceptPrefixes: ['0.0.0.0/0'] }),
    rec('nodePeer', ['a', '10.9.9.8'], { ip: '10.9.9.8', asn: 65101, node: 'a' }),
    rec('block', ['192.168.0.0/26'], {
      cidr: '192.168.0.0/26',
      pool: '192.168.0.0/16',
      affinity: 'a',
      allocations: [0, null, 1, null],
      attributes: [
        { handle: 'h0', node: 'a' },
        { handle: 'h1', node: 'b' },
      ],
    }),
    rec('dockerEndpoint', ['ep1'], { id: 'ep1', networkId: 'n', ipv4: '192.168.0.2/32', hostVeth: 'tsep1', node: 'b' }),
  ]);
  assert.deepEqual(s.config, { defaultAsn: 65000, nodeMesh: false });
  assert.deepEqual(
    s.nodes.map((n) => n.name),
    ['a', 'b'],
  );
  assert.equal(s.nodes[0]!.routeReflectorClusterId, '1.1.1.1');
  assert.equal(s.nodes[0]!.asn, 65001);
  assert.deepEqual(s.nodes[1]!.vtep, { ip: '192.168.0.1', mac: '02:00:00:00:00:02' });
  assert.equal(s.nodes[1]!.ipv4Cidr, '10.0.0.0/24');
  assert.deepEqual(s.peers, [
    { address: '10.9.9.9', asn: 65100, acceptPrefixes: ['0.0.0.0/0'] },
    { address: '10.9.9.8', asn: 65101, node: 'a' },
  ]);
  assert.deepEqual(s.borrowed, [{ ip: '192.168.0.2', node: 'b' }]);
  assert.deepEqual(s.blocks[0]!.inUse, { a: 1, b: 1 });
  assert.deepEqual(s.endpoints, [{ node: 'b', id: 'ep1', ips: ['192.168.0.2/32'], hostIf: 'tsep1' }]);
});

test('a block concerns the node it is affine to and nodes that borrowed from it, no other', () => {
  const allocations = Array(64).fill(null);
  allocations[5] = 0;
  const block = rec('block', ['192.168.0.0/26'], {
    cidr: '192.168.0.0/26',
    pool: '192.168.0.0/16',
    affinity: 'a',
    allocations,
    attributes: [{ handle: 'h1', node: 'b' }],
  });
  assert.equal(blockConcerns(block, 'a'), true, 'affine');
  assert.equal(blockConcerns(block, 'b'), true, 'borrowed an address');
  assert.equal(blockConcerns(block, 'c'), false, 'another node');
  assert.equal(blockConcerns(undefined, 'a'), false, 'absent');
  assert.equal(blockConcerns(rec('node', ['a'], { name: 'a', ipv4: '10.0.0.1' }), 'a'), false, 'not a block');
});
