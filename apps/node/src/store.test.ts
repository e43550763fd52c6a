// The agent's ClusterStore on a real etcd: its VTEP is written once, and passes that come before
// the watch brings it back wait for it instead of writing it again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipam } from '@tsnet/ipam';
import { EtcdCluster, waitFor } from '@tsnet/testkit';
import { createLogger } from './log.js';
import { DatastoreClusterStore } from './store.js';

test('ensureVtep writes the VTEP once; until the watch echoes it, a second call waits instead of writing', async () => {
  const etcd = await EtcdCluster.start(1);
  const log = createLogger('n1', undefined, 'silent');
  const store = await DatastoreClusterStore.connect({ endpoints: etcd.endpoints, prefix: '/vtep-once' }, log, () => undefined, 10_000);
  try {
    await new Ipam(store.ds).addPool({ cidr: '10.44.0.0/16', vxlanMode: 'always' });
    await store.register({ name: 'n1', ipv4: '198.51.100.1' });
    await store.follow(() => undefined);
    await waitFor('the pool in the snapshot', () => store.current().pools.length > 0, { timeoutMs: 5000 });

    assert.equal(await store.ensureVtep('n1'), true, 'written');
    const written = await store.ds.get('node', 'n1');
    assert.ok(written?.value.vxlanTunnelAddr?.startsWith('10.44.'));
    // a pass that still sees no VTEP (here: the record without it, as before the echo arrives)
    // waits for the echo instead of writing again
    await store.ds.update('node', 'n1', (cur) => {
      const { vxlanTunnelAddr: _a, vxlanTunnelMac: _m, ...rest } = cur!;
      return rest;
    });
    await waitFor('a snapshot without the VTEP', () => store.current().nodes[0]!.vtep === undefined, { timeoutMs: 5000 });
    const stripped = await store.ds.get('node', 'n1');
    assert.equal(await store.ensureVtep('n1'), true, 'waiting for it');
    assert.equal((await store.ds.get('node', 'n1'))?.modRevision, stripped?.modRevision, 'not written again');
    await store.ds.update('node', 'n1', (cur) => ({ ...cur!, vxlanTunnelAddr: written!.value.vxlanTunnelAddr!, vxlanTunnelMac: written!.value.vxlanTunnelMac! }));
    await waitFor('the VTEP back through the watch', () => store.current().nodes[0]!.vtep?.ip === written?.value.vxlanTunnelAddr, { timeoutMs: 5000 });
    assert.equal(await store.ensureVtep('n1'), false, 'present: nothing to do');
    assert.deepEqual(
      (await store.ds.list('handle')).items.map((h) => h.key.split('/').pop()),
      ['vxlan-tunnel-addr-n1'],
      'one IPAM handle',
    );
  } finally {
    await store.close();
    await etcd.stop();
  }
});
