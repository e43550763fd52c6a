import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLabOptions, pingPairs, planLab } from './plan.js';
import { renderPingMatrix } from './render.js';

test('native lab: all hosts on one documentation subnet with the switch as gateway', () => {
  const p = planLab({ hosts: 3, mode: 'native', docker: false });
  assert.deepEqual(
    p.hosts.map((h) => [h.name, h.cidr, h.gateway]),
    [
      ['h1', '198.51.100.11/24', '198.51.100.1'],
      ['h2', '198.51.100.12/24', '198.51.100.1'],
      ['h3', '198.51.100.13/24', '198.51.100.1'],
    ],
  );
  assert.equal(p.etcdClientUrl, 'http://198.51.100.1:2379');
  assert.deepEqual(p.pool.flags, ['--nat-outgoing']);
});

test('overlay labs alternate hosts between two routed subnets and set the pool mode', () => {
  const p = planLab({ hosts: 4, mode: 'vxlan', docker: false });
  assert.deepEqual(
    p.hosts.map((h) => h.cidr),
    ['198.51.100.11/24', '203.0.113.11/24', '198.51.100.12/24', '203.0.113.12/24'],
  );
  assert.deepEqual(p.pool.flags, ['--vxlan', '--nat-outgoing']);
  assert.deepEqual(planLab({ hosts: 2, mode: 'ipip', docker: false }).pool.flags, ['--ipip', '--nat-outgoing']);
  // every address distinct
  const ips = planLab({ hosts: 50, mode: 'vxlan', docker: false }).hosts.map((h) => h.ip);
  assert.equal(new Set(ips).size, 50);
});

test('bad lab options are refused with the fix', () => {
  assert.match(checkLabOptions({ hosts: 1, mode: 'native', docker: false })!, /--hosts must be a whole number from 2 to 50 \(got 1\)/);
  assert.match(checkLabOptions({ hosts: 3, mode: 'gre' as never, docker: false })!, /--mode must be native, vxlan or ipip/);
  assert.equal(checkLabOptions({ hosts: 3, mode: 'native', docker: false }), undefined);
});

test('ping matrix covers every ordered pair once and renders failures', () => {
  assert.deepEqual(pingPairs(['h1', 'h2', 'h3']).map(([a, b]) => `${a}->${b}`), [
    'h1->h2', 'h1->h3', 'h2->h1', 'h2->h3', 'h3->h1', 'h3->h2',
  ]);
  const text = renderPingMatrix({
    mode: 'native',
    workloads: 'netns',
    hosts: ['h1', 'h2'].map((name) => ({ name, ip: '', workload: '10.65.0.1', running: true, peers: [], statusText: '', routes: [] })),
    ping: { 'h1->h2': true, 'h2->h1': false },
  });
  assert.deepEqual(text.split('\n').map((l) => l.trim().split(/\s+/)), [
    ['from\\to', 'h1', 'h2'],
    ['h1', '-', 'ok'],
    ['h2', 'FAIL', '-'],
  ]);
});
