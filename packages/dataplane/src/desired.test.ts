import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDesiredState, vtepMacFor, workloadMtu } from './desired.js';
import { baseInput, pool } from './fixtures.test-util.js';
import { canonicalCidr, contains, parseCidr } from './cidr.js';

describe('cidr helpers', () => {
  test('canonical text clears host bits and compresses IPv6', () => {
    assert.equal(canonicalCidr('198.51.100.7/24'), '198.51.100.0/24');
    assert.equal(canonicalCidr('10.0.0.5'), '10.0.0.5/32');
    assert.equal(canonicalCidr('fd80:24e2:f998:72d6:0:0:0:1/64'), 'fd80:24e2:f998:72d6::/64');
    assert.equal(canonicalCidr('fd00::1'), 'fd00::1/128');
    assert.equal(canonicalCidr('::ffff:1.2.3.4/128'), '::ffff:102:304/128');
  });
  test('contains respects family and length', () => {
    assert.ok(contains(parseCidr('10.0.0.0/16'), '10.0.3.0/26'));
    assert.ok(!contains(parseCidr('10.0.0.0/16'), '10.1.0.0/26'));
    assert.ok(!contains(parseCidr('10.0.0.0/26'), '10.0.0.0/16'));
    assert.ok(!contains(parseCidr('0.0.0.0/0'), 'fd00::/64'));
    assert.ok(contains(parseCidr('fd00::/64'), 'fd00::1:2'));
  });
});

