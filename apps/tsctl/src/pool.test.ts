// `tsctl pool` against a real etcd: tables, JSON, and every bad input refused with etcd unchanged.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Datastore } from '@tsnet/datastore';
import { Ipam } from '@tsnet/ipam';
import { assertRejected, etcdSuite, tsctl } from './test-helpers.js';

describe('tsctl pool', () => {
  let url: string;
  let env: Record<string, string>;
  etcdSuite((h) => ({ url, env } = h));

  test('add, show (table, json, --ipv4/--ipv6), remove', async () => {
    let r = await tsctl(['pool', 'add', '10.10.0.0/16', '--ipip', '--nat-outgoing'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Added pool 10.10.0.0/16 (block size /26, ipip,nat-outgoing)\n');
    r = await tsctl(['pool', 'add', 'fd00:10::/64', '192.168.0.0/16', '--vxlan-mode', 'cross-subnet', '--block-size', '120'], env);
    assert.equal(r.code, 1, 'block size 120 is out of range for the IPv4 pool given with it');
    assert.match(r.stderr, /^block size 120 is outside 20\.\.32 for IPv4 pools/);
    r = await tsctl(['pool', 'add', 'fd00:10::/64', '--vxlan-mode', 'cross-subnet', '--block-size', '120'], env);
    assert.equal(r.code, 0, r.stderr);
    r = await tsctl(['pool', 'add', '192.168.0.0/16', '--disabled'], env);
    assert.equal(r.code, 0, r.stderr);

    r = await tsctl(['pool', 'show'], env);
    assert.equal(
      r.stdout,
      [
        '+----------------+------------+--------------------+',
        '|      CIDR      | Block size |      Options       |',
        '+----------------+------------+--------------------+',
        '|  10.10.0.0/16  |     26     | ipip,nat-outgoing  |',
        '| 192.168.0.0/16 |     26     |      disabled      |',
        '|  fd00:10::/64  |    120     | vxlan-cross-subnet |',
        '+----------------+------------+--------------------+',
        '',
      ].join('\n'),
    );
    r = await tsctl(['pool', 'show', '--ipv6'], env);
    assert.match(r.stdout, /fd00:10::\/64/);
    assert.doesNotMatch(r.stdout, /10\.10\.0\.0/);
    r = await tsctl(['pool', 'show', '--ipv4', '-o', 'json'], env);
    assert.deepEqual(JSON.parse(r.stdout), [
      { cidr: '10.10.0.0/16', blockSize: 26, ipipMode: 'always', vxlanMode: 'never', natOutgoing: true, disabled: false },
      { cidr: '192.168.0.0/16', blockSize: 26, ipipMode: 'never', vxlanMode: 'never', natOutgoing: false, disabled: true },
    ]);

    r = await tsctl(['pool', 'remove', '10.10.0.0/16', 'fd00:10::/64'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Removed pool 10.10.0.0/16\nRemoved pool fd00:10::/64\n');
    r = await tsctl(['pool', 'show', '-o', 'json'], env);
    assert.deepEqual(JSON.parse(r.stdout).map((p: { cidr: string }) => p.cidr), ['192.168.0.0/16']);
  });

  test('no pools: a hint instead of an empty table', async () => {
    const r = await tsctl(['pool', 'show'], env);
    assert.equal(r.stdout, 'No pools defined. Add one with: tsctl pool add CIDR\n');
    assert.deepEqual(JSON.parse((await tsctl(['pool', 'show', '-o', 'json'], env)).stdout), []);
  });

  test('bad input is refused before anything changes', async () => {
    await tsctl(['pool', 'add', '10.10.0.0/16'], env);
    await tsctl(['pool', 'add', 'fd00:10::/64'], env);
    const cases: [string[], RegExp][] = [
      [['pool', 'add', '10.20.0.0/33'], /^invalid CIDR "10\.20\.0\.0\/33": expected a network such as 10\.10\.0\.0\/16/],
      [['pool', 'add', 'banana'], /^invalid CIDR "banana"/],
      [['pool', 'add', '10.20.0.1/16'], /^pool CIDR 10\.20\.0\.1\/16 has host bits set: did you mean 10\.20\.0\.0\/16\?/],
      [['pool', 'add', '10.20.0.0/16', '--block-size', '19'], /^block size 19 is outside 20\.\.32 for IPv4 pools: choose --block-size in that range/],
      [['pool', 'add', 'fd00:20::/64', '--block-size', '130'], /^block size 130 is outside 116\.\.128 for IPv6 pools/],
      [['pool', 'add', '10.20.0.0/28'], /^block size \/26 is larger than pool 10\.20\.0\.0\/28/],
      [['pool', 'add', '10.20.0.0/16', '--ipip', '--vxlan'], /^--ipip and --vxlan exclude each other/],
      [['pool', 'add', '10.20.0.0/16', '--ipip-mode', 'cross-subnet', '--vxlan-mode', 'always'], /^--ipip and --vxlan exclude each other/],
      [['pool', 'add', 'fd00:20::/64', '--ipip'], /^IPIP carries IPv4 only: remove --ipip for IPv6 pool fd00:20::\/64/],
      [['pool', 'add', '10.10.128.0/17'], /^pool 10\.10\.128\.0\/17 overlaps existing pool 10\.10\.0\.0\/16/],
      [['pool', 'add', '10.0.0.0/8'], /^pool 10\.0\.0\.0\/8 overlaps existing pool 10\.10\.0\.0\/16/],
      [['pool', 'add', '10.10.0.0/16'], /^pool 10\.10\.0\.0\/16 already exists/],
      // the first CIDR is fine, the second is not: neither is added
      [['pool', 'add', '10.30.0.0/16', '10.30.1.0/24'], /^pools 10\.30\.0\.0\/16 and 10\.30\.1\.0\/24 overlap/],
      [['pool', 'add', '10.40.0.0/16', '10.10.0.0/24'], /^pool 10\.10\.0\.0\/24 overlaps existing pool 10\.10\.0\.0\/16/],
      [['pool', 'remove', '10.99.0.0/16'], /^pool 10\.99\.0\.0\/16 does not exist: see tsctl pool show/],
      [['pool', 'remove', '10.10.0.0/16', '10.99.0.0/16'], /^pool 10\.99\.0\.0\/16 does not exist/],
      [['pool', 'remove', '10.10.0.1/16'], /^invalid CIDR "10\.10\.0\.1\/16": host bits are set; did you mean 10\.10\.0\.0\/16\?/],
    ];
    for (const [args, message] of cases) await assertRejected(url, args, 1, message);
    await assertRejected(url, ['pool', 'add', '10.20.0.0/16', '--ipip-mode', 'sometimes'], 2, /^invalid value "sometimes" for ipip-mode: choose always or cross-subnet/);
    await assertRejected(url, ['pool', 'add', '10.20.0.0/16', '--block-size', 'x'], 1, /^invalid block size "x": give a prefix length such as 26 \(IPv4\) or 122 \(IPv6\)/);
  });

  test('removing a pool in use is refused with the count and how to release', async () => {
    await tsctl(['pool', 'add', '10.10.0.0/16', '10.20.0.0/16'], env);
    const ds = await Datastore.connect({ endpoints: [url] });
    try {
      const ipam = new Ipam(ds);
      await ipam.autoAssign({ handle: 'c1', node: 'host1', pools: ['10.10.0.0/16'] });
      await ipam.autoAssign({ handle: 'c2', node: 'host1', pools: ['10.10.0.0/16'] });
    } finally {
      await ds.close();
    }
    // the free pool listed first is not removed either
    await assertRejected(
      url,
      ['pool', 'remove', '10.20.0.0/16', '10.10.0.0/16'],
      1,
      /^pool 10\.10\.0\.0\/16 has 2 addresses in use: remove the containers using them, or release them with tsctl ipam release IP/,
    );
  });

  test('etcd unreachable: names the endpoints tried, exit 1', async () => {
    const r = await tsctl(['pool', 'show'], { ETCD_ENDPOINTS: 'http://127.0.0.1:9,http://127.0.0.1:10' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^cannot reach etcd at http:\/\/127\.0\.0\.1:9,http:\/\/127\.0\.0\.1:10 \(tried for .* s\): is etcd running\? set --etcd-endpoints or ETCD_ENDPOINTS\n$/);
    const viaFlag = await tsctl(['pool', 'add', '10.0.0.0/16', '--etcd-endpoints', 'http://127.0.0.1:9']);
    assert.equal(viaFlag.code, 1);
    assert.match(viaFlag.stderr, /^cannot reach etcd at http:\/\/127\.0\.0\.1:9 /);
  });

  test('bad TLS file: names the file and the flag', async () => {
    const r = await tsctl(['pool', 'show', '--etcd-ca', '/nonexistent/ca.pem'], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^cannot read etcd CA certificate \/nonexistent\/ca\.pem: ENOENT; check --etcd-ca\/ETCD_CA_CERT_FILE\n$/);
  });
});
