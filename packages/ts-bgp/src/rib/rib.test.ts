import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PathAttributes } from '../types.js';
import { decide } from './decision.js';
import { exportAttributes, importLoop, mayAdvertise, prependAs, type ExportTarget } from './export.js';
import { AttrInterner, Path, ipv4ToNumber, type Source } from './path.js';
import { Rib } from './rib.js';

let nextId = 1;
function source(over: Partial<Source> & { address: string }): Source {
  return {
    id: nextId++,
    addressOrder: ipv4ToNumber(over.address),
    asn: 64512,
    local: false,
    ibgp: true,
    routeReflectorClient: false,
    routerId: ipv4ToNumber(over.address),
    ...over,
  };
}
const interner = new AttrInterner();
const attrs = (over: Partial<PathAttributes> = {}): PathAttributes => ({
  origin: 0,
  asPath: [{ type: 2, asns: [65001] }],
  nextHop: '192.0.2.1',
  ...over,
});
const path = (src: Source, over: Partial<PathAttributes> = {}) => new Path(src, interner.make(attrs(over)));

describe('decision process (RFC 4271 §9.1.2.2), one case per tie-breaker', () => {
  const a = source({ address: '10.0.0.1' });
  const b = source({ address: '10.0.0.2' });
  const cases: Array<[string, Path, Path]> = [
    ['local', new Path(source({ address: '0.0.0.0', local: true }), interner.make(attrs({ localPref: 1 }))), path(a, { localPref: 500 })],
    ['local-pref', path(b, { localPref: 200 }), path(a, { localPref: 150 })],
    ['local-pref', path(b), path(a, { localPref: 99 })], // absent = 100
    ['as-path', path(b, { asPath: [{ type: 2, asns: [1] }, { type: 1, asns: [2, 3, 4] }] }), path(a, { asPath: [{ type: 2, asns: [1, 2, 3] }] })],
    ['origin', path(b, { origin: 1 }), path(a, { origin: 2 })],
    ['med', path(b, { med: 5 }), path(a, { med: 10 })],
    ['ebgp', path(source({ address: '10.0.0.9', ibgp: false, asn: 65001 })), path(a)],
    ['router-id', path(b, { originatorId: '1.1.1.1' }), path(a)],
    ['cluster-list', path(b, { originatorId: '9.9.9.9', clusterList: ['1.1.1.1'] }), path(a, { originatorId: '9.9.9.9', clusterList: ['1.1.1.1', '2.2.2.2'] })],
    ['peer-address', path(a, { originatorId: '9.9.9.9' }), path(b, { originatorId: '9.9.9.9' })],
  ];
  for (const [step, winner, loser] of cases) {
    test(`${step} decides`, () => {
      assert.deepEqual(decide(winner, loser), { winner, step });
      assert.deepEqual(decide(loser, winner), { winner, step });
    });
  }
  test('MED is not compared between different neighbour ASes', () => {
    const x = path(b, { med: 50, asPath: [{ type: 2, asns: [65001] }] });
    const y = path(a, { med: 10, asPath: [{ type: 2, asns: [65002] }] });
    assert.equal(decide(x, y).step, 'router-id');
  });
});

