// `tsctl bgp peer add ... --accept` and `tsctl node bgp peer add ... --accept` against a real etcd:
// what a global or node peer may send, shown as the Accepts column; bad lists change nothing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Datastore } from '@tsnet/datastore';
import { assertRejected, etcdSuite, tsctl } from './test-helpers.js';

describe('tsctl bgp peer --accept', () => {
  let url: string;
  let env: Record<string, string>;
  let ds: Datastore;
  etcdSuite((h) => ({ url, env, ds } = h));

  test('global peers: comma lists and repeated flags, canonical; Accepts column and JSON; add again to change', async () => {
    let r = await tsctl(['bgp', 'peer', 'add', '198.51.100.10', 'as', '64512', '--accept', '10.50.0.0/16,FD00:0::/8', '--accept', '10.60.0.0/16'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Added global BGP peer 198.51.100.10 (AS 64512), accepting 10.50.0.0/16, fd00::/8, 10.60.0.0/16\n');
    r = await tsctl(['bgp', 'peer', 'add', '198.51.100.11', 'as', '64513', '--accept=0.0.0.0/0'], env);
    assert.equal(r.stdout, 'Added global BGP peer 198.51.100.11 (AS 64513), accepting 0.0.0.0/0\n');
    r = await tsctl(['bgp', 'peer', 'add', '198.51.100.12', 'as', '64514'], env);
    assert.equal(r.stdout, 'Added global BGP peer 198.51.100.12 (AS 64514)\n');
    r = await tsctl(['bgp', 'peer', 'show'], env);
    assert.equal(
      r.stdout,
      [
        '+---------------+--------+------------------------------------+',
        '| Peer address  | AS Num |              Accepts               |',
        '+---------------+--------+------------------------------------+',
        '| 198.51.100.10 | 64512  | 10.50.0.0/16,fd00::/8,10.60.0.0/16 |',
        '| 198.51.100.11 | 64513  |             0.0.0.0/0              |',
        '| 198.51.100.12 | 64514  |               pools                |',
        '+---------------+--------+------------------------------------+',
        '',
      ].join('\n'),
    );
    r = await tsctl(['bgp', 'peer', 'show', '-o', 'json'], env);
    assert.deepEqual(JSON.parse(r.stdout), [
      { ip: '198.51.100.10', asn: 64512, acceptPrefixes: ['10.50.0.0/16', 'fd00::/8', '10.60.0.0/16'] },
      { ip: '198.51.100.11', asn: 64513, acceptPrefixes: ['0.0.0.0/0'] },
      { ip: '198.51.100.12', asn: 64514 },
    ]);
    // add again: the new list replaces the old one; without --accept the peer is back to the pools
    await tsctl(['bgp', 'peer', 'add', '198.51.100.10', 'as', '64512', '--accept', '0.0.0.0/0'], env);
    await tsctl(['bgp', 'peer', 'add', '198.51.100.11', 'as', '64513'], env);
    const stored = (await ds.listGlobalPeers()).sort((a, b) => a.ip.localeCompare(b.ip));
    assert.deepEqual(stored, [
      { ip: '198.51.100.10', asn: 64512, acceptPrefixes: ['0.0.0.0/0'] },
      { ip: '198.51.100.11', asn: 64513 },
      { ip: '198.51.100.12', asn: 64514 },
    ]);
  });

  test('node peers: the same flag for the peers of one node', async () => {
    await ds.putNode({ name: 'host1', ipv4: '198.51.100.1' });
    let r = await tsctl(['node', 'bgp', 'peer', 'add', '198.51.100.20', 'as', '64520', '--accept', '10.50.0.0/16', '--name', 'host1'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Added node specific BGP peer 198.51.100.20 (AS 64520), accepting 10.50.0.0/16\n');
    r = await tsctl(['node', 'bgp', 'peer', 'show', '--name', 'host1'], env);
    assert.equal(
      r.stdout,
      [
        '+---------------+--------+--------------+',
        '| Peer address  | AS Num |   Accepts    |',
        '+---------------+--------+--------------+',
        '| 198.51.100.20 | 64520  | 10.50.0.0/16 |',
        '+---------------+--------+--------------+',
        '',
      ].join('\n'),
    );
    r = await tsctl(['node', 'bgp', 'peer', 'show', '-o', 'json', '--name', 'host1'], env);
    assert.deepEqual(JSON.parse(r.stdout), [{ ip: '198.51.100.20', asn: 64520, node: 'host1', acceptPrefixes: ['10.50.0.0/16'] }]);
    assert.equal((await tsctl(['bgp', 'peer', 'show'], env)).stdout, 'No global BGP peers defined.\n');
  });

  test('a bad --accept is refused with one line and changes nothing', async () => {
    await ds.putNode({ name: 'host1', ipv4: '198.51.100.1' });
    await tsctl(['bgp', 'peer', 'add', '198.51.100.10', 'as', '64512', '--accept', '10.50.0.0/16'], env);
    await tsctl(['node', 'bgp', 'peer', 'add', '198.51.100.20', 'as', '64520', '--name', 'host1'], env);
    const add = ['bgp', 'peer', 'add', '198.51.100.10', 'as', '64512'];
    const cases: [string[], 1 | 2, RegExp][] = [
      [[...add, '--accept', '10.0.0.0/33'], 1, /^bad prefix 10\.0\.0\.0\/33 in --accept: give CIDRs like 10\.0\.0\.0\/8\n$/],
      [[...add, '--accept', '0.0.0.0/0,10.60.0.0'], 1, /^bad prefix 10\.60\.0\.0 in --accept: give CIDRs like 10\.0\.0\.0\/8\n$/],
      [[...add, '--accept', '0.0.0.0/0', '--accept', 'ten'], 1, /^bad prefix ten in --accept/],
      [[...add, '--accept', '10.50.1.0/16'], 1, /^bad prefix 10\.50\.1\.0\/16 in --accept: host bits are set; did you mean 10\.50\.0\.0\/16\?\n$/],
      [[...add, '--accept', ''], 2, /^--accept needs CIDRs, e\.g\. --accept 10\.50\.0\.0\/16,10\.60\.0\.0\/16/],
      [[...add, '--accept', '10.50.0.0/16,'], 2, /^--accept needs CIDRs/],
      [[...add, '--accept'], 2, /^--accept needs CIDRs/],
      [['bgp', 'peer', 'add', '198.51.100.13', 'as', '64515', '--accept', 'fd00::/129'], 1, /^bad prefix fd00::\/129 in --accept/],
      [['node', 'bgp', 'peer', 'add', '198.51.100.20', 'as', '64520', '--accept', '10.0.0.0/33', '--name', 'host1'], 1, /^bad prefix 10\.0\.0\.0\/33 in --accept/],
      [['node', 'bgp', 'peer', 'add', '198.51.100.21', 'as', '64521', '--accept', '10.0.0.0/8', '--name', 'host9'], 1, /^node host9 is not registered/],
    ];
    for (const [args, code, message] of cases) await assertRejected(url, args, code, message);
    assert.deepEqual(await ds.listGlobalPeers(), [{ ip: '198.51.100.10', asn: 64512, acceptPrefixes: ['10.50.0.0/16'] }]);
  });
});
