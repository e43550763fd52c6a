// Routes from outside the pools carry EXTERNAL_ROUTE_METRIC: (table, dst, metric) is a route's
// identity, so ours sit beside the host's routes to the same destination and never replace them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRoutes, type ActualState } from './actual.js';
import { computeDesiredState } from './desired.js';
import { computePlan, effectiveMetric, routeDeleteLine, routeIdentity, routeLine } from './diff.js';
import { baseInput, pool } from './fixtures.test-util.js';
import { EXTERNAL_ROUTE_METRIC, type RouteSpec } from './types.js';

const ROUTER = '198.51.100.9';

function actualRoutes(routes: ActualState['routes']): ActualState {
  return {
    routes,
    links: new Map(),
    neighs: [],
    fdb: [],
    proxyNeighs: [],
    sysctls: { 'net/ipv4/ip_forward': '1' },
    nat: { 4: { family: 4, chains: {}, jumps: 0 }, 6: { family: 6, chains: {}, jumps: 0 } },
  };
}

/** A pool, a route from another node inside it, and a default route from a global peer. */
const withExternalDefault = baseInput({
  pools: [pool('10.3.0.0/16')],
  remoteRoutes: [
    { prefix: '10.3.1.0/26', nextHop: '198.51.100.2' },
    { prefix: '0.0.0.0/0', nextHop: ROUTER, metric: EXTERNAL_ROUTE_METRIC },
  ],
});

describe('route metric', () => {
  test('EXTERNAL_ROUTE_METRIC is BIRD’s kernel metric, above the host’s own (0)', () => {
    assert.equal(EXTERNAL_ROUTE_METRIC, 32);
  });

  test('desired: the metric of a remote route is passed through; pool routes carry none', () => {
    const d = computeDesiredState(withExternalDefault);
    assert.deepEqual(d.routes, [
      { family: 4, dst: '10.3.1.0/26', type: 'unicast', via: '198.51.100.2' },
      { family: 4, dst: '0.0.0.0/0', type: 'unicast', via: ROUTER, metric: 32 },
    ]);
    assert.deepEqual(d.routes.map(routeLine), [
      'route replace 10.3.1.0/26 via 198.51.100.2 proto 80',
      'route replace 0.0.0.0/0 via 198.51.100.9 proto 80 metric 32',
    ]);
  });

  test('identity: our metric-32 default and the host’s metric-0 default are different routes', () => {
    const ours: RouteSpec = { family: 4, dst: '0.0.0.0/0', type: 'unicast', via: ROUTER, metric: 32 };
    const host: RouteSpec = { family: 4, dst: '0.0.0.0/0', type: 'unicast', via: '198.51.100.254' };
    assert.equal(routeIdentity(ours), 'main|0.0.0.0/0|32');
    assert.equal(routeIdentity(host), 'main|0.0.0.0/0|0');
    assert.equal(routeIdentity({ ...host, metric: 0 }), routeIdentity(host), 'unset = 0 for IPv4');
    // IPv6: unset and 0 both mean the kernel's 1024
    const v6: RouteSpec = { family: 6, dst: '::/0', type: 'unicast', via: 'fd00::9' };
    assert.equal(effectiveMetric(v6), 1024);
    assert.equal(effectiveMetric({ ...v6, metric: 0 }), 1024);
    assert.equal(routeIdentity({ ...v6, metric: 32, table: 100 }), '100|::/0|32');
  });

  test('parser: `metric` read from ip -json; the family’s default is left unset', () => {
    const v4 = parseRoutes(
      JSON.stringify([
        { dst: 'default', gateway: ROUTER, dev: 'eth0', protocol: '80', metric: 32, flags: [] },
        { dst: '10.3.1.0/26', gateway: '198.51.100.2', dev: 'eth0', flags: [] },
      ]),
      4,
    );
    assert.deepEqual(v4, [
      { family: 4, dst: '0.0.0.0/0', type: 'unicast', via: ROUTER, dev: 'eth0', metric: 32 },
      { family: 4, dst: '10.3.1.0/26', type: 'unicast', via: '198.51.100.2', dev: 'eth0' },
    ]);
    const v6 = parseRoutes(
      JSON.stringify([
        { dst: 'default', gateway: 'fd00::9', dev: 'eth0', metric: 32, flags: [], pref: 'medium' },
        { dst: 'fd00:1::40/122', gateway: 'fd00::2', dev: 'eth0', metric: 1024, flags: [] },
      ]),
      6,
    );
    assert.deepEqual(v6, [
      { family: 6, dst: '::/0', type: 'unicast', via: 'fd00::9', dev: 'eth0', metric: 32 },
      { family: 6, dst: 'fd00:1::40/122', type: 'unicast', via: 'fd00::2', dev: 'eth0' },
    ]);
  });

  test('diff: in sync at metric 32 is a no-op; a withdrawn one is deleted by its metric', () => {
    const desired = computeDesiredState(withExternalDefault);
    const installed = actualRoutes([
      { family: 4, dst: '10.3.1.0/26', type: 'unicast', via: '198.51.100.2', dev: 'eth0' },
      { family: 4, dst: '0.0.0.0/0', type: 'unicast', via: ROUTER, dev: 'eth0', metric: 32 },
    ]);
    assert.deepEqual(computePlan(desired, installed).ipLines, []);

    const withdrawn = computeDesiredState({ ...withExternalDefault, remoteRoutes: withExternalDefault.remoteRoutes.slice(0, 1) });
    assert.deepEqual(computePlan(withdrawn, installed).ipLines, ['route del 0.0.0.0/0 proto 80 metric 32 table main']);
  });

  test('diff: our old metric-0 default is deleted and the metric-32 one added beside, not over it', () => {
    const desired = computeDesiredState(withExternalDefault);
    const old = actualRoutes([
      { family: 4, dst: '10.3.1.0/26', type: 'unicast', via: '198.51.100.2', dev: 'eth0' },
      { family: 4, dst: '0.0.0.0/0', type: 'unicast', via: ROUTER, dev: 'eth0' },
    ]);
    assert.deepEqual(computePlan(desired, old).ipLines, [
      'route del 0.0.0.0/0 proto 80 table main',
      'route replace 0.0.0.0/0 via 198.51.100.9 proto 80 metric 32',
    ]);
  });

  test('delete lines name the metric only when one is set', () => {
    assert.equal(
      routeDeleteLine({ family: 6, dst: '::/0', type: 'unicast', metric: 32, tableText: '100' }),
      'route del ::/0 proto 80 metric 32 table 100',
    );
    assert.equal(
      routeDeleteLine({ family: 4, dst: '10.3.0.0/26', type: 'blackhole' }),
      'route del blackhole 10.3.0.0/26 proto 80 table main',
    );
  });
});