describe('Rib', () => {
  test('best path follows announcements and withdrawals, changes come in batches', () => {
    const rib = new Rib();
    const p1 = rib.addSource(source({ address: '10.0.0.1' }));
    const p2 = rib.addSource(source({ address: '10.0.0.2' }));
    const lo = p1.path(interner.make(attrs({ localPref: 100 })));
    const hi = p2.path(interner.make(attrs({ localPref: 200 })));
    rib.update(p1, 'ipv4', 640, lo);
    rib.update(p1, 'ipv4', 704, lo);
    assert.deepEqual(rib.takeChanges('ipv4').keys, [640, 704]);
    assert.deepEqual(rib.takeChanges('ipv4').keys, [], 'a batch is handed out once');
    rib.update(p2, 'ipv4', 640, hi);
    assert.equal(rib.best.ipv4.get(640), hi);
    assert.deepEqual(rib.takeChanges('ipv4').keys, [640]);
    rib.withdraw(p1, 'ipv4', 640); // not the best: no change
    assert.deepEqual(rib.takeChanges('ipv4').keys, []);
    rib.withdraw(p2, 'ipv4', 640);
    assert.equal(rib.best.ipv4.get(640), undefined);
    assert.deepEqual(rib.takeChanges('ipv4').keys, [640]);
  });

  test('replacing the best path with a worse one falls back to the other candidate', () => {
    const rib = new Rib();
    const p1 = rib.addSource(source({ address: '10.0.0.1' }));
    const p2 = rib.addSource(source({ address: '10.0.0.2' }));
    rib.update(p1, 'ipv4', 1, p1.path(interner.make(attrs({ localPref: 300 }))));
    const mid = p2.path(interner.make(attrs({ localPref: 200 })));
    rib.update(p2, 'ipv4', 1, mid);
    rib.takeChanges('ipv4');
    rib.update(p1, 'ipv4', 1, p1.path(interner.make(attrs({ localPref: 50 }))));
    assert.equal(rib.best.ipv4.get(1), mid);
    assert.deepEqual(rib.takeChanges('ipv4').keys, [1]);
  });

  test('one Path object per attribute set, shared by all prefixes', () => {
    const rib = new Rib();
    const p1 = rib.addSource(source({ address: '10.0.0.1' }));
    const set = interner.intern('k1', () => attrs());
    assert.equal(interner.intern('k1', () => assert.fail('decoded twice')), set);
    for (let i = 0; i < 1000; i++) rib.update(p1, 'ipv4', i * 64 + 24, p1.path(set));
    assert.equal(new Set([...p1.adjIn.ipv4].map(([, v]) => v)).size, 1);
    assert.equal(p1.count('ipv4'), 1000);
  });

  test('graceful restart: stale routes stay until swept, refreshed ones survive', () => {
    const rib = new Rib();
    const p1 = rib.addSource(source({ address: '10.0.0.1' }));
    const set = interner.make(attrs());
    for (const k of [1, 2, 3]) rib.update(p1, 'ipv4', k, p1.path(set));
    rib.takeChanges('ipv4');
    p1.markStale();
    assert.equal(p1.staleCount('ipv4'), 3);
    assert.equal(rib.best.ipv4.size, 3, 'stale routes are still used');
    rib.update(p1, 'ipv4', 1, p1.path(set)); // re-advertised after the restart
    rib.update(p1, 'ipv4', 2, p1.path(set));
    assert.equal(p1.staleCount('ipv4'), 1);
    assert.equal(rib.sweepStale(p1, 'ipv4'), 1);
    assert.deepEqual([...rib.best.ipv4.keys()].sort(), [1, 2]);
    assert.deepEqual([...new Set(rib.takeChanges('ipv4').keys)].sort(), [1, 2, 3]);
  });

  test('removing a source withdraws its routes and promotes the others', () => {
    const rib = new Rib();
    const p1 = rib.addSource(source({ address: '10.0.0.1' }));
    const p2 = rib.addSource(source({ address: '10.0.0.2' }));
    rib.update(p1, 'ipv6', '2001:db8::/32', p1.path(interner.make(attrs({ localPref: 300 }))));
    const other = p2.path(interner.make(attrs()));
    rib.update(p2, 'ipv6', '2001:db8::/32', other);
    rib.removeSource(p1);
    assert.equal(rib.best.ipv6.get('2001:db8::/32'), other);
  });
});

