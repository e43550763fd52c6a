import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decodeValue, encodeValue, Keys } from './keys.js';
import { datastoreOptionsFromEnv, parseEndpoints } from './options.js';

describe('key layout', () => {
  const k = new Keys('/tsnet');
  test('a watch range covers its kinds\u2019 keys; the agent\u2019s leaves the heartbeats out', () => {
    const inside = (key: string, r: { key: string; end: Buffer }): boolean =>
      key >= r.key && Buffer.compare(Buffer.from(key), r.end) < 0;
    const agentKinds = ['clusterConfig', 'node', 'globalPeer', 'nodePeer', 'pool', 'block', 'dockerEndpoint'] as const;
    const agent = k.watchRange(new Set(agentKinds));
    const samples: Record<(typeof agentKinds)[number], string[]> = {
      clusterConfig: [],
      node: ['host-1'],
      globalPeer: ['198.51.100.9'],
      nodePeer: ['host-1', '198.51.100.9'],
      pool: ['192.168.0.0/16'],
      block: ['192.168.0.64/26'],
      dockerEndpoint: ['abc123'],
    };
    for (const kind of agentKinds) assert.ok(inside(k.key(kind, samples[kind]), agent), kind);
    assert.ok(!inside(k.key('nodeStatus', 'host-1'), agent), 'heartbeats are outside');
    const nodesOnly = k.watchRange(new Set(['node'] as const));
    assert.ok(inside(k.key('node', 'zz'), nodesOnly));
    assert.ok(!inside(k.key('pool', '10.0.0.0/8'), nodesOnly) && !inside(k.key('nodeStatus', 'a'), nodesOnly));
    // no kinds: everything under the root
    const all = k.watchRange();
    assert.ok(inside(k.key('nodeStatus', 'host-1'), all) && inside(k.key('block', '10.0.0.0/26'), all));
    assert.ok(!inside('/tsnet/v2/x', all) && !inside('/other/v1/nodes/a', all));
  });

  test('keys of each shape parse back to kind and id', () => {
    const cases: [Parameters<Keys['key']>[0], string[], string][] = [
      ['clusterConfig', [], '/tsnet/v1/config/cluster'],
      ['node', ['host-1'], '/tsnet/v1/nodes/host-1'],
      ['nodePeer', ['host-1', '198.51.100.9'], '/tsnet/v1/bgp/node/host-1/198.51.100.9'],
      ['globalPeer', ['2001:db8::1'], '/tsnet/v1/bgp/global/2001%3Adb8%3A%3A1'],
      ['pool', ['192.168.0.0/16'], '/tsnet/v1/ipam/pools/192.168.0.0-16'],
      ['block', ['fd80:24e2:f998:72d6::40/122'], '/tsnet/v1/ipam/blocks/fd80:24e2:f998:72d6::40-122'],
      ['affinity', ['host-1', '192.168.0.64/26'], '/tsnet/v1/ipam/affinities/host-1/192.168.0.64-26'],
      ['dockerEndpoint', ['abc123'], '/tsnet/v1/libnetwork/endpoints/abc123'],
    ];
    for (const [kind, id, key] of cases) {
      assert.equal(k.key(kind, id), key);
      assert.deepEqual(k.parse(key), { kind, id });
    }
    assert.equal(k.parse('/tsnet/v1/ipam/pools-guard'), undefined);
    assert.ok(k.isInternal('/tsnet/v1/ipam/pools-guard'));
    assert.equal(k.parse('/other/v1/nodes/x'), undefined);
  });

  test('envelopes: round trip, foreign and bad values give a reason', () => {
    const raw = encodeValue('pool', { cidr: '10.0.0.0/16', blockSize: 26, ipipMode: 'never', vxlanMode: 'never', natOutgoing: false, disabled: false });
    assert.equal(decodeValue('pool', raw).cidr, '10.0.0.0/16');
    assert.throws(() => decodeValue('pool', 'hello'), /not JSON/);
    assert.throws(() => decodeValue('node', raw), /expected kind Node, found "IpPool"/);
    assert.throws(() => decodeValue('pool', JSON.stringify({ kind: 'IpPool', version: 99, spec: {} })), /unsupported IpPool version 99/);
    assert.throws(() => decodeValue('pool', JSON.stringify({ kind: 'IpPool', version: 1, spec: { cidr: 'x', blockSize: 'big' } })), /field blockSize/);
  });
});

describe('connection options', () => {
  test('endpoints: comma separated, scheme added, flags over env', () => {
    assert.deepEqual(parseEndpoints('10.0.0.1:2379, https://e2:2379/'), ['http://10.0.0.1:2379', 'https://e2:2379']);
    assert.throws(() => parseEndpoints(''), /no etcd endpoint given/);
    const o = datastoreOptionsFromEnv({}, { ETCD_ENDPOINTS: 'http://a:1,http://b:2', ETCD_CA_CERT_FILE: '/ca.pem' });
    assert.deepEqual(o.endpoints, ['http://a:1', 'http://b:2']);
    assert.equal(o.caFile, '/ca.pem');
    assert.deepEqual(datastoreOptionsFromEnv({ etcdEndpoints: 'http://c:3' }, { ETCD_ENDPOINTS: 'http://a:1' }).endpoints, ['http://c:3']);
    assert.deepEqual(datastoreOptionsFromEnv({}, {}).endpoints, ['http://127.0.0.1:2379']);
  });

  test('TSNET_ETCD_CLIENT: http or grpc, unset = automatic; anything else is a usage error', () => {
    assert.equal(datastoreOptionsFromEnv({}, {}).client, undefined);
    assert.equal(datastoreOptionsFromEnv({}, { TSNET_ETCD_CLIENT: 'grpc' }).client, 'grpc');
    assert.equal(datastoreOptionsFromEnv({}, { TSNET_ETCD_CLIENT: 'http' }).client, 'http');
    assert.throws(() => datastoreOptionsFromEnv({}, { TSNET_ETCD_CLIENT: 'rest' }), (err: Error) => {
      assert.equal(err.name, 'TsnetError');
      assert.equal(err.message, 'bad etcd client "rest": set TSNET_ETCD_CLIENT to http or grpc (or leave it unset)');
      return true;
    });
  });
});
