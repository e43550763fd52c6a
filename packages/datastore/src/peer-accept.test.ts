// A peer's import list (acceptPrefixes) and a node's VXLAN tunnel fields: typed, validated on read,
// canonical on write; a bad prefix is refused before anything is written. Real etcd (testkit).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster } from '@tsnet/testkit';
import { Datastore, canonicalPrefixes } from './client.js';
import { TsnetError } from './errors.js';
import type { BgpPeer, NodeRecord } from './model.js';
import { parsePrefix } from './prefix.js';

describe('parsePrefix (pure)', () => {
  test('canonical text of both families; host bits flagged; non-CIDRs refused', () => {
    assert.deepEqual(parsePrefix('10.50.0.0/16'), { family: 4, canonical: '10.50.0.0/16', hostBitsSet: false });
    assert.deepEqual(parsePrefix(' 0.0.0.0/0 '), { family: 4, canonical: '0.0.0.0/0', hostBitsSet: false });
    assert.deepEqual(parsePrefix('10.1.2.3/8'), { family: 4, canonical: '10.0.0.0/8', hostBitsSet: true });
    assert.deepEqual(parsePrefix('FD00:0:0::/8'), { family: 6, canonical: 'fd00::/8', hostBitsSet: false });
    assert.deepEqual(parsePrefix('2001:DB8::1/32'), { family: 6, canonical: '2001:db8::/32', hostBitsSet: true });
    assert.deepEqual(parsePrefix('::ffff:10.0.0.0/104'), { family: 6, canonical: '::ffff:a00:0/104', hostBitsSet: false });
    assert.deepEqual(parsePrefix('::/0'), { family: 6, canonical: '::/0', hostBitsSet: false });
    for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0', '10.0.0/8', 'ten/8', '10.0.0.0/-1', '/8', '', 'fe80::1%eth0/64', '10.0.0.0/8/8']) {
      assert.equal(parsePrefix(bad), undefined, bad);
    }
  });

  test('canonicalPrefixes: duplicates dropped, order kept, bad ones named in a usage error', () => {
    assert.deepEqual(canonicalPrefixes(['10.50.0.0/16', 'FD00::/8', '10.50.0.0/16', 'fd00:0::/8']), ['10.50.0.0/16', 'fd00::/8']);
    assert.throws(() => canonicalPrefixes(['10.0.0.0/8', '10.0.0.0/33']), (err: Error) => {
      assert.ok(err instanceof TsnetError);
      assert.equal(err.code, 'usage');
      assert.equal(err.message, 'bad prefix 10.0.0.0/33 in --accept: give CIDRs like 10.0.0.0/8');
      return true;
    });
    assert.throws(() => canonicalPrefixes(['10.1.0.0/8']), /^TsnetError: bad prefix 10\.1\.0\.0\/8 in --accept: host bits are set; did you mean 10\.0\.0\.0\/8\?$/);
  });
});

