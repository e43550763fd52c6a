// The reconciler against a real kernel: every command runs inside namespaces this test creates
// (runner option `netns`), on testkit Underlay hosts. Skipped when not root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Netns,
  TrackedProcess,
  Underlay,
  netnsUnsupportedReason,
  run,
  uniquePrefix,
  waitFor,
  type UnderlayHost,
} from '@tsnet/testkit';
import { Reconciler } from './reconciler.js';
import { ExecaRunner } from './runner.js';
import { configureNetnsWorkload, createWorkloadVeth, deleteWorkloadVeth, workloadIfNames } from './veth.js';
import { EXTERNAL_ROUTE_METRIC, type DataplaneInput, type PoolInput } from './types.js';

const skip = netnsUnsupportedReason();

function input(host: UnderlayHost, over: Partial<DataplaneInput>): DataplaneInput {
  return {
    node: { name: host.ns.name, ipv4: host.ip, underlay: { interface: 'eth0', cidr: host.cidr } },
    pools: [],
    localBlocks: [],
    remoteRoutes: [],
    remoteVteps: [],
    workloads: [],
    ...over,
  };
}

const pool = (cidr: string, o: Partial<PoolInput> = {}): PoolInput => ({
  cidr,
  ipipMode: 'never',
  vxlanMode: 'never',
  natOutgoing: false,
  disabled: false,
  ...o,
});

