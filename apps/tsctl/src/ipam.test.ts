// `tsctl ipam` against a real etcd: usage tables and JSON, lookups, release, check.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Datastore } from '@tsnet/datastore';
import { Ipam, type Assignment } from '@tsnet/ipam';
import { EtcdCluster } from '@tsnet/testkit';
import { assertRejected, etcdWipe, tsctl } from './test-helpers.js';

describe('tsctl ipam', () => {
  let etcd: EtcdCluster;
  let url: string;
  let env: Record<string, string>;
  let ds: Datastore;
  let ipam: Ipam;
  before(async () => {
    etcd = await EtcdCluster.start(1);
    url = etcd.endpoints[0]!;
    env = { ETCD_ENDPOINTS: url };
    ds = await Datastore.connect({ endpoints: [url] });
  });
  after(async () => {
    await ds?.close();
    await etcd?.stop();
  });
  beforeEach(async () => {
    await etcdWipe(url);
    ipam = new Ipam(ds); // fresh caches after the wipe
  });

  /** 10.10.0.0/24 with /26 blocks; host1 holds three addresses, host2 one. */
  async function populate(): Promise<Assignment[]> {
    await tsctl(['pool', 'add', '10.10.0.0/24'], env);
    await ds.putNode({ name: 'host1', ipv4: '198.51.100.1' });
    await ds.putNode({ name: 'host2', ipv4: '198.51.100.2' });
    const out: Assignment[] = [];
    for (const [handle, node] of [['c1', 'host1'], ['c2', 'host1'], ['c3', 'host1'], ['c4', 'host2']] as const) {
      out.push(await ipam.autoAssign({ handle, node, containerId: `ctr-${handle}` }));
    }
    return out;
  }

  test('show: pool usage table and json; --show-blocks adds the blocks', async () => {
    const a = await populate();
    let r = await tsctl(['ipam', 'show'], env);
    assert.equal(
      r.stdout,
      [
        '+----------+--------------+-----------+------------+-----------+',
        '| Grouping |     CIDR     | IPs total | IPs in use | IPs free  |',
        '+----------+--------------+-----------+------------+-----------+',
        '| IP Pool  | 10.10.0.0/24 |    256    |   4 (2%)   | 252 (98%) |',
        '+----------+--------------+-----------+------------+-----------+',
        '',
      ].join('\n'),
    );
    // which /26 each node claims is up to IPAM; the rows follow address order
    const host1Block = a[0]!.block;
    const host2Block = a[3]!.block;
    assert.equal(new Set(a.slice(0, 3).map((x) => x.block)).size, 1, 'host1 fills its own block');
    const blocks = [
      { cidr: host1Block, node: 'host1', size: '64', inUse: 3, free: '61' },
      { cidr: host2Block, node: 'host2', size: '64', inUse: 1, free: '63' },
    ].sort((x, y) => Number(x.cidr.split('.')[3]!.split('/')[0]) - Number(y.cidr.split('.')[3]!.split('/')[0]));
    r = await tsctl(['ipam', 'show', '--show-blocks'], env);
    assert.equal(r.code, 0, r.stderr);
    const row = (cells: string[], widths: number[]): string =>
      `|${cells.map((c, i) => {
        const pad = widths[i]! - c.length;
        return ' '.repeat(Math.floor(pad / 2)) + c + ' '.repeat(Math.ceil(pad / 2));
      }).join('|')}|`;
    const cidrWidth = Math.max(...blocks.map((b) => b.cidr.length), 'CIDR'.length) + 2;
    const widths = [10, cidrWidth, 7, 11, 12, 11];
    const share = (n: number, t: number): string => `${n} (${Math.round((n * 100) / t)}%)`;
    assert.deepEqual(r.stdout.split('\n').slice(1, 6), [
      row(['Grouping', 'CIDR', 'Node', 'IPs total', 'IPs in use', 'IPs free'], widths),
      r.stdout.split('\n')[2],
      row(['IP Pool', '10.10.0.0/24', '', '256', '4 (2%)', '252 (98%)'], widths),
      ...blocks.map((b) => row(['Block', b.cidr, b.node, b.size, share(b.inUse, 64), share(Number(b.free), 64)], widths)),
    ]);
    r = await tsctl(['ipam', 'show', '--show-blocks', '-o', 'json'], env);
    assert.deepEqual(JSON.parse(r.stdout), [{ cidr: '10.10.0.0/24', size: '256', inUse: 4, free: '252', blocks }]);
  });

  test('show --ip: in use with handle and node, or not assigned', async () => {
    const [first] = await populate();
    const { ip: ip1, block } = first!;
    let r = await tsctl(['ipam', 'show', '--ip', ip1], env);
    assert.equal(
      r.stdout,
      `IP ${ip1} is in use\n  Handle:    c1\n  Node:      host1\n  Container: ctr-c1\n  Block:     ${block} (pool 10.10.0.0/24)\n`,
    );
    r = await tsctl(['ipam', 'show', '--ip', ip1, '-o', 'json'], env);
    assert.deepEqual(JSON.parse(r.stdout), {
      ip: ip1, inUse: true, pool: '10.10.0.0/24', block, blockAffinity: 'host1', handle: 'c1', node: 'host1', containerId: 'ctr-c1',
    });
    const free = block.replace(/\.\d+\/26$/, (m) => `.${Number(m.slice(1).split('/')[0]) + 63}`); // last address of host1's block
    r = await tsctl(['ipam', 'show', '--ip', free], env);
    assert.equal(r.stdout, `IP ${free} is not assigned\n`);
    r = await tsctl(['ipam', 'show', '--ip', '172.16.0.1'], env);
    assert.equal(r.stdout, 'IP 172.16.0.1 is not assigned (it is in no tsnet pool)\n');
  });

  test('release frees one address; releasing a free one or a bad IP is refused', async () => {
    const ip1 = (await populate())[0]!.ip;
    let r = await tsctl(['ipam', 'release', ip1], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Released IP ${ip1} (handle c1, node host1)\n`);
    r = await tsctl(['ipam', 'show', '--ip', ip1], env);
    assert.equal(r.stdout, `IP ${ip1} is not assigned\n`);
    await assertRejected(url, ['ipam', 'release', ip1], 1, new RegExp(`^IP ${ip1.replaceAll('.', '\\.')} is not assigned: nothing to release`));
    await assertRejected(url, ['ipam', 'release', '10.10.0.300'], 1, /^invalid IP address "10\.10\.0\.300"/);
    await assertRejected(url, ['ipam', 'show', '--ip', 'nope'], 1, /^invalid IP address "nope"/);
  });

  test('check finds addresses of removed nodes; --release frees them', async () => {
    const c4 = (await populate())[3]!;
    await ds.deleteNode('host2'); // gone without releasing its address and block
    let r = await tsctl(['ipam', 'check'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith(`Found 1 leaked address:\n  ${c4.ip}  handle c4  node host2  (node host2 no longer exists)\n`), r.stdout);
    assert.ok(r.stdout.includes(`Found 1 orphan block:\n  ${c4.block}  affine to missing node host2  (1 in use)\n`), r.stdout);
    assert.match(r.stdout, /Run 'tsctl ipam check --release' to release them\.\n$/);
    r = await tsctl(['ipam', 'check', '--release', '-o', 'json'], env);
    const report = JSON.parse(r.stdout) as { leakedAddresses: unknown[]; released: { addresses: number; blocks: number } };
    assert.equal(report.leakedAddresses.length, 1);
    assert.equal(report.released.addresses, 1);
    assert.equal(report.released.blocks, 1);
    r = await tsctl(['ipam', 'check'], env);
    assert.equal(r.stdout, 'Found 0 leaked addresses.\nFound 0 orphan blocks.\nFound 0 stale handles.\nIPAM is consistent.\n');
  });
  test('check: a Docker plugin address without an active endpoint is a leak; --release frees it', async () => {
    const others = await populate(); // c1..c4: not the plugin's handles, no endpoint records: no leaks
    const { HANDLE_PREFIX } = await import('@tsnet/libnetwork');
    const assign = async (suffix: string): Promise<Assignment> =>
      ipam.autoAssign({ handle: `${HANDLE_PREFIX}host1.${suffix}`, node: 'host1', extra: { owner: 'libnetwork' } });
    const [running, left, lost] = [await assign('aa01'), await assign('aa02'), await assign('aa03')];
    const endpoint = (id: string, ip: string, active: boolean): Promise<boolean> =>
      ds.put('dockerEndpoint', id, { id, networkId: 'n1', ipv4: `${ip}/32`, hostVeth: `ts${id.slice(0, 11)}`, node: 'host1', active } as never);
    await endpoint('e'.repeat(64), running.ip, true); // joined: alive
    await endpoint('f'.repeat(64), left.ip, false); // left, never deleted: leaked
    // `lost` has no endpoint record at all: leaked
    let r = await tsctl(['ipam', 'check'], env);
    assert.equal(r.code, 0, r.stderr);
    const leaks = [left, lost]
      .map((a) => `  ${a.ip}  handle ${a.handle}  node host1  (owner of handle ${a.handle} no longer exists)`)
      .sort();
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'Found 2 leaked addresses:');
    assert.deepEqual(lines.slice(1, 3).sort(), leaks);
    assert.equal(lines[3], 'Found 0 orphan blocks.');
    r = await tsctl(['ipam', 'check', '--release', '-o', 'json'], env);
    const report = JSON.parse(r.stdout) as { leakedAddresses: { ip: string }[]; released: { addresses: number } };
    assert.deepEqual(report.leakedAddresses.map((l) => l.ip).sort(), [left.ip, lost.ip].sort());
    assert.equal(report.released.addresses, 2);
    assert.equal((await ipam.lookup(running.ip)).inUse, true, 'the running container keeps its address');
    assert.equal((await ipam.lookup(left.ip)).inUse, false);
    assert.equal((await ipam.lookup(lost.ip)).inUse, false);
    for (const a of others) assert.equal((await ipam.lookup(a.ip)).inUse, true, `${a.handle} untouched`);
    r = await tsctl(['ipam', 'check'], env);
    assert.equal(r.stdout, 'Found 0 leaked addresses.\nFound 0 orphan blocks.\nFound 0 stale handles.\nIPAM is consistent.\n');
  });
});