describe('peer import lists and VTEP fields on a real etcd', () => {
  let etcd: EtcdCluster;
  let ds: Datastore;

  before(async () => {
    etcd = await EtcdCluster.start(1);
    ds = await Datastore.connect({ endpoints: etcd.endpoints, prefix: '/pa' });
  });
  after(async () => {
    await ds?.close();
    await etcd?.stop();
  });

  test('addGlobalPeer / addNodePeer keep acceptPrefixes, canonical; re-adding replaces; absent = pools', async () => {
    await ds.addGlobalPeer({ ip: '192.0.2.1', asn: 65020, acceptPrefixes: ['10.50.0.0/16', 'FD00:0::/8', '10.50.0.0/16'] });
    await ds.addNodePeer('n1', { ip: '2001:DB8::9', asn: 65030, acceptPrefixes: ['0.0.0.0/0'] });
    await ds.addGlobalPeer({ ip: '192.0.2.2', asn: 65021 });
    assert.deepEqual(
      (await ds.listGlobalPeers()).sort((a, b) => a.ip.localeCompare(b.ip)),
      [
        { ip: '192.0.2.1', asn: 65020, acceptPrefixes: ['10.50.0.0/16', 'fd00::/8'] },
        { ip: '192.0.2.2', asn: 65021 },
      ],
    );
    assert.deepEqual(await ds.listNodePeers('n1'), [{ ip: '2001:db8::9', asn: 65030, node: 'n1', acceptPrefixes: ['0.0.0.0/0'] }]);
    // the stored JSON holds exactly the typed fields
    const raw = await ds.get('globalPeer', '192.0.2.1');
    assert.deepEqual(raw?.value, { ip: '192.0.2.1', asn: 65020, acceptPrefixes: ['10.50.0.0/16', 'fd00::/8'] });

    await ds.addGlobalPeer({ ip: '192.0.2.1', asn: 65020, acceptPrefixes: ['0.0.0.0/0'] });
    assert.deepEqual((await ds.get('globalPeer', '192.0.2.1'))?.value.acceptPrefixes, ['0.0.0.0/0']);
    await ds.addGlobalPeer({ ip: '192.0.2.1', asn: 65020 });
    assert.deepEqual((await ds.get('globalPeer', '192.0.2.1'))?.value, { ip: '192.0.2.1', asn: 65020 }, 'no list = pools again');
    await ds.addGlobalPeer({ ip: '192.0.2.1', asn: 65020, acceptPrefixes: [] });
    assert.deepEqual((await ds.get('globalPeer', '192.0.2.1'))?.value.acceptPrefixes, [], 'an empty list is kept (accept nothing)');
  });

  test('a bad prefix is refused with one line before anything is written', async () => {
    await ds.addGlobalPeer({ ip: '192.0.2.5', asn: 65050, acceptPrefixes: ['10.50.0.0/16'] });
    const rev = await ds.revision();
    const cases: [Promise<void>, string][] = [
      [ds.addGlobalPeer({ ip: '192.0.2.5', asn: 65050, acceptPrefixes: ['0.0.0.0/0', '10.0.0.0/33'] }), 'bad prefix 10.0.0.0/33 in --accept: give CIDRs like 10.0.0.0/8'],
      [ds.addGlobalPeer({ ip: '192.0.2.6', asn: 65050, acceptPrefixes: ['10.50.0.0'] }), 'bad prefix 10.50.0.0 in --accept: give CIDRs like 10.0.0.0/8'],
      [ds.addNodePeer('n1', { ip: '192.0.2.7', asn: 65050, acceptPrefixes: ['10.50.1.0/16'] }), 'bad prefix 10.50.1.0/16 in --accept: host bits are set; did you mean 10.50.0.0/16?'],
      [ds.addNodePeer('n1', { ip: '192.0.2.7', asn: 65050, acceptPrefixes: ['anything'] }), 'bad prefix anything in --accept: give CIDRs like 10.0.0.0/8'],
    ];
    for (const [call, message] of cases) {
      await assert.rejects(call, (err: Error) => {
        assert.ok(err instanceof TsnetError);
        assert.equal(err.code, 'usage');
        assert.equal(err.message, message);
        return true;
      });
    }
    assert.equal(await ds.revision(), rev, 'nothing was written');
    assert.deepEqual((await ds.get('globalPeer', '192.0.2.5'))?.value.acceptPrefixes, ['10.50.0.0/16']);
  });

  test('records written by others: a bad acceptPrefixes is a bad value, like any other field', async () => {
    const bad = async (id: string, acceptPrefixes: unknown): Promise<string> => {
      await ds.put('globalPeer', id, { ip: id, asn: 65060, acceptPrefixes } as unknown as BgpPeer);
      const list = await ds.list('globalPeer');
      assert.ok(!list.items.some((i) => i.value.ip === id), `${id} is not listed as a valid peer`);
      const reason = list.bad.find((b) => b.key.endsWith(`/${id}`))?.reason ?? '';
      await ds.delete('globalPeer', id);
      return reason;
    };
    assert.match(await bad('192.0.2.20', '10.0.0.0/8'), /field acceptPrefixes must be an array of CIDRs like 10\.0\.0\.0\/8/);
    assert.match(await bad('192.0.2.21', ['10.0.0.0/8', '10.0.0.0/40']), /field acceptPrefixes holds "10\.0\.0\.0\/40", not a CIDR like 10\.0\.0\.0\/8/);
    assert.match(await bad('192.0.2.22', [8]), /field acceptPrefixes holds 8, not a CIDR/);
    await ds.put('globalPeer', '192.0.2.23', { ip: '192.0.2.23', asn: 65060, acceptPrefixes: ['10.1.0.0/8'] });
    assert.deepEqual((await ds.get('globalPeer', '192.0.2.23'))?.value.acceptPrefixes, ['10.1.0.0/8'], 'host bits are readable (the import test masks them)');
  });

  test('node VXLAN tunnel fields: typed and kept; a bad address or MAC is a bad value', async () => {
    await ds.putNode({ name: 'v1', ipv4: '198.51.100.1', vxlanTunnelAddr: '192.168.7.1', vxlanTunnelMac: '02:aa:bb:cc:dd:0e' });
    const n = await ds.getNode('v1');
    assert.equal(n?.vxlanTunnelAddr, '192.168.7.1');
    assert.equal(n?.vxlanTunnelMac, '02:aa:bb:cc:dd:0e');
    const badNode = async (name: string, extra: Record<string, unknown>): Promise<string> => {
      await ds.put('node', name, { name, ...extra } as NodeRecord);
      const list = await ds.list('node');
      assert.ok(!list.items.some((i) => i.value.name === name), `${name} is not listed as a valid node`);
      const reason = list.bad.find((b) => b.key.endsWith(`/${name}`))?.reason ?? '';
      await ds.delete('node', name);
      return reason;
    };
    assert.match(await badNode('v2', { vxlanTunnelMac: '02:aa:bb:cc:dd' }), /field vxlanTunnelMac must be a MAC like aa:bb:cc:dd:ee:ff/);
    assert.match(await badNode('v3', { vxlanTunnelMac: '02-aa-bb-cc-dd-ee' }), /field vxlanTunnelMac must be a MAC/);
    assert.match(await badNode('v4', { vxlanTunnelAddr: '192.168.7.300' }), /field vxlanTunnelAddr must be an IP address/);
    assert.match(await badNode('v5', { vxlanTunnelAddr: 7 }), /field vxlanTunnelAddr must be a non-empty string/);
    assert.deepEqual((await ds.listNodes()).map((x) => x.name), ['v1']);
  });
});
