import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  countNlri,
  forEachIpv4Prefix,
  forEachIpv6Prefix,
  ipv4Key,
  ipv4KeyToPrefix,
  ipv6Key,
  ipv6KeyToPrefix,
  keyToPrefix,
  parsePrefix,
  prefixKey,
} from './prefix.js';
import { ipv4ToUint, ipv6ToBytes, readIpv6 } from './bytes.js';
import { BgpError } from './errors.js';
import { bytes, ip4, ip6, pfx, u32 } from './testing.js';

describe('prefix keys', () => {
  test('IPv4 key = network * 64 + len, exact up to 255.255.255.255/32', () => {
    assert.equal(ipv4Key(ipv4ToUint('10.0.0.0'), 8), 0x0a000000 * 64 + 8);
    assert.equal(ipv4Key(ipv4ToUint('10.1.2.3'), 8), ipv4Key(ipv4ToUint('10.0.0.0'), 8), 'host bits cleared');
    assert.equal(ipv4Key(ipv4ToUint('255.255.255.255'), 32), 0xffffffff * 64 + 32);
    assert.equal(ipv4Key(ipv4ToUint('1.2.3.4'), 0), 0);
    assert.deepEqual(ipv4KeyToPrefix(ipv4Key(ipv4ToUint('192.168.128.0'), 17)), { family: 'ipv4', addr: '192.168.128.0', len: 17 });
  });
  test('IPv6 key is the canonical masked text', () => {
    assert.equal(ipv6Key(ipv6ToBytes('2001:db8:ffff::1'), 32), '2001:db8::/32');
    assert.equal(ipv6Key(ipv6ToBytes('2001:db8::1:0:0:0'), 128), '2001:db8:0:0:1::/128', 'longest zero run compressed');
    assert.equal(ipv6Key(ipv6ToBytes('::'), 0), '::/0');
    assert.deepEqual(ipv6KeyToPrefix('fd00::/8'), { family: 'ipv6', addr: 'fd00::', len: 8 });
  });
  test('Prefix ⇄ key and text', () => {
    assert.deepEqual(parsePrefix('10.1.2.3/16'), { family: 'ipv4', addr: '10.1.0.0', len: 16 });
    assert.deepEqual(parsePrefix('2001:DB8::7/48'), { family: 'ipv6', addr: '2001:db8::', len: 48 });
    assert.deepEqual(keyToPrefix(prefixKey({ family: 'ipv4', addr: '172.16.5.0', len: 24 })), { family: 'ipv4', addr: '172.16.5.0', len: 24 });
    assert.throws(() => parsePrefix('10.0.0.0/33'), /invalid prefix length 33/);
    assert.throws(() => parsePrefix('10.0.0/8'), /invalid IPv4 address/);
    assert.throws(() => parsePrefix('2001:db8'), /expected ADDRESS\/LENGTH/);
  });
  test('IPv6 text follows RFC 5952', () => {
    assert.equal(readIpv6(ipv6ToBytes('2001:0db8:0000:0000:0001:0000:0000:0001'), 0), '2001:db8::1:0:0:1');
    assert.equal(readIpv6(ipv6ToBytes('::ffff:192.0.2.1'), 0), '::ffff:c000:201');
    assert.equal(readIpv6(ipv6ToBytes('1:0:2:3:4:5:6:7'), 0), '1:0:2:3:4:5:6:7');
  });
});

describe('NLRI iteration', () => {
  const wire = bytes(pfx(ip4('10.0.0.0'), 8), pfx(ip4('192.168.1.0'), 24), pfx(ip4('0.0.0.0'), 0), pfx(ip4('10.1.2.3'), 32), pfx(ip4('172.31.255.255'), 12));
  test('forEachIpv4Prefix yields keys, lengths; trailing host bits are masked', () => {
    const seen: string[] = [];
    forEachIpv4Prefix(wire, 0, wire.length, (key, len, pathId) => {
      const p = ipv4KeyToPrefix(key);
      assert.equal(p.len, len);
      assert.equal(pathId, 0);
      seen.push(`${p.addr}/${p.len}`);
    });
    assert.deepEqual(seen, ['10.0.0.0/8', '192.168.1.0/24', '0.0.0.0/0', '10.1.2.3/32', '172.16.0.0/12']);
    assert.equal(countNlri(wire, 0, wire.length, 'ipv4', false), 5);
  });
  test('add-path: a 4-byte path identifier precedes each prefix (RFC 7911)', () => {
    const ap = bytes(u32(7), pfx(ip4('10.0.0.0'), 8), u32(0xffffffff), pfx(ip4('10.0.0.0'), 8));
    const ids: number[] = [];
    forEachIpv4Prefix(ap, 0, ap.length, (_k, _l, id) => ids.push(id), true);
    assert.deepEqual(ids, [7, 0xffffffff]);
    assert.equal(countNlri(ap, 0, ap.length, 'ipv4', true), 2);
    assert.equal(countNlri(ap, 0, ap.length, 'ipv4', false), -1, 'without add-path the same bytes are malformed');
  });
  test('IPv6 prefixes', () => {
    const w6 = bytes(pfx(ip6('2001:db8::'), 32), pfx(ip6('fd00:1:2:3::'), 64));
    const keys: string[] = [];
    forEachIpv6Prefix(w6, 0, w6.length, (k) => keys.push(k));
    assert.deepEqual(keys, ['2001:db8::/32', 'fd00:1:2:3::/64']);
  });
  test('length above the family maximum or a prefix past the end is malformed', () => {
    for (const bad of [bytes(33, 1, 2, 3, 4, 5), bytes(24, 10, 0), bytes(u32(1))]) {
      assert.equal(countNlri(bad, 0, bad.length, 'ipv4', false), -1);
      assert.throws(() => forEachIpv4Prefix(bad, 0, bad.length, () => undefined), BgpError);
    }
    const b129 = bytes(129, new Array(17).fill(0));
    assert.equal(countNlri(b129, 0, b129.length, 'ipv6', false), -1);
  });
});
