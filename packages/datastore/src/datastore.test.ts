// Against a real etcd (testkit): connection errors, typed CRUD and transactions, bad values.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster, freePort } from '@tsnet/testkit';
import { Datastore } from './client.js';
import { EtcdUnreachableError, BadValueError, type BadValue } from './errors.js';
import { KV_CLIENT_KINDS } from './options.js';

for (const client of KV_CLIENT_KINDS) describe(`datastore on a real etcd (${client} client)`, () => {
  let etcd: EtcdCluster;
  let ds: Datastore;
  const reported: BadValue[] = [];

  before(async () => {
    etcd = await EtcdCluster.start(1);
    ds = await Datastore.connect({ client, endpoints: etcd.endpoints, prefix: '/t1', onBadValue: (b) => reported.push(b) });
  });
  after(async () => {
    await ds?.close();
    await etcd?.stop();
  });

  test('an unreachable etcd gives one line naming the endpoints', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const start = Date.now();
    await assert.rejects(Datastore.connect({ client, endpoints: [url], timeoutMs: 1000 }), (err: Error) => {
      assert.ok(err instanceof EtcdUnreachableError);
      assert.equal(err.message, `cannot reach etcd at ${url} (tried for 1 s): is etcd running? set --etcd-endpoints or ETCD_ENDPOINTS`);
      return true;
    });
    assert.ok(Date.now() - start < 4000, 'bounded by the timeout');
  });

  test('several endpoints: a dead one is skipped', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const multi = await Datastore.connect({ client, endpoints: [dead, ...etcd.endpoints], prefix: '/t1', timeoutMs: 3000 });
    try {
      for (let i = 0; i < 10; i++) await multi.putNode({ name: `multi${i}` });
      assert.equal((await multi.list('node')).items.filter((n) => n.value.name.startsWith('multi')).length, 10);
      for (let i = 0; i < 10; i++) await multi.deleteNode(`multi${i}`);
    } finally {
      await multi.close();
    }
  });

  test('cluster config defaults and atomic update', async () => {
    assert.deepEqual(await ds.getClusterConfig(), { defaultAsn: 64511, nodeMesh: true, version: '0.1.0' });
    await ds.setClusterConfig({ nodeMesh: false });
    await ds.setClusterConfig({ defaultAsn: 65000 });
    assert.deepEqual(await ds.getClusterConfig(), { defaultAsn: 65000, nodeMesh: false, version: '0.1.0' });
    await assert.rejects(ds.setClusterConfig({ defaultAsn: 0 }), /bad AS number 0/);
  });

  test('nodes and peers: typed put/get/list/delete', async () => {
    await ds.putNode({ name: 'n1', ipv4: '198.51.100.1', ipv4Network: '198.51.100.0/24', asn: 65001 });
    await ds.putNode({ name: 'n2', ipv4: '198.51.100.2', routeReflector: { clusterId: '1.0.0.1' } });
    await ds.addNodePeer('n1', { ip: '2001:DB8::1', asn: 65010 });
    await ds.addGlobalPeer({ ip: '192.0.2.1', asn: 65020 });
    assert.deepEqual((await ds.listNodes()).map((n) => n.name), ['n1', 'n2']);
    assert.deepEqual(await ds.listNodePeers('n1'), [{ ip: '2001:db8::1', asn: 65010, node: 'n1' }]);
    assert.deepEqual(await ds.listGlobalPeers(), [{ ip: '192.0.2.1', asn: 65020 }]);
    assert.equal(await ds.removeNodePeer('n1', '2001:db8:0::1'), true);
    assert.equal(await ds.deleteNode('n2'), true);
    assert.equal(await ds.getNode('n2'), undefined);
    await assert.rejects(ds.addGlobalPeer({ ip: '300.1.1.1', asn: 1 }), /bad IP address 300.1.1.1/);
  });

  test('conditional writes use the mod revision', async () => {
    const ep = { id: 'ep1', networkId: 'net1', hostVeth: 'tsnabc', node: 'n1', ipv4: '192.168.0.5/32' };
    assert.equal(await ds.put('dockerEndpoint', 'ep1', ep, { expectModRevision: 0 }), true);
    assert.equal(await ds.put('dockerEndpoint', 'ep1', ep, { expectModRevision: 0 }), false, 'must-not-exist fails');
    const cur = (await ds.get('dockerEndpoint', 'ep1'))!;
    assert.equal(await ds.put('dockerEndpoint', 'ep1', { ...ep, mac: 'ee:ee:ee:ee:ee:ee' }, { expectModRevision: cur.modRevision }), true);
    assert.equal(await ds.put('dockerEndpoint', 'ep1', ep, { expectModRevision: cur.modRevision }), false, 'stale revision fails');
    const r = await ds.txn(
      [{ kind: 'dockerEndpoint', id: 'ep1', modRevision: cur.modRevision }],
      [{ op: 'put', kind: 'dockerNetwork', id: 'net1', value: { id: 'net1', options: {} } }],
    );
    assert.equal(r.succeeded, false);
    assert.equal(await ds.get('dockerNetwork', 'net1'), undefined, 'nothing of a failed txn is applied');
    assert.equal(await ds.delete('dockerEndpoint', 'ep1'), true);
  });

  test('bad and foreign values are reported with their key, never crash a reader', async () => {
    await ds.putNode({ name: 'good', ipv4: '198.51.100.7' });
    await ds.kv.put('/t1/v1/nodes/garbage', '{not json');
    await ds.kv.put('/t1/v1/nodes/foreign', JSON.stringify({ kind: 'Pod', version: 1, spec: {} }));
    await ds.kv.put('/t1/v1/nodes/wrongtype', JSON.stringify({ kind: 'Node', version: 1, spec: { name: 'x', asn: 'many' } }));
    await ds.kv.put('/t1/v1/stray/key', '1');
    reported.length = 0;
    const list = await ds.list('node');
    assert.deepEqual(list.items.map((i) => i.value.name).sort(), ['good', 'n1']);
    assert.deepEqual(list.bad.map((b) => b.key).sort(), ['/t1/v1/nodes/foreign', '/t1/v1/nodes/garbage', '/t1/v1/nodes/wrongtype']);
    assert.match(list.bad.find((b) => b.key.endsWith('foreign'))!.reason, /expected kind Node, found "Pod"/);
    assert.match(list.bad.find((b) => b.key.endsWith('wrongtype'))!.reason, /field asn must be an integer/);
    assert.equal(reported.length, 3);
    await assert.rejects(ds.get('node', 'garbage'), (err: Error) => {
      assert.ok(err instanceof BadValueError);
      assert.match(err.message, /^bad value at etcd key \/t1\/v1\/nodes\/garbage: not JSON/);
      return true;
    });
    const snap = await ds.snapshot();
    assert.ok(snap.bad.some((b) => b.key === '/t1/v1/stray/key' && /outside the tsnet layout/.test(b.reason)));
    assert.ok(snap.records.some((r) => r.kind === 'node' && r.value.name === 'good'));
  });
});
