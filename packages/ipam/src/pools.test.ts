import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { checkNoOverlap, normalizePool, poolContaining, poolOptionsText } from './pools.js';

/** Asserts that `fn` throws a TsnetError whose message is exactly `message`. */
function refuses(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: Error) => {
    assert.equal(err.name, 'TsnetError');
    assert.equal(err.message, message);
    return true;
  });
}

describe('pool validation (one case per refusal)', () => {
  test('defaults: block size 26 / 122, no encapsulation', () => {
    assert.deepEqual(normalizePool({ cidr: '10.1.0.0/16' }), {
      cidr: '10.1.0.0/16', blockSize: 26, ipipMode: 'never', vxlanMode: 'never', natOutgoing: false, disabled: false,
    });
    assert.equal(normalizePool({ cidr: 'FD00:1::/64' }).blockSize, 122);
    assert.equal(normalizePool({ cidr: 'fd00:1::/64' }).cidr, 'fd00:1::/64');
  });

  test('bad CIDR', () => {
    refuses(() => normalizePool({ cidr: '10.1.0.0/40' }), 'bad pool CIDR "10.1.0.0/40": give a network like 192.168.0.0/16 or fd00:1::/64');
    refuses(() => normalizePool({ cidr: 'banana' }), 'bad pool CIDR "banana": give a network like 192.168.0.0/16 or fd00:1::/64');
  });

  test('host bits set', () => {
    refuses(() => normalizePool({ cidr: '10.1.2.3/16' }), 'pool CIDR 10.1.2.3/16 has host bits set: did you mean 10.1.0.0/16?');
  });

  test('block size outside 20..32 (IPv4) and 116..128 (IPv6)', () => {
    refuses(() => normalizePool({ cidr: '10.0.0.0/8', blockSize: 19 }), 'block size 19 is outside 20..32 for IPv4 pools: choose --block-size in that range');
    refuses(() => normalizePool({ cidr: '10.0.0.0/8', blockSize: 33 }), 'block size 33 is outside 20..32 for IPv4 pools: choose --block-size in that range');
    refuses(() => normalizePool({ cidr: 'fd00::/64', blockSize: 115 }), 'block size 115 is outside 116..128 for IPv6 pools: choose --block-size in that range');
  });

  test('block size larger than the pool', () => {
    refuses(() => normalizePool({ cidr: '10.0.0.0/28', blockSize: 26 }), 'block size /26 is larger than pool 10.0.0.0/28: use a block size of at least /28');
  });

  test('ipip on IPv6', () => {
    refuses(() => normalizePool({ cidr: 'fd00::/64', ipipMode: 'always' }), 'IPIP carries IPv4 only: remove --ipip for IPv6 pool fd00::/64');
  });

  test('ipip together with vxlan', () => {
    refuses(() => normalizePool({ cidr: '10.0.0.0/16', ipipMode: 'always', vxlanMode: 'cross-subnet' }), '--ipip and --vxlan exclude each other: choose one for pool 10.0.0.0/16');
  });

  test('bad mode', () => {
    refuses(() => normalizePool({ cidr: '10.0.0.0/16', ipipMode: 'sometimes' as never }), 'bad --ipip-mode sometimes: use always or cross-subnet');
  });

  test('overlap and duplicate', () => {
    const existing = [normalizePool({ cidr: '10.0.0.0/16' })];
    refuses(() => checkNoOverlap(normalizePool({ cidr: '10.0.128.0/24' }), existing), 'pool 10.0.128.0/24 overlaps existing pool 10.0.0.0/16: remove that pool first or choose a disjoint CIDR');
    refuses(() => checkNoOverlap(normalizePool({ cidr: '10.0.0.0/8' }), existing), 'pool 10.0.0.0/8 overlaps existing pool 10.0.0.0/16: remove that pool first or choose a disjoint CIDR');
    refuses(() => checkNoOverlap(normalizePool({ cidr: '10.0.0.0/16' }), existing), 'pool 10.0.0.0/16 already exists: remove that pool first or choose a disjoint CIDR');
    checkNoOverlap(normalizePool({ cidr: '10.1.0.0/16' }), existing);
  });

  test('pool lookup and option text', () => {
    const pools = [normalizePool({ cidr: '10.0.0.0/16', ipipMode: 'always', natOutgoing: true }), normalizePool({ cidr: 'fd00::/64' })];
    assert.equal(poolContaining(pools, '10.0.3.4')?.cidr, '10.0.0.0/16');
    assert.equal(poolContaining(pools, '10.0.3.0/24')?.cidr, '10.0.0.0/16');
    assert.equal(poolContaining(pools, 'fd00::5')?.cidr, 'fd00::/64');
    assert.equal(poolContaining(pools, '10.1.0.1'), undefined);
    assert.equal(poolOptionsText(pools[0]!), 'ipip,nat-outgoing');
    assert.equal(poolOptionsText(pools[1]!), '');
  });
});