describe('iBGP and route reflection rules', () => {
  const local: Source = source({ address: '0.0.0.0', local: true, id: 0 });
  const ibgpA = source({ address: '10.0.0.1' });
  const ibgpB = source({ address: '10.0.0.2' });
  const client = source({ address: '10.0.0.3', routeReflectorClient: true });
  const client2 = source({ address: '10.0.0.4', routeReflectorClient: true });
  const ebgp = source({ address: '10.0.0.5', ibgp: false, asn: 65001 });

  test('iBGP-learned routes are not re-advertised to iBGP peers', () => {
    assert.equal(mayAdvertise(path(ibgpA), ibgpB), false);
    assert.equal(mayAdvertise(path(ibgpA), ebgp), true);
    assert.equal(mayAdvertise(path(ebgp), ibgpA), true);
    assert.equal(mayAdvertise(path(ibgpA), ibgpA), false, 'never back to the source');
  });

  test('a reflector sends client routes to everyone and non-client routes to clients', () => {
    assert.equal(mayAdvertise(path(client), ibgpA), true);
    assert.equal(mayAdvertise(path(client), client2), true);
    assert.equal(mayAdvertise(path(ibgpA), client), true);
    assert.equal(mayAdvertise(path(ibgpA), ibgpB), false);
  });

  const identity = { asn: 64512, routerId: '10.0.0.100', clusterId: '10.0.0.100' };
  const target = (s: Source, nextHopSelf = false): ExportTarget => ({ source: s, nextHopSelf, selfNextHop: { ipv4: '10.0.0.100' } });

  test('reflected routes get ORIGINATOR_ID and our CLUSTER_ID prepended', () => {
    const out = exportAttributes(path(client, { clusterList: ['7.7.7.7'] }), target(ibgpA), identity, 'ipv4')!;
    assert.equal(out.originatorId, '10.0.0.3');
    assert.deepEqual(out.clusterList, ['10.0.0.100', '7.7.7.7']);
    assert.equal(out.localPref, 100, 'LOCAL_PREF defaults to 100 towards iBGP');
    assert.equal(out.nextHop, '192.0.2.1', 'iBGP keeps the next hop');
  });

  test('next-hop-self and eBGP export', () => {
    assert.equal(exportAttributes(path(ebgp), target(ibgpA, true), identity, 'ipv4')!.nextHop, '10.0.0.100');
    const out = exportAttributes(path(ibgpA, { localPref: 300, med: 7, originatorId: '1.1.1.1' }), target(ebgp), identity, 'ipv4')!;
    assert.deepEqual(out.asPath, [{ type: 2, asns: [64512, 65001] }]);
    assert.equal(out.nextHop, '10.0.0.100');
    assert.equal(out.localPref, undefined);
    assert.equal(out.med, undefined);
    assert.equal(out.originatorId, undefined);
    assert.equal(exportAttributes(new Path(local, interner.make(attrs({ nextHop: undefined }))), target(ibgpA), identity, 'ipv6'), undefined, 'no IPv6 next hop known');
    const v6 = exportAttributes(path(ebgp, { nextHop: undefined, nextHopV6: '2001:db8::1', nextHopLinkLocal: 'fe80::1' }), { ...target(ibgpA, true), selfNextHop: { ipv6: '2001:db8::64' } }, identity, 'ipv6')!;
    assert.equal(v6.nextHopV6, '2001:db8::64');
    assert.equal(v6.nextHopLinkLocal, undefined, 'a link-local next hop is not passed on with next-hop-self');
  });

  test('prependAs starts a new segment before an AS_SET', () => {
    assert.deepEqual(prependAs([{ type: 1, asns: [1, 2] }], 9), [{ type: 2, asns: [9] }, { type: 1, asns: [1, 2] }]);
    assert.deepEqual(prependAs([], 9), [{ type: 2, asns: [9] }]);
  });

  test('loop checks on import', () => {
    assert.match(importLoop(attrs({ asPath: [{ type: 2, asns: [65001, 64512] }] }), ebgp, identity)!, /our AS/);
    assert.match(importLoop(attrs({ originatorId: '10.0.0.100' }), ibgpA, identity)!, /ORIGINATOR_ID/);
    assert.match(importLoop(attrs({ clusterList: ['10.0.0.100'] }), client, identity)!, /CLUSTER_LIST/);
    assert.equal(importLoop(attrs(), ibgpA, identity), undefined);
  });
});
