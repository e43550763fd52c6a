import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planNetworkSync, type LocalDockerNetwork } from './docker-sync.js';
import type { NetworkRecord } from './ports.js';

const rec = (id: string, dockerIds: Record<string, string>, name?: string): NetworkRecord => ({
  id,
  ipv4Pool: '192.168.0.0/16',
  ipv6Pool: null,
  ipv6: false,
  dockerIds,
  ...(name ? { name } : {}),
});
const local = (Id: string, Name: string, containers = 0, Driver = 'tsnet'): LocalDockerNetwork => ({
  Id,
  Name,
  Driver,
  Containers: Object.fromEntries(Array.from({ length: containers }, (_, i) => [`c${i}`, {}])),
});

describe('planNetworkSync', () => {
  test('learns the name of a network created on this node', () => {
    const r = rec('d1', { a: 'd1' });
    assert.deepEqual(planNetworkSync('a', [local('d1', 'net1')], [r]), [
      { kind: 'name', record: r, name: 'net1' },
    ]);
  });

  test('creates a named network made elsewhere, not twice and not over a same-named local one', () => {
    const r = rec('d1', { a: 'd1' }, 'net1');
    assert.deepEqual(planNetworkSync('b', [], [r]), [{ kind: 'create', record: r }]);
    assert.deepEqual(planNetworkSync('b', [local('x', 'net1', 0, 'bridge')], [r]), []);
    assert.deepEqual(
      planNetworkSync('b', [local('e2', 'net1')], [rec('d1', { a: 'd1', b: 'e2' }, 'net1')]),
      [],
    );
    assert.deepEqual(planNetworkSync('b', [], [rec('d1', { a: 'd1' })]), [], 'waits until the name is known');
  });

  test('removes empty local copies of deleted networks, keeps busy ones and other drivers', () => {
    const gone = local('e2', 'net1');
    assert.deepEqual(
      planNetworkSync('b', [gone, local('e3', 'busy', 2), local('br', 'bridge', 0, 'bridge')], []),
      [{ kind: 'remove', network: gone }],
    );
  });
});