describe('dataplane in network namespaces', { skip }, () => {
  let underlay: Underlay;
  const workloads: Netns[] = [];
  let h1: UnderlayHost, h2: UnderlayHost, h3: UnderlayHost, h4: UnderlayHost, ext: UnderlayHost;

  before(async () => {
    underlay = await Underlay.create(uniquePrefix('dp'));
    h1 = await underlay.addHost('h1', '198.51.100.1/24', '198.51.100.254');
    h2 = await underlay.addHost('h2', '203.0.113.2/24', '203.0.113.254');
    h3 = await underlay.addHost('h3', '198.51.100.3/24', '198.51.100.254');
    h4 = await underlay.addHost('h4', '198.51.100.4/24', '198.51.100.254');
    ext = await underlay.addHost('ext', '192.0.2.10/24', '192.0.2.254');
  });

  after(async () => {
    for (const w of workloads) await w.delete();
    await underlay?.destroy();
  });

  test('routes appear with proto 80; stale removed; hand-deleted restored; second pass is a no-op', async () => {
    const runner = new ExecaRunner({ netns: h3.ns.name });
    const rec = new Reconciler({ runner, rtProtosFile: null });
    await h3.ns.ip('route', 'add', '10.77.0.0/24', 'via', '198.51.100.9', 'proto', '80');
    await h3.ns.ip('route', 'add', '10.88.0.0/24', 'via', '198.51.100.9', 'proto', 'static');
    await h3.ns.exec('iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-s', '192.0.2.0/24', '-j', 'ACCEPT']);
    const want = input(h3, {
      pools: [pool('10.3.0.0/16', { natOutgoing: true })],
      localBlocks: ['10.3.2.0/26'],
      remoteRoutes: [{ prefix: '10.3.1.0/26', nextHop: '198.51.100.1' }],
    });

    const first = await rec.reconcile(want);
    assert.deepEqual(first.errors, []);
    const routes = JSON.parse(await h3.ns.ip('-json', 'route', 'show', 'proto', '80')) as {
      dst: string;
      type?: string;
    }[];
    assert.deepEqual(routes.map((r) => `${r.type ?? 'unicast'} ${r.dst}`).sort(), [
      'blackhole 10.3.2.0/26',
      'unicast 10.3.1.0/26',
    ]);
    assert.match(
      await h3.ns.ip('route', 'show', '10.88.0.0/24'),
      /10\.88\.0\.0\/24 via 198\.51\.100\.9/,
      'foreign route kept',
    );
    const nat = await h3.ns.exec('iptables-save', ['-t', 'nat']);
    assert.match(nat, /^-A POSTROUTING -j TSNET-POSTROUTING$/m);
    assert.match(nat, /^-A POSTROUTING -s 192\.0\.2\.0\/24 -j ACCEPT$/m, 'other rules kept');
    assert.match(nat, /^-A TSNET-NAT-OUTGOING -j MASQUERADE$/m);
    assert.equal((await h3.ns.exec('cat', ['/proc/sys/net/ipv4/ip_forward'])).trim(), '1');

    const second = await rec.reconcile(want);
    assert.deepEqual(second.applied, [], 'second pass applies nothing');

    await h3.ns.ip('route', 'del', '10.3.1.0/26');
    const third = await rec.reconcile(want);
    assert.deepEqual(third.applied, ['ip route replace 10.3.1.0/26 via 198.51.100.1 proto 80']);
    assert.match(
      await h3.ns.ip('route', 'show', '10.3.1.0/26'),
      /via 198\.51\.100\.1 dev eth0 proto (80|tsnet)/,
    );

    // a route the kernel refuses is reported with its exact line; the other changes still apply
    const bad = await rec.reconcile({
      ...want,
      remoteRoutes: [...want.remoteRoutes, { prefix: '10.3.5.0/26', nextHop: '192.0.2.77' }],
      localBlocks: ['10.3.2.0/26', '10.3.3.0/26'],
    });
    assert.equal(bad.errors.length, 1);
    assert.equal(bad.errors[0]!.command, 'ip -batch: route replace 10.3.5.0/26 via 192.0.2.77 proto 80');
    assert.match(bad.errors[0]!.error, /gateway|unreachable/i);
    assert.match(await h3.ns.ip('route', 'show', '10.3.3.0/26'), /blackhole 10\.3\.3\.0\/26/);

    const gone = await rec.reconcile({ ...want, pools: [pool('10.3.0.0/16')], remoteRoutes: [] });
    assert.deepEqual(gone.errors, []);
    const natAfter = await h3.ns.exec('iptables-save', ['-t', 'nat']);
    assert.doesNotMatch(natAfter, /TSNET-/, 'chains and jump removed when no pool needs NAT');
    assert.match(natAfter, /^-A POSTROUTING -s 192\.0\.2\.0\/24 -j ACCEPT$/m);
  });

  test('an external default route (metric 32) sits beside the host default; removing it leaves the host one', async () => {
    const rec = new Reconciler({ runner: new ExecaRunner({ netns: h4.ns.name }), rtProtosFile: null });
    const defaults = async (): Promise<string[]> =>
      (await h4.ns.ip('-4', 'route', 'show', 'default'))
        .split('\n')
        .map((l) => l.trim().replace(/proto tsnet/, 'proto 80'))
        .filter((l) => l !== '')
        .sort();
    assert.deepEqual(await defaults(), ['default via 198.51.100.254 dev eth0'], 'the host starts with its own');
    const want = input(h4, {
      pools: [pool('10.4.0.0/16')],
      remoteRoutes: [
        { prefix: '10.4.1.0/26', nextHop: '198.51.100.1' },
        { prefix: '0.0.0.0/0', nextHop: '198.51.100.9', metric: EXTERNAL_ROUTE_METRIC },
      ],
    });
    const first = await rec.reconcile(want);
    assert.deepEqual(first.errors, []);
    assert.ok(first.applied.includes('ip route replace 0.0.0.0/0 via 198.51.100.9 proto 80 metric 32'));
    assert.deepEqual(await defaults(), [
      'default via 198.51.100.254 dev eth0',
      'default via 198.51.100.9 dev eth0 proto 80 metric 32',
    ]);
    assert.match(await h4.ns.ip('route', 'get', '192.0.2.1'), /via 198\.51\.100\.254 /, 'the host route is preferred');
    assert.deepEqual((await rec.reconcile(want)).applied, [], 'second pass applies nothing');

    // the host's default route gone: ours (still there) carries the traffic; no pass recreates it
    await h4.ns.ip('route', 'del', 'default', 'via', '198.51.100.254');
    assert.match(await h4.ns.ip('route', 'get', '192.0.2.1'), /via 198\.51\.100\.9 /);
    assert.deepEqual((await rec.reconcile(want)).applied, [], 'the host route is none of ours');
    await h4.ns.ip('route', 'add', 'default', 'via', '198.51.100.254');

    const gone = await rec.reconcile({ ...want, remoteRoutes: want.remoteRoutes.slice(0, 1) });
    assert.deepEqual(gone.errors, []);
    assert.deepEqual(gone.applied, ['ip route del 0.0.0.0/0 proto 80 metric 32 table main']);
    assert.deepEqual(await defaults(), ['default via 198.51.100.254 dev eth0'], 'ours gone, the host one intact');
    assert.match(await h4.ns.ip('route', 'show', 'proto', '80'), /^10\.4\.1\.0\/26 via 198\.51\.100\.1 /m);
  });

  test('IPv6: workload /128, blackhole, native route, proxy NDP and ip6tables NAT converge in one pass', async () => {
    const ns = await Netns.create(`${underlay.prefix}v6`);
    workloads.push(ns);
    await ns.ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'tsv6');
    await ns.ip('addr', 'add', 'fd00:9::1/64', 'dev', 'eth0', 'nodad');
    await ns.ip('link', 'set', 'eth0', 'up');
    await ns.ip('link', 'set', 'tsv6', 'up');
    const rec = new Reconciler({ runner: new ExecaRunner({ netns: ns.name }), rtProtosFile: null });
    const want: DataplaneInput = {
      node: {
        name: 'v6',
        ipv4: '198.51.100.1',
        ipv6: 'fd00:9::1',
        underlay: { interface: 'eth0', cidr: '198.51.100.1/24' },
      },
      pools: [pool('fd00:1::/64', { natOutgoing: true })],
      localBlocks: ['fd00:1::/122'],
      remoteRoutes: [
        { prefix: 'fd00:1::40/122', nextHop: 'fd00:9::2' },
        { prefix: '::/0', nextHop: 'fd00:9::2', metric: EXTERNAL_ROUTE_METRIC },
      ],
      remoteVteps: [],
      workloads: [{ ip: 'fd00:1::5', hostIfName: 'tsv6' }],
      ipv6Gateway: 'fe80::1',
    };
    const first = await rec.reconcile(want);
    assert.deepEqual(first.errors, []);
    assert.deepEqual((await rec.reconcile(want)).applied, [], 'second pass applies nothing');
    const routes = await ns.ip('-6', 'route', 'show', 'proto', '80');
    assert.match(routes, /^fd00:1::5 dev tsv6 /m);
    assert.match(routes, /^blackhole fd00:1::\/122 /m);
    assert.match(routes, /^fd00:1::40\/122 via fd00:9::2 dev eth0 metric 1024 /m);
    assert.match(routes, /^default via fd00:9::2 dev eth0 metric 32 /m);
    assert.match(await ns.ip('-6', 'neigh', 'show', 'proxy'), /fe80::1 dev tsv6 proxy/);
    assert.match(
      await ns.exec('ip6tables-save', ['-t', 'nat']),
      /^-A TSNET-POSTROUTING -s fd00:1::\/64 -j TSNET-NAT-OUTGOING$/m,
    );
    assert.equal((await ns.exec('cat', ['/proc/sys/net/ipv6/conf/tsv6/proxy_ndp'])).trim(), '1');
  });

  test('vxlan across underlay subnets carries a ping; nat-outgoing decides the source seen outside', async () => {
    const w1 = await Netns.create(`${underlay.prefix}w1`);
    workloads.push(w1);
    const w2 = await Netns.create(`${underlay.prefix}w2`);
    workloads.push(w2);
    const r1 = new ExecaRunner({ netns: h1.ns.name });
    const r2 = new ExecaRunner({ netns: h2.ns.name });
    const v1 = workloadIfNames('aaaaaaaaaaaa1111');
    const v2 = workloadIfNames('bbbbbbbbbbbb2222');
    await createWorkloadVeth({ ...v1, mtu: 1450, runner: r1 });
    await createWorkloadVeth({ ...v2, mtu: 1450, runner: r2 });
    await configureNetnsWorkload({ tempIfName: v1.tempIfName, netns: w1.name, ip: '10.2.0.5', runner: r1 });
    await configureNetnsWorkload({ tempIfName: v2.tempIfName, netns: w2.name, ip: '10.2.1.5', runner: r2 });
    // the "upstream" router knows the pool's first block, so un-NATed replies can come back
    await underlay.sw.ip('route', 'add', '10.2.0.0/26', 'via', '198.51.100.1');

    const vteps = [
      { nodeIp: h1.ip, vtepIp: '10.2.0.1', vtepMac: '66:00:00:00:00:01' },
      { nodeIp: h2.ip, vtepIp: '10.2.1.1', vtepMac: '66:00:00:00:00:02' },
    ];
    const pools = (nat: boolean): PoolInput[] => [
      pool('10.2.0.0/16', { vxlanMode: 'cross-subnet', natOutgoing: nat }),
    ];
    const in1 = (nat: boolean): DataplaneInput =>
      input(h1, {
        node: { ...input(h1, {}).node, vxlan: { vtepIp: '10.2.0.1', vtepMac: '66:00:00:00:00:01' } },
        pools: pools(nat),
        localBlocks: ['10.2.0.0/26'],
        remoteRoutes: [{ prefix: '10.2.1.0/26', nextHop: h2.ip }],
        remoteVteps: vteps,
        workloads: [{ ip: '10.2.0.5', hostIfName: v1.hostIfName }],
      });
    const in2 = input(h2, {
      node: { ...input(h2, {}).node, vxlan: { vtepIp: '10.2.1.1', vtepMac: '66:00:00:00:00:02' } },
      pools: pools(false),
      localBlocks: ['10.2.1.0/26'],
      remoteRoutes: [{ prefix: '10.2.0.0/26', nextHop: h1.ip }],
      remoteVteps: vteps,
      workloads: [{ ip: '10.2.1.5', hostIfName: v2.hostIfName }],
    });
    const rec1 = new Reconciler({ runner: r1, rtProtosFile: null });
    const rec2 = new Reconciler({ runner: r2, rtProtosFile: null });
    for (const [rec, inp] of [
      [rec1, in1(true)],
      [rec2, in2],
    ] as const) {
      const res = await rec.reconcile(inp);
      assert.deepEqual(res.errors, []);
      assert.deepEqual(res.problems, []);
      assert.deepEqual((await rec.reconcile(inp)).applied, [], 'idempotent');
    }
    assert.match(
      await h1.ns.ip('route', 'show', '10.2.1.0/26'),
      /via 10\.2\.1\.1 dev vxlan\.tsnet proto (80|tsnet) onlink/,
    );
    assert.match(
      await h1.ns.ip('-d', 'link', 'show', 'vxlan.tsnet'),
      /vxlan id 4096 local 198\.51\.100\.1 dev eth0 .*dstport 4789/,
    );

    await waitFor(
      'w1 pings w2 over vxlan',
      async () =>
        await w1.exec('busybox', ['ping', '-c1', '-W1', '10.2.1.5']).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 20_000, intervalMs: 300 },
    );

    // the VXLAN device deleted by hand: the next pass rebuilds it with its routes, ARP and FDB
    await h1.ns.ip('link', 'del', 'vxlan.tsnet');
    const rebuilt = await rec1.reconcile(in1(true));
    assert.deepEqual(rebuilt.errors, []);
    assert.ok(
      rebuilt.applied.some((l) =>
        l.startsWith('bridge fdb replace 66:00:00:00:00:02 dev vxlan.tsnet dst 203.0.113.2'),
      ),
    );
    await w1.exec('busybox', ['ping', '-c1', '-W2', '10.2.1.5']);

    const server = new TrackedProcess('ext-listener', 'ip', [
      'netns',
      'exec',
      ext.ns.name,
      process.execPath,
      '-e',
      "require('net').createServer((s) => s.end(s.remoteAddress)).listen(8080, '192.0.2.10')",
    ]);
    const client = `const s = require('net').connect(8080, '192.0.2.10'); let d = '';
      s.on('data', (c) => (d += c)); s.on('close', () => { process.stdout.write(d); process.exit(0); });
      s.on('error', (e) => { console.error(e.message); process.exit(1); }); setTimeout(() => process.exit(2), 2000);`;
    const seenFromOutside = (): Promise<string> =>
      run('ip', ['netns', 'exec', w1.name, process.execPath, '-e', client], 5000);
    try {
      let seen = '';
      await waitFor('ext answers w1', async () => Boolean((seen = await seenFromOutside().catch(() => ''))), {
        timeoutMs: 10_000,
        intervalMs: 300,
      });
      assert.equal(seen, h1.ip, 'nat-outgoing: the outside sees the host address');

      const off = await rec1.reconcile(in1(false));
      assert.deepEqual(off.errors, []);
      assert.equal(
        await seenFromOutside(),
        '10.2.0.5',
        'without nat-outgoing: the outside sees the workload',
      );
    } finally {
      await server.stop();
      await deleteWorkloadVeth(v1.hostIfName, r1);
      await deleteWorkloadVeth(v2.hostIfName, r2);
    }
    await deleteWorkloadVeth(v1.hostIfName, r1); // already gone: not an error
  });
});
