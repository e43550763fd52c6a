// `tsctl bgp` against a real etcd: global peers, default node AS, node mesh; bad input refused.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertRejected, etcdSuite, tsctl } from './test-helpers.js';

describe('tsctl bgp', () => {
  let url: string;
  let env: Record<string, string>;
  etcdSuite((h) => ({ url, env } = h));

  test('global peers: add, show (table, json), remove', async () => {
    let r = await tsctl(['bgp', 'peer', 'show'], env);
    assert.equal(r.stdout, 'No global BGP peers defined.\n');
    r = await tsctl(['bgp', 'peer', 'add', '198.51.100.10', 'as', '64512'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Added global BGP peer 198.51.100.10 (AS 64512)\n');
    await tsctl(['bgp', 'peer', 'add', 'FD00:0:0::10', 'as', '4294967295'], env);
    await tsctl(['bgp', 'peer', 'add', '198.51.100.9', 'as', '1'], env);
    r = await tsctl(['bgp', 'peer', 'show'], env);
    assert.equal(
      r.stdout,
      [
        '+---------------+------------+---------+',
        '| Peer address  |   AS Num   | Accepts |',
        '+---------------+------------+---------+',
        '| 198.51.100.9  |     1      |  pools  |',
        '| 198.51.100.10 |   64512    |  pools  |',
        '|   fd00::10    | 4294967295 |  pools  |',
        '+---------------+------------+---------+',
        '',
      ].join('\n'),
    );
    r = await tsctl(['bgp', 'peer', 'show', '-o', 'json'], env);
    assert.deepEqual(JSON.parse(r.stdout), [
      { ip: '198.51.100.9', asn: 1 },
      { ip: '198.51.100.10', asn: 64512 },
      { ip: 'fd00::10', asn: 4294967295 },
    ]);
    r = await tsctl(['bgp', 'peer', 'remove', 'fd00::10'], env);
    assert.equal(r.stdout, 'Removed global BGP peer fd00::10\n');
    r = await tsctl(['bgp', 'peer', 'show', '-o', 'json'], env);
    assert.equal(JSON.parse(r.stdout).length, 2);
  });

  test('default-node-as: prints 64511, sets, json', async () => {
    let r = await tsctl(['bgp', 'default-node-as'], env);
    assert.equal(r.stdout, '64511\n');
    r = await tsctl(['bgp', 'default-node-as', '64600'], env);
    assert.equal(r.stdout, 'Default node AS number set to 64600\n');
    r = await tsctl(['bgp', 'default-node-as', '-o', 'json'], env);
    assert.deepEqual(JSON.parse(r.stdout), { defaultAsn: 64600 });
  });

  test('node-mesh: on by default, off, json', async () => {
    assert.equal((await tsctl(['bgp', 'node-mesh'], env)).stdout, 'on\n');
    assert.equal((await tsctl(['bgp', 'node-mesh', 'off'], env)).stdout, 'Node-to-node mesh is off\n');
    assert.deepEqual(JSON.parse((await tsctl(['bgp', 'node-mesh', '-o', 'json'], env)).stdout), { nodeMesh: false });
    assert.equal((await tsctl(['bgp', 'node-mesh', 'on'], env)).stdout, 'Node-to-node mesh is on\n');
    assert.equal((await tsctl(['bgp', 'node-mesh'], env)).stdout, 'on\n');
  });

  test('bad input is refused before anything changes', async () => {
    await tsctl(['bgp', 'peer', 'add', '198.51.100.10', 'as', '64512'], env);
    await tsctl(['bgp', 'default-node-as', '64600'], env);
    const asn = /must be an integer in 1\.\.4294967295 \(e\.g\. 64512\)/;
    const cases: [string[], RegExp][] = [
      [['bgp', 'peer', 'add', '198.51.100.300', 'as', '64512'], /^invalid peer IP "198\.51\.100\.300": expected an IPv4 or IPv6 address such as 198\.51\.100\.1/],
      [['bgp', 'peer', 'add', '198.51.100.11/32', 'as', '64512'], /^invalid peer IP "198\.51\.100\.11\/32"/],
      [['bgp', 'peer', 'add', '198.51.100.11', 'as', '0'], new RegExp(`^invalid AS number "0": ${asn.source}`)],
      [['bgp', 'peer', 'add', '198.51.100.11', 'as', '4294967296'], new RegExp(`^invalid AS number "4294967296": ${asn.source}`)],
      [['bgp', 'peer', 'add', '198.51.100.11', 'as', '-5'], /^invalid AS number "-5"/],
      [['bgp', 'peer', 'add', '198.51.100.11', 'as', '645x'], /^invalid AS number "645x"/],
      [['bgp', 'peer', 'remove', '198.51.100.11'], /^198\.51\.100\.11 is not a global BGP peer; list them with: tsctl bgp peer show/],
      [['bgp', 'peer', 'remove', 'peer1'], /^invalid peer IP "peer1"/],
      [['bgp', 'default-node-as', '0'], /^invalid AS number "0"/],
      [['bgp', 'default-node-as', '4294967296'], /^invalid AS number "4294967296"/],
    ];
    for (const [args, message] of cases) await assertRejected(url, args, 1, message);
    await assertRejected(url, ['bgp', 'peer', 'add', '198.51.100.11', 'asn', '64512'], 2, /^expected "add IP as ASN"/);
    await assertRejected(url, ['bgp', 'node-mesh', 'maybe'], 2, /^invalid value "maybe" for state/);
    await assertRejected(url, ['bgp', 'peer', 'add', '198.51.100.11', 'as', '1', '--colour'], 2, /^unknown command or flag: colour/);
  });
});
