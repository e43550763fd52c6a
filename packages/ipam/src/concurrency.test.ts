// Many hosts at once against a real etcd: 8 allocators × 500 addresses with separate clients, and
// allocation through the loss of one member of a 3-member etcd cluster.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster, sleep } from '@tsnet/testkit';
import { Datastore } from '@tsnet/datastore';
import { Ipam } from './ipam.js';
import { allocationsOf } from './blocks.js';
import type { Assignment } from './assign.js';

async function allocateMany(ipam: Ipam, node: string, n: number, onEach?: (i: number) => Promise<void>): Promise<Assignment[]> {
  const out: Assignment[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await ipam.autoAssign({ handle: `${node}-ep${i}`, node, containerId: `c-${node}-${i}` }));
    await onEach?.(i);
  }
  return out;
}

describe('concurrent allocation on a real etcd', () => {
  test('8 hosts × 500 addresses at once: no duplicate, owners consistent, all released', async () => {
    const hosts = 8;
    const per = 500;
    const etcd = await EtcdCluster.start(1);
    const clients: Datastore[] = [];
    try {
      for (let h = 0; h < hosts + 1; h++) clients.push(await Datastore.connect({ endpoints: etcd.endpoints, prefix: '/c1' }));
      const admin = new Ipam(clients[hosts]!);
      await admin.addPool({ cidr: '10.128.0.0/16' });
      const ipams = clients.slice(0, hosts).map((ds) => new Ipam(ds));
      const start = Date.now();
      const results = await Promise.all(ipams.map((ipam, h) => allocateMany(ipam, `host${h}`, per)));
      const seconds = (Date.now() - start) / 1000;
      const all = results.flat();
      assert.equal(all.length, hosts * per);
      assert.equal(new Set(all.map((a) => a.ip)).size, hosts * per, 'no duplicate address');
      assert.ok(all.every((a) => !a.borrowed), 'plenty of blocks: nobody borrowed');
      const retries = ipams.reduce((n, i) => n + i.retries, 0);
      console.log(`# ${hosts}x${per} allocations in ${seconds.toFixed(1)} s = ${Math.round((hosts * per) / seconds)}/s, ${retries} retries`);

      const ds = clients[hosts]!;
      const blocks = (await ds.list('block')).items.map((b) => b.value);
      const affinities = (await ds.list('affinity')).items.map((a) => `${a.value.node} ${a.value.cidr}`).sort();
      assert.deepEqual(affinities, blocks.map((b) => `${b.affinity} ${b.cidr}`).sort(), 'affinity index matches block owners');
      let stored = 0;
      for (const b of blocks) {
        for (const a of allocationsOf(b)) {
          assert.equal(a.attrs.node, b.affinity, `${a.ip} allocated for its block's owner`);
          stored++;
        }
      }
      assert.equal(stored, hosts * per);
      const handles = (await ds.list('handle')).items;
      assert.equal(handles.length, hosts * per);
      const byIp = new Map(all.map((a) => [a.ip, a]));
      for (const h of handles.slice(0, 200)) {
        const [cidr, n] = Object.entries(h.value.blocks)[0]!;
        assert.equal(n, 1);
        assert.ok([...byIp.values()].some((a) => a.handle === h.value.id && a.block === cidr));
      }

      await Promise.all(ipams.map(async (ipam, h) => {
        for (let i = 0; i < per; i++) assert.equal((await ipam.releaseByHandle(`host${h}-ep${i}`)).length, 1);
      }));
      const usage = await admin.usage();
      assert.equal(usage[0]!.allocated, 0, 'nothing left allocated');
      assert.equal(await ds.count('handle'), 0, 'no handle left');
      for (let h = 0; h < hosts; h++) await admin.releaseNode(`host${h}`);
      assert.equal(await ds.count('block'), 0);
      assert.equal(await ds.count('affinity'), 0);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await etcd.stop();
    }
  });

  test('3-member etcd, one member killed mid-run: allocations keep working', async () => {
    const etcd = await EtcdCluster.start(3);
    const clients: Datastore[] = [];
    try {
      for (let h = 0; h < 3; h++) clients.push(await Datastore.connect({ endpoints: etcd.endpoints, prefix: '/c2', timeoutMs: 10_000 }));
      const ipams = clients.map((ds) => new Ipam(ds));
      await ipams[0]!.addPool({ cidr: '10.200.0.0/16' });
      let killed = false;
      const results = await Promise.all(
        ipams.map((ipam, h) =>
          allocateMany(ipam, `host${h}`, 120, async (i) => {
            if (h === 0 && i === 40) {
              await etcd.kill(0);
              killed = true;
            }
            if (i % 20 === 0) await sleep(5);
          }),
        ),
      );
      assert.ok(killed);
      const all = results.flat();
      assert.equal(all.length, 360);
      assert.equal(new Set(all.map((a) => a.ip)).size, 360, 'no duplicate address');
      const usage = await ipams[1]!.usage();
      assert.equal(usage[0]!.allocated, 360);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await etcd.stop();
    }
  });
});
