import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { blockOf, canonicalIp, cidrsOverlap, formatCidr, formatIp, ipAt, parseCidr, parseIp, ordinalOf } from './ip.js';

describe('ip arithmetic', () => {
  test('IPv4 parse/format round trip', () => {
    const p = parseIp('192.168.1.10')!;
    assert.equal(p.family, 4);
    assert.equal(p.value, 0xc0a8010an);
    assert.equal(formatIp(4, p.value), '192.168.1.10');
  });

  test('IPv6 canonical forms (RFC 5952)', () => {
    assert.equal(canonicalIp('FD80:24E2:F998:72D6:0:0:0:1'), 'fd80:24e2:f998:72d6::1');
    assert.equal(canonicalIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(canonicalIp('::'), '::');
    assert.equal(canonicalIp('::ffff:1.2.3.4'), '::ffff:102:304');
    assert.equal(canonicalIp('1:2:3:4:5:6:7:8'), '1:2:3:4:5:6:7:8');
    assert.equal(canonicalIp('nonsense'), undefined);
  });

  test('CIDR parse: strict refuses host bits, loose masks them', () => {
    assert.equal(parseCidr('10.0.0.1/8', true), undefined);
    assert.equal(formatCidr(parseCidr('10.0.0.1/8')!), '10.0.0.0/8');
    assert.equal(parseCidr('10.0.0.0/33'), undefined);
    assert.equal(formatCidr(parseCidr('fd00::/64', true)!), 'fd00::/64');
  });

  test('overlap and block/ordinal math', () => {
    assert.ok(cidrsOverlap(parseCidr('10.0.0.0/16')!, parseCidr('10.0.5.0/24')!));
    assert.ok(!cidrsOverlap(parseCidr('10.0.0.0/16')!, parseCidr('10.1.0.0/16')!));
    assert.ok(!cidrsOverlap(parseCidr('10.0.0.0/16')!, parseCidr('fd00::/16')!));
    const ip = parseIp('192.168.3.77')!;
    const b = blockOf(ip, 26);
    assert.equal(formatCidr(b), '192.168.3.64/26');
    assert.equal(ordinalOf(b, ip), 13);
    assert.equal(ipAt(b, 13), '192.168.3.77');
    const b6 = blockOf(parseIp('fd80::7f')!, 122);
    assert.equal(formatCidr(b6), 'fd80::40/122');
    assert.equal(ipAt(b6, 0x3f), 'fd80::7f');
  });
});

describe('ip arithmetic properties', () => {
  test('format → parse round trips every IPv4 and IPv6 value; Node agrees on IPv6 text', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), (v) => parseIp(formatIp(4, v))?.value === v));
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (v) => {
        const text = formatIp(6, v);
        return parseIp(text)?.value === v && new URL(`http://[${text}]/`).hostname === `[${text}]`;
      }),
    );
    // Sparse values exercise the '::' run selection.
    const sparse = fc.array(fc.constantFrom(0n, 1n, 0xffffn), { minLength: 8, maxLength: 8 }).map((g) => g.reduce<bigint>((a, x) => (a << 16n) | x, 0n));
    fc.assert(fc.property(sparse, (v) => new URL(`http://[${formatIp(6, v)}]/`).hostname === `[${formatIp(6, v)}]`));
  });
});
