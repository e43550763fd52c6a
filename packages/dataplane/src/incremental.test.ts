import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDesiredState } from './desired.js';
import { baseInput, pool } from './fixtures.test-util.js';
import { fullPassKey, incrementalChanges } from './incremental.js';
import { EXTERNAL_ROUTE_METRIC, type DataplaneInput } from './types.js';

const support = { ipip: true, vxlan: true };
const vxlanPool = pool('10.2.0.0/16', { vxlanMode: 'always' });
const desired = (over: Partial<DataplaneInput>) => computeDesiredState(baseInput({ pools: [vxlanPool], ...over }), support);
const n2 = { nodeIp: '198.51.100.2', vtepIp: '10.2.1.0', vtepMac: '66:00:00:00:00:02' };
const n3 = { nodeIp: '198.51.100.3', vtepIp: '10.2.2.0', vtepMac: '66:00:00:00:00:03' };

describe('incremental dataplane changes', () => {
  test('a new remote block: one route line, nothing else; the full-pass key stays', () => {
    const prev = desired({ remoteVteps: [n2] });
    const next = desired({ remoteVteps: [n2], remoteRoutes: [{ prefix: '10.2.1.0/26', nextHop: n2.nodeIp }] });
    const c = incrementalChanges(prev, next);
    assert.equal(c.ipLines.length, 1);
    assert.match(c.ipLines[0]!, /^route replace 10\.2\.1\.0\/26 via 10\.2\.1\.0 dev vxlan\.tsnet onlink proto 80/);
    assert.deepEqual(c.bridgeLines, []);
    assert.equal(fullPassKey(next), fullPassKey(prev));
    assert.deepEqual(incrementalChanges(next, next), { ipLines: [], bridgeLines: [] });
  });

  test('a joining node: its VTEP neighbour and FDB entry; a leaving one: both deleted', () => {
    const one = desired({ remoteVteps: [n2] });
    const two = desired({ remoteVteps: [n2, n3] });
    assert.deepEqual(incrementalChanges(one, two), {
      ipLines: ['neigh replace 10.2.2.0 lladdr 66:00:00:00:00:03 dev vxlan.tsnet nud permanent'],
      bridgeLines: ['fdb replace 66:00:00:00:00:03 dev vxlan.tsnet dst 198.51.100.3 self permanent'],
    });
    assert.deepEqual(incrementalChanges(two, one), {
      ipLines: ['neigh del 10.2.2.0 dev vxlan.tsnet'],
      bridgeLines: ['fdb del 66:00:00:00:00:03 dev vxlan.tsnet self'],
    });
    assert.equal(fullPassKey(one), fullPassKey(two));
  });

  test('a route whose next hop changes is replaced; passes in a row (renderings shared) stay exact', () => {
    const via2 = { remoteVteps: [n2, n3], remoteRoutes: [{ prefix: '10.2.9.0/26', nextHop: n2.nodeIp }] };
    const via3 = { remoteVteps: [n2, n3], remoteRoutes: [{ prefix: '10.2.9.0/26', nextHop: n3.nodeIp }] };
    const a = desired(via2);
    const b = desired(via2); // equal, new objects: shares a's rendering
    assert.deepEqual(incrementalChanges(a, b), { ipLines: [], bridgeLines: [] });
    const c = desired(via3);
    assert.deepEqual(incrementalChanges(b, c).ipLines, ['route replace 10.2.9.0/26 via 10.2.2.0 dev vxlan.tsnet onlink proto 80']);
    const d = desired(via2);
    assert.deepEqual(incrementalChanges(c, d).ipLines, ['route replace 10.2.9.0/26 via 10.2.1.0 dev vxlan.tsnet onlink proto 80']);
    assert.deepEqual(incrementalChanges(d, desired(via2)), { ipLines: [], bridgeLines: [] });
  });

  test('a node that moved (new underlay address, new VTEP MAC): replaced, not duplicated', () => {
    const before = desired({ remoteVteps: [n2] });
    const after = desired({ remoteVteps: [{ ...n2, nodeIp: '198.51.100.22', vtepMac: '66:00:00:00:00:22' }] });
    assert.deepEqual(incrementalChanges(before, after), {
      ipLines: ['neigh replace 10.2.1.0 lladdr 66:00:00:00:00:22 dev vxlan.tsnet nud permanent'],
      bridgeLines: [
        'fdb del 66:00:00:00:00:02 dev vxlan.tsnet self',
        'fdb replace 66:00:00:00:00:22 dev vxlan.tsnet dst 198.51.100.22 self permanent',
      ],
    });
  });

  test('withdrawn routes are deleted by identity, an external one with its metric', () => {
    const natPool = pool('192.168.0.0/16');
    const withRoutes = computeDesiredState(
      baseInput({
        pools: [natPool],
        remoteRoutes: [
          { prefix: '192.168.1.0/26', nextHop: '198.51.100.2' },
          { prefix: '0.0.0.0/0', nextHop: '198.51.100.254', metric: EXTERNAL_ROUTE_METRIC },
        ],
      }),
      support,
    );
    const without = computeDesiredState(baseInput({ pools: [natPool] }), support);
    assert.deepEqual(incrementalChanges(withRoutes, without).ipLines.sort(), [
      'route del 0.0.0.0/0 proto 80 metric 32 table main',
      'route del 192.168.1.0/26 proto 80 table main',
    ]);
  });

  test('a local block adds its blackhole route on the fast path', () => {
    const c = incrementalChanges(desired({}), desired({ localBlocks: ['10.2.0.0/26'] }));
    assert.deepEqual(c.ipLines, ['route replace blackhole 10.2.0.0/26 proto 80']);
  });

  test('pools, NAT or workloads change the full-pass key: those need a full pass', () => {
    const base = desired({});
    assert.notEqual(fullPassKey(desired({ pools: [{ ...vxlanPool, natOutgoing: true }] })), fullPassKey(base));
    assert.notEqual(fullPassKey(computeDesiredState(baseInput({ pools: [] }), support)), fullPassKey(base));
    assert.notEqual(fullPassKey(desired({ workloads: [{ ip: '10.2.0.5', hostIfName: 'tsabc' }] })), fullPassKey(base));
  });
});
