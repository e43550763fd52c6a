import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { allocateOrdinal, allocationsOf, borrowedAddresses, firstFree, freeCount, newBlock, releaseOrdinals } from './blocks.js';

describe('block records', () => {
  test('allocate, share attributes per handle, release compacts attributes', () => {
    let b = newBlock('10.0.0.0/30', '10.0.0.0/16', 'n1');
    assert.equal(freeCount(b), 4);
    b = allocateOrdinal(b, 0, { handle: 'h1', node: 'n1' });
    b = allocateOrdinal(b, 1, { handle: 'h1', node: 'n1' });
    b = allocateOrdinal(b, 2, { handle: 'h2', node: 'n2' });
    assert.deepEqual(b.allocations, [0, 0, 1, null]);
    assert.equal(firstFree(b), 3);
    assert.throws(() => allocateOrdinal(b, 2, { handle: 'h3', node: 'n1' }));
    b = releaseOrdinals(b, [0, 1]);
    assert.deepEqual(b.allocations, [null, null, 0, null]);
    assert.deepEqual(b.attributes, [{ handle: 'h2', node: 'n2' }]);
    assert.deepEqual(allocationsOf(b).map((a) => a.ip), ['10.0.0.2']);
  });

  test('borrowed addresses are those whose node differs from the affinity', () => {
    let a = newBlock('10.0.0.0/30', '10.0.0.0/16', 'n1');
    a = allocateOrdinal(a, 0, { handle: 'h1', node: 'n1' });
    a = allocateOrdinal(a, 1, { handle: 'h2', node: 'n2' });
    let b = newBlock('fd00::/126', 'fd00::/64', null);
    b = allocateOrdinal(b, 3, { handle: 'h3', node: 'n3' });
    assert.deepEqual(borrowedAddresses([a, b], 'n2'), [{ ip: '10.0.0.1', block: '10.0.0.0/30', blockAffinity: 'n1', handle: 'h2', node: 'n2' }]);
    assert.deepEqual(borrowedAddresses([a, b]).map((x) => x.ip), ['10.0.0.1', 'fd00::3']);
  });
});
