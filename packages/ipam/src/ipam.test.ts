// IPAM against a real etcd: pools, borrowing, exhaustion, specific addresses, release, check.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster } from '@tsnet/testkit';
import { Datastore } from '@tsnet/datastore';
import { Ipam } from './ipam.js';
import { ipAt, parseCidr } from './ip.js';

/** Asserts a rejection with a TsnetError of exactly `message`. */
async function refuses(p: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.equal(err.name, 'TsnetError');
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('ipam on a real etcd', () => {
  let etcd: EtcdCluster;
  const clients: Datastore[] = [];
  const connect = async (prefix: string): Promise<Datastore> => {
    const ds = await Datastore.connect({ endpoints: etcd.endpoints, prefix });
    clients.push(ds);
    return ds;
  };

  before(async () => {
    etcd = await EtcdCluster.start(1);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await etcd?.stop();
  });

  test('default pools are created once when two nodes start at the same time', async () => {
    const [a, b] = [new Ipam(await connect('/p1')), new Ipam(await connect('/p1'))];
    const [ra, rb] = await Promise.all([a.ensureDefaultPools(), b.ensureDefaultPools()]);
    assert.equal(Number(ra.created) + Number(rb.created), 1, 'exactly one creates them');
    assert.deepEqual((await a.listPools()).map((p) => `${p.cidr} ${p.blockSize}`), ['192.168.0.0/16 26', 'fd80:24e2:f998:72d6::/64 122']);
    assert.equal((await a.ensureDefaultPools()).created, false);
    assert.deepEqual((await a.listPools({ family: 6 })).map((p) => p.cidr), ['fd80:24e2:f998:72d6::/64']);
  });

  test('pool add refuses overlaps; concurrent overlapping adds: one wins', async () => {
    const ipam = new Ipam(await connect('/p2'));
    await ipam.addPool({ cidr: '10.0.0.0/16', ipipMode: 'always', natOutgoing: true });
    await refuses(ipam.addPool({ cidr: '10.0.1.0/24' }), 'pool 10.0.1.0/24 overlaps existing pool 10.0.0.0/16: remove that pool first or choose a disjoint CIDR');
    const other = new Ipam(await connect('/p2'));
    const results = await Promise.allSettled([ipam.addPool({ cidr: '10.5.0.0/16' }), other.addPool({ cidr: '10.5.0.0/24' })]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.equal((await ipam.listPools()).length, 2);
    await refuses(ipam.removePool('10.9.0.0/16'), 'no pool 10.9.0.0/16: see tsctl pool show');
  });

  test('borrowing when blocks run out, then a clear exhaustion error', async () => {
    const ipam = new Ipam(await connect('/p3'));
    await ipam.addPool({ cidr: '10.9.0.0/28', blockSize: 29 });
    const take = (node: string, n: number) =>
      Promise.all(Array.from({ length: n }, (_, i) => ipam.autoAssign({ handle: `${node}-h${i}`, node })));
    const a = await take('n1', 3);
    const b = await take('n2', 3);
    assert.ok(a.every((x) => !x.borrowed) && b.every((x) => !x.borrowed));
    assert.notEqual(a[0]!.block, b[0]!.block, 'each node claimed its own block');
    const c = await ipam.autoAssign({ handle: 'n3-h0', node: 'n3', containerId: 'c3' });
    assert.equal(c.borrowed, true, 'no free block left: borrowed');
    assert.deepEqual((await ipam.borrowedBy('n3')).map((x) => x.ip), [c.ip]);
    assert.deepEqual(await ipam.blocksForNode('n3'), []);
    // n1 keeps using its own block (not the other's).
    const a2 = await ipam.autoAssign({ handle: 'n1-more', node: 'n1' });
    assert.equal(a2.block, a[0]!.block);
    for (let i = 0; i < 8; i++) await ipam.autoAssign({ handle: `fill${i}`, node: 'n4' });
    await refuses(
      ipam.autoAssign({ handle: 'too-many', node: 'n1' }),
      'no free IPv4 address in pool 10.9.0.0/28: add a pool (tsctl pool add CIDR) or release addresses (tsctl ipam check --release)',
    );
    const u = (await ipam.usage())[0]!;
    assert.deepEqual([u.size, u.allocated, u.free], [16, 16, 0]);
    assert.deepEqual(
      u.blocks.map((x) => `${x.cidr} ${x.affinity} ${x.used}/${x.total}`).sort(),
      [`${a[0]!.block} n1 8/8`, `${b[0]!.block} n2 8/8`].sort(),
    );
    await refuses(
      ipam.removePool('10.9.0.0/28'),
      'pool 10.9.0.0/28 still has 16 addresses in use: release them first (remove the containers, tsctl ipam release IP, or tsctl node remove --name NODE --remove-endpoints)',
    );
  });

  test('specific addresses (docker --ip), lookup, release by address and handle', async () => {
    const ipam = new Ipam(await connect('/p4'));
    await ipam.addPool({ cidr: '10.20.0.0/16' });
    await ipam.addPool({ cidr: 'fd00:20::/64' });
    const x = await ipam.assignIp({ ip: '10.20.7.9', handle: 'ep1', node: 'n1', containerId: 'cont1' });
    assert.deepEqual([x.ip, x.block, x.borrowed], ['10.20.7.9', '10.20.7.0/26', false]);
    await refuses(
      ipam.assignIp({ ip: '10.20.7.9', handle: 'ep2', node: 'n2' }),
      'IP 10.20.7.9 is already in use (handle ep1, node n1): pick another address or release it (tsctl ipam release 10.20.7.9)',
    );
    await refuses(ipam.assignIp({ ip: '10.99.0.1', handle: 'ep2', node: 'n2' }), 'IP 10.99.0.1 is not in any pool: see tsctl pool show');
    const y = await ipam.assignIp({ ip: '10.20.7.10', handle: 'ep2', node: 'n2' });
    assert.equal(y.borrowed, true, 'inside n1s block');
    const v6 = await ipam.autoAssign({ handle: 'ep1', node: 'n1', family: 6 });
    assert.match(v6.ip, /^fd00:20::/);
    assert.equal(v6.block.endsWith('/122'), true);
    assert.equal(v6.prefixLength, 128);
    assert.deepEqual((await ipam.handleAddresses('ep1')).sort(), ['10.20.7.9', v6.ip]);
    assert.deepEqual(await ipam.lookup('10.20.7.9'), {
      ip: '10.20.7.9', inUse: true, pool: '10.20.0.0/16', block: '10.20.7.0/26', blockAffinity: 'n1', handle: 'ep1', node: 'n1', containerId: 'cont1',
    });
    assert.deepEqual(await ipam.lookup('10.20.7.11'), { ip: '10.20.7.11', inUse: false, pool: '10.20.0.0/16', block: '10.20.7.0/26', blockAffinity: 'n1' });
    assert.equal((await ipam.poolFor('fd00:20::5'))?.cidr, 'fd00:20::/64');
    assert.deepEqual(await ipam.releaseIp('10.20.7.10'), { ip: '10.20.7.10', handle: 'ep2', node: 'n2' });
    assert.equal(await ipam.releaseIp('10.20.7.10'), undefined);
    assert.deepEqual((await ipam.releaseByHandle('ep1')).map((r) => r.ip).sort(), ['10.20.7.9', v6.ip]);
    assert.equal((await ipam.lookup('10.20.7.9')).inUse, false);
    assert.equal(await ipam.ds.get('handle', 'ep1'), undefined, 'handle gone with its last address');
    assert.equal(await ipam.ds.get('handle', 'ep2'), undefined);
    await ipam.removePool('fd00:20::/64');
    assert.equal(await ipam.ds.count('block'), 1, 'the v6 block went with its pool');
  });

  test('check finds leaks of removed nodes and orphan blocks; --release frees them; releaseNode', async () => {
    const ds = await connect('/p5');
    const ipam = new Ipam(ds);
    await ipam.addPool({ cidr: '10.30.0.0/24', blockSize: 28 });
    for (const n of ['n1', 'n2', 'n3']) await ds.putNode({ name: n });
    const n1 = await Promise.all([0, 1, 2].map((i) => ipam.autoAssign({ handle: `a${i}`, node: 'n1' })));
    const b0 = await ipam.autoAssign({ handle: 'b0', node: 'n2' });
    const inN2Block = ipAt(parseCidr(b0.block)!, 5);
    const borrowedByN1 = await ipam.assignIp({ ip: inN2Block, handle: 'a9', node: 'n1' });
    assert.equal(borrowedByN1.borrowed, true);
    await ipam.autoAssign({ handle: 'c0', node: 'n3' });
    assert.deepEqual((await ipam.check()).leakedAddresses, []);

    await ds.deleteNode('n1');
    const report = await ipam.check();
    assert.deepEqual(report.leakedAddresses.map((l) => l.ip).sort(), [...n1.map((a) => a.ip), inN2Block].sort());
    assert.ok(report.leakedAddresses.every((l) => l.reason === 'node n1 no longer exists'));
    assert.deepEqual(report.orphanBlocks, [{ cidr: n1[0]!.block, affinity: 'n1', used: 3 }]);
    const fixed = await ipam.check({ release: true });
    assert.deepEqual(fixed.released, { addresses: 4, blocks: 1, handles: 0 });
    const after = await ipam.check();
    assert.deepEqual([after.leakedAddresses.length, after.orphanBlocks.length], [0, 0]);
    assert.equal(await ds.get('block', n1[0]!.block), undefined, 'empty orphan block deleted');
    assert.equal((await ds.list('affinity', ['n1'])).items.length, 0);

    // node remove --remove-endpoints
    const r = await ipam.releaseNode('n2');
    assert.deepEqual(r, { addresses: 1, blocks: 1 });
    assert.deepEqual((await ipam.usage())[0]!.blocks.map((b) => b.affinity), ['n3']);
    assert.deepEqual((await ds.list('handle')).items.map((h) => h.value.id), ['c0']);
  });

  test('pool removal racing allocations: either refused or leaves nothing behind', async () => {
    const remover = new Ipam(await connect('/p6'));
    const allocator = new Ipam(await connect('/p6'));
    for (let round = 0; round < 8; round++) {
      const cidr = `10.40.${round}.0/24`;
      await remover.addPool({ cidr, blockSize: 28 });
      const [alloc, removal] = await Promise.allSettled([
        allocator.autoAssign({ handle: `r${round}`, node: `n${round % 2}`, pools: [cidr] }),
        remover.removePool(cidr),
      ]);
      const pools = (await remover.listPools()).map((p) => p.cidr);
      const blocks = (await remover.ds.list('block')).items.filter((b) => b.value.pool === cidr);
      if (removal.status === 'fulfilled') {
        assert.ok(!pools.includes(cidr));
        assert.equal(blocks.length, 0, 'no block of a removed pool survives');
        if (alloc.status === 'fulfilled') assert.fail(`allocated ${alloc.value.ip} from a pool that was removed`);
      } else {
        assert.match((removal.reason as Error).message, /still has 1 address in use/);
        assert.equal(alloc.status, 'fulfilled');
        assert.equal(blocks.length, 1);
      }
    }
  });

  test('IPv6: specific address, borrowing across nodes, lookup', async () => {
    const ipam = new Ipam(await connect('/p7'));
    await ipam.addPool({ cidr: 'fd00:7::/120', blockSize: 124 });
    const a = await ipam.assignIp({ ip: 'FD00:7::1F', handle: 'v6a', node: 'n1' });
    assert.deepEqual([a.ip, a.block, a.prefixLength], ['fd00:7::1f', 'fd00:7::10/124', 128]);
    await refuses(ipam.assignIp({ ip: 'fd00:7::1f', handle: 'v6b', node: 'n2' }), /^IP fd00:7::1f is already in use \(handle v6a, node n1\)/);
    assert.equal((await ipam.lookup('fd00:7:0::1f')).handle, 'v6a');
    await ipam.removePool('fd00:7::/120').catch((err: Error) => assert.match(err.message, /still has 1 address in use/));
  });
});
