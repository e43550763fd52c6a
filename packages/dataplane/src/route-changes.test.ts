import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { computeDesiredState } from './desired.js';
import { baseInput, pool } from './fixtures.test-util.js';
import { applyRouteChanges, incrementalChanges, type RouteChange } from './incremental.js';
import { EXTERNAL_ROUTE_METRIC, type DataplaneInput, type RemoteRoute, type RouteSpec } from './types.js';

const support = { ipip: true, vxlan: true };
const n2 = { nodeIp: '198.51.100.2', vtepIp: '10.2.1.0', vtepMac: '66:00:00:00:00:02' };
const n3 = { nodeIp: '198.51.100.3', vtepIp: '10.2.2.0', vtepMac: '66:00:00:00:00:03' };
const POOLS = [
  pool('10.2.0.0/16', { vxlanMode: 'always' }),
  pool('10.3.0.0/16', { ipipMode: 'cross-subnet' }),
  pool('10.4.0.0/16'),
  pool('fd00::/48'),
];
/** Pool routes of each kind, one outside every pool, a local block's and a workload's destination, IPv6. */
const PREFIXES = ['10.2.7.0/26', '10.2.8.0/26', '10.3.1.0/26', '10.4.1.0/26', '10.9.0.0/24', '10.2.0.0/26', '10.4.1.5/32', 'fd00:0:0:1::/64', 'fd01::/64'];
/** on the underlay (with and without a VTEP), off it (no VTEP: a problem), ourselves */
const NEXT_HOPS_V4 = ['198.51.100.2', '198.51.100.3', '198.51.100.4', '203.0.113.4', '198.51.100.1'];

const routeArb = (prefix: string): fc.Arbitrary<RemoteRoute> =>
  fc.record({
    prefix: fc.constant(prefix),
    nextHop: prefix.includes(':') ? fc.constantFrom('2001:db8::2', '2001:db8::3') : fc.constantFrom(...NEXT_HOPS_V4),
    metric: fc.constantFrom(undefined, EXTERNAL_ROUTE_METRIC),
  }).map(({ metric, ...r }) => (metric === undefined ? r : { ...r, metric }));

/** At most one route per prefix (BGP's best path), in any order. */
const routesArb = fc.uniqueArray(fc.constantFrom(...PREFIXES).chain(routeArb), { selector: (r) => r.prefix, maxLength: PREFIXES.length });

const inputOf = (pools: typeof POOLS, remoteRoutes: RemoteRoute[]): DataplaneInput =>
  baseInput({
    pools,
    remoteRoutes,
    remoteVteps: [n2, n3],
    localBlocks: ['10.2.0.0/26'],
    workloads: [{ ip: '10.4.1.5', hostIfName: 'tsw1' }],
  });
const sorted = (routes: RouteSpec[]): RouteSpec[] => [...routes].sort((a, b) => (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0));

describe('remote routes changed one at a time (applyRouteChanges)', () => {
  test('a new route: one replace line; withdrawn: one delete line; unchanged: nothing', () => {
    const prev = computeDesiredState(inputOf(POOLS.slice(0, 1), []), support);
    const route = { prefix: '10.2.7.0/26', nextHop: n2.nodeIp };
    const added = applyRouteChanges(prev, [{ prefix: route.prefix, route }]);
    assert.ok(added);
    assert.deepEqual(added.ipLines, ['route replace 10.2.7.0/26 via 10.2.1.0 dev vxlan.tsnet onlink proto 80']);
    assert.deepEqual(applyRouteChanges(added.next, [{ prefix: route.prefix, route: { ...route } }])?.ipLines, []);
    const gone = applyRouteChanges(added.next, [{ prefix: route.prefix, route: undefined }]);
    assert.deepEqual(gone?.ipLines, ['route del 10.2.7.0/26 proto 80 table main']);
    assert.deepEqual(sorted(gone!.next.routes), sorted(prev.routes));
  });

  test('the first IPv6 route without an IPv6 pool is left to the whole-state path (forwarding sysctl)', () => {
    const prev = computeDesiredState(inputOf(POOLS.slice(0, 3), []), support);
    const route = { prefix: 'fd01::/64', nextHop: '2001:db8::2', metric: EXTERNAL_ROUTE_METRIC };
    assert.equal(applyRouteChanges(prev, [{ prefix: route.prefix, route }]), undefined);
    const withV6 = computeDesiredState(inputOf(POOLS, []), support);
    assert.ok(applyRouteChanges(withV6, [{ prefix: route.prefix, route }]));
  });

  test('a state built without computeDesiredState has no context: undefined', () => {
    const prev = computeDesiredState(inputOf(POOLS, []), support);
    assert.equal(applyRouteChanges({ ...prev }, [{ prefix: '10.4.1.0/26', route: undefined }]), undefined);
  });

  test('any changes: the same routes and lines as computing and diffing the whole state', () => {
    fc.assert(
      fc.property(
        fc.subarray(POOLS, { minLength: 1 }),
        routesArb,
        routesArb,
        fc.subarray(PREFIXES),
        (pools, before, updates, withdrawn) => {
          const changes = new Map<string, RouteChange>();
          for (const r of updates) changes.set(r.prefix, { prefix: r.prefix, route: r });
          for (const p of withdrawn) if (!changes.has(p)) changes.set(p, { prefix: p, route: undefined });
          const after = new Map(before.map((r) => [r.prefix, r]));
          for (const c of changes.values()) {
            if (c.route) after.set(c.prefix, c.route);
            else after.delete(c.prefix);
          }
          const prev = computeDesiredState(inputOf(pools, before), support);
          const whole = computeDesiredState(inputOf(pools, [...after.values()]), support);
          const res = applyRouteChanges(prev, [...changes.values()]);
          if (res === undefined) {
            // only the first IPv6 route of a node without IPv6 pools goes the whole-state way
            assert.ok([...changes.keys()].some((p) => p.includes(':')) && !pools.some((p) => p.cidr.includes(':')));
            return;
          }
          assert.deepEqual(sorted(res.next.routes), sorted(whole.routes));
          assert.deepEqual([...res.ipLines].sort(), [...incrementalChanges(prev, whole).ipLines].sort());
          // and the next change starts from there
          assert.deepEqual(applyRouteChanges(res.next, [...changes.values()])?.ipLines, []);
        },
      ),
      { numRuns: 500 },
    );
  });
});