describe('computeDesiredState', () => {
  test('native pool: remote block via the node IP, local block blackholed, own routes skipped', () => {
    const d = computeDesiredState(
      baseInput({
        pools: [pool('10.3.0.0/16')],
        localBlocks: ['10.3.0.0/26'],
        remoteRoutes: [
          { prefix: '10.3.1.0/26', nextHop: '198.51.100.2' },
          { prefix: '10.3.0.0/26', nextHop: '198.51.100.2' },
          { prefix: '10.3.9.0/26', nextHop: '198.51.100.1' },
        ],
      }),
    );
    assert.deepEqual(d.routes, [
      { family: 4, dst: '10.3.0.0/26', type: 'blackhole' },
      { family: 4, dst: '10.3.1.0/26', type: 'unicast', via: '198.51.100.2' },
    ]);
    assert.deepEqual(d.devices, []);
    assert.deepEqual(d.problems, []);
    assert.deepEqual(d.sysctls, { 'net/ipv4/ip_forward': '1' });
  });

  test('ipip always: via the node IP on tunl0 onlink, tunl0 with MTU 1480', () => {
    const d = computeDesiredState(
      baseInput({
        pools: [pool('10.0.0.0/16', { ipipMode: 'always' })],
        remoteRoutes: [{ prefix: '10.0.1.0/26', nextHop: '198.51.100.2' }],
      }),
    );
    assert.deepEqual(d.routes, [
      { family: 4, dst: '10.0.1.0/26', type: 'unicast', via: '198.51.100.2', dev: 'tunl0', onlink: true },
    ]);
    assert.deepEqual(d.devices, [{ kind: 'ipip', name: 'tunl0', mtu: 1480 }]);
  });

  test('ipip cross-subnet: native inside the underlay subnet, tunnelled across it', () => {
    const d = computeDesiredState(
      baseInput({
        pools: [pool('10.1.0.0/16', { ipipMode: 'cross-subnet' })],
        remoteRoutes: [
          { prefix: '10.1.1.0/26', nextHop: '198.51.100.2' },
          { prefix: '10.1.2.0/26', nextHop: '203.0.113.5' },
        ],
      }),
    );
    assert.deepEqual(d.routes, [
      { family: 4, dst: '10.1.1.0/26', type: 'unicast', via: '198.51.100.2' },
      { family: 4, dst: '10.1.2.0/26', type: 'unicast', via: '203.0.113.5', dev: 'tunl0', onlink: true },
    ]);
  });

  test('vxlan: route via the remote VTEP, static neighbour and FDB per remote node, MTU from the underlay', () => {
    const input = baseInput({
      pools: [pool('10.2.0.0/16', { vxlanMode: 'cross-subnet' })],
      remoteRoutes: [
        { prefix: '10.2.1.0/26', nextHop: '203.0.113.5' },
        { prefix: '10.2.2.0/26', nextHop: '198.51.100.2' },
      ],
      remoteVteps: [
        { nodeIp: '203.0.113.5', vtepIp: '10.2.1.0', vtepMac: '66:00:00:00:00:05' },
        { nodeIp: '198.51.100.1', vtepIp: '10.2.0.1', vtepMac: '66:00:00:00:00:01' },
      ],
    });
    input.node.underlay.mtu = 9000;
    const d = computeDesiredState(input);
    assert.deepEqual(d.routes, [
      { family: 4, dst: '10.2.2.0/26', type: 'unicast', via: '198.51.100.2' },
      { family: 4, dst: '10.2.1.0/26', type: 'unicast', via: '10.2.1.0', dev: 'vxlan.tsnet', onlink: true },
    ]);
    assert.deepEqual(d.devices, [
      {
        kind: 'vxlan',
        name: 'vxlan.tsnet',
        vni: 4096,
        port: 4789,
        local: '198.51.100.1',
        parent: 'eth0',
        mtu: 8950,
        mac: '66:00:00:00:00:01',
        address: '10.2.0.1',
      },
    ]);
    assert.deepEqual(d.neighs, [{ dev: 'vxlan.tsnet', ip: '10.2.1.0', mac: '66:00:00:00:00:05' }]);
    assert.deepEqual(d.fdb, [{ dev: 'vxlan.tsnet', mac: '66:00:00:00:00:05', dst: '203.0.113.5' }]);
  });

  test('vxlan route to a node without a known VTEP is left out and reported', () => {
    const d = computeDesiredState(
      baseInput({
        pools: [pool('10.2.0.0/16', { vxlanMode: 'always' })],
        remoteRoutes: [{ prefix: '10.2.1.0/26', nextHop: '198.51.100.9' }],
      }),
    );
    assert.deepEqual(d.routes, []);
    assert.deepEqual(d.problems, [
      'route 10.2.1.0/26 via 198.51.100.9: no VTEP known for that node; waiting for it',
    ]);
  });

  test('missing kernel support: the pool that needs it is reported, the others keep working', () => {
    const d = computeDesiredState(
      baseInput({
        pools: [pool('10.0.0.0/16', { ipipMode: 'always' }), pool('10.3.0.0/16')],
        remoteRoutes: [
          { prefix: '10.0.1.0/26', nextHop: '198.51.100.2' },
          { prefix: '10.3.1.0/26', nextHop: '198.51.100.2' },
        ],
      }),
      { ipip: false, vxlan: true },
    );
    assert.deepEqual(d.problems, [
      'pool 10.0.0.0/16 needs IPIP but this kernel has no ipip module (modprobe ipip)',
    ]);
    assert.deepEqual(d.devices, []);
    assert.deepEqual(
      d.routes.map((r) => r.dst),
      ['10.3.1.0/26'],
    );
  });

  test('workloads: host routes with proxy ARP (v4) and proxy NDP + forwarding (v6)', () => {
    const d = computeDesiredState(
      baseInput({
        pools: [pool('10.3.0.0/16'), pool('fd00::/64')],
        localBlocks: ['10.3.0.0/26'],
        workloads: [
          { ip: '10.3.0.5', hostIfName: 'tsabc' },
          { ip: 'fd00::5', hostIfName: 'tsabc' },
        ],
        ipv6Gateway: 'fe80::1',
      }),
    );
    assert.deepEqual(d.routes, [
      { family: 4, dst: '10.3.0.5/32', type: 'unicast', dev: 'tsabc', scope: 'link' },
      { family: 6, dst: 'fd00::5/128', type: 'unicast', dev: 'tsabc' },
      { family: 4, dst: '10.3.0.0/26', type: 'blackhole' },
    ]);
    assert.deepEqual(d.sysctls, {
      'net/ipv4/ip_forward': '1',
      'net/ipv4/conf/tsabc/proxy_arp': '1',
      'net/ipv4/neigh/tsabc/proxy_delay': '0',
      'net/ipv6/conf/tsabc/proxy_ndp': '1',
      'net/ipv6/conf/tsabc/forwarding': '1',
      'net/ipv6/conf/all/forwarding': '1',
    });
    assert.deepEqual(d.proxyNeighs, [{ dev: 'tsabc', ip: 'fe80::1' }]);
  });

  test('nat-outgoing: masquerade from nat pools to anywhere outside all pools, per family', () => {
    const d = computeDesiredState(
      baseInput({
        pools: [
          pool('10.0.0.0/16', { natOutgoing: true }),
          pool('10.9.0.0/16'),
          pool('fd00::/64', { natOutgoing: true }),
        ],
      }),
    );
    assert.deepEqual(d.nat, [
      {
        family: 4,
        chains: {
          'TSNET-POSTROUTING': ['-A TSNET-POSTROUTING -s 10.0.0.0/16 -j TSNET-NAT-OUTGOING'],
          'TSNET-NAT-OUTGOING': [
            '-A TSNET-NAT-OUTGOING -d 10.0.0.0/16 -j RETURN',
            '-A TSNET-NAT-OUTGOING -d 10.9.0.0/16 -j RETURN',
            '-A TSNET-NAT-OUTGOING -j MASQUERADE',
          ],
        },
      },
      {
        family: 6,
        chains: {
          'TSNET-POSTROUTING': ['-A TSNET-POSTROUTING -s fd00::/64 -j TSNET-NAT-OUTGOING'],
          'TSNET-NAT-OUTGOING': [
            '-A TSNET-NAT-OUTGOING -d fd00::/64 -j RETURN',
            '-A TSNET-NAT-OUTGOING -j MASQUERADE',
          ],
        },
      },
    ]);
    assert.deepEqual(computeDesiredState(baseInput({ pools: [pool('10.0.0.0/16')] })).nat, []);
  });

  test('malformed items are reported and skipped, the rest is still computed', () => {
    const d = computeDesiredState(
      baseInput({
        pools: [pool('10.3.0.0/33'), pool('10.4.0.0/16')],
        localBlocks: ['bogus'],
        remoteRoutes: [
          { prefix: '10.4.1.0/26', nextHop: 'nowhere' },
          { prefix: '10.4.2.0/26', nextHop: '198.51.100.2' },
        ],
        workloads: [{ ip: '10.4.0.300', hostIfName: 'tsx' }],
      }),
    );
    assert.deepEqual(d.problems, [
      'ignoring pool 10.3.0.0/33: "10.3.0.0/33" is not an IPv4 CIDR',
      'ignoring workload 10.4.0.300 on tsx: "10.4.0.300" is not an IPv4 CIDR',
      'ignoring local block bogus: "bogus" is not an IP address',
      'ignoring route 10.4.1.0/26 via nowhere: "nowhere" is not an IP address',
    ]);
    assert.deepEqual(d.routes, [{ family: 4, dst: '10.4.2.0/26', type: 'unicast', via: '198.51.100.2' }]);
  });

  test('MTU helpers and VTEP MACs', () => {
    assert.equal(workloadMtu([pool('10.0.0.0/16', { ipipMode: 'always' })]), 1480);
    assert.equal(
      workloadMtu([pool('10.0.0.0/16', { vxlanMode: 'always' }), pool('10.1.0.0/16')], 9000),
      8950,
    );
    assert.equal(workloadMtu([pool('10.0.0.0/16')]), 1500);
    const mac = vtepMacFor('n1');
    assert.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.equal(parseInt(mac.slice(0, 2), 16) & 0x03, 0x02, 'locally administered unicast');
    assert.equal(vtepMacFor('n1'), mac);
    assert.notEqual(vtepMacFor('n2'), mac);
  });
});
