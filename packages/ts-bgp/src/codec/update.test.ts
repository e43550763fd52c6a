import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUpdate } from './update.js';
import { decodeMessage } from './decode.js';
import { encodeEndOfRib, encodeUpdate, encodeUpdates, encodeUpdatesByKey, encodeWithdrawals } from './update-encode.js';
import { forEachIpv4Prefix, ipv4Key, ipv4KeyToPrefix, nlriToPrefixes, parsePrefix, prefixKey } from './prefix.js';
import { FrameReader } from './frame.js';
import type { PathAttributes, Prefix, UpdateMessage } from '../types.js';
import { attr, bytes, ip4, ip6, pfx, u16, u32, update } from './testing.js';

const FOUR = { fourOctetAs: true };
const BASE = [attr(0x40, 1, 0), attr(0x40, 2, 2, 1, u32(65001)), attr(0x40, 3, ip4('192.0.2.1'))];
const ATTRS: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '192.0.2.1' };
const text = (ps: Prefix[]): string[] => ps.map((p) => `${p.addr}/${p.len}`);

describe('UPDATE decoding', () => {
  test('IPv4 withdrawn routes and NLRI as views over the frame', () => {
    const frame = update([pfx(ip4('10.9.0.0'), 16)], BASE, [pfx(ip4('10.0.0.0'), 8), pfx(ip4('10.1.1.0'), 24)]);
    const m = decodeUpdate(frame, FOUR);
    assert.equal(m.action, 'none');
    assert.equal(m.withdrawn.buf, frame, 'no copy');
    assert.equal(m.withdrawn.count, 1);
    assert.equal(m.nlri.count, 2);
    assert.deepEqual(text(nlriToPrefixes(m.withdrawn)), ['10.9.0.0/16']);
    assert.deepEqual(text(nlriToPrefixes(m.nlri)), ['10.0.0.0/8', '10.1.1.0/24']);
    assert.equal(m.attributesKey, bytes(...BASE).toString('latin1'));
    assert.deepEqual(frame.subarray(m.attrStart, m.attrEnd), bytes(...BASE));
  });

  test('attributesKey ignores MP NLRI but not the MP next hop', () => {
    const mp = (nh: string, p: string) => attr(0x90, 14, u16(2), 1, 16, ip6(nh), 0, pfx(ip6(p), 64));
    const a = decodeUpdate(update([], [mp('2001:db8::1', 'fd00:1::'), ...BASE.slice(0, 2)]), FOUR);
    const b = decodeUpdate(update([], [mp('2001:db8::1', 'fd00:2::'), ...BASE.slice(0, 2)]), FOUR);
    const c = decodeUpdate(update([], [mp('2001:db8::2', 'fd00:2::'), ...BASE.slice(0, 2)]), FOUR);
    assert.equal(a.action, 'none');
    assert.equal(a.attributesKey, b.attributesKey);
    assert.notEqual(b.attributesKey, c.attributesKey);
  });

  test('MP_REACH_NLRI IPv6 with global + link-local next hop (32 bytes), MP_UNREACH_NLRI', () => {
    const frame = update([], [
      attr(0x90, 14, u16(2), 1, 32, ip6('2001:db8::1'), ip6('fe80::1'), 0, pfx(ip6('2001:db8:1::'), 48)),
      attr(0x90, 15, u16(2), 1, pfx(ip6('2001:db8:2::'), 48)),
      ...BASE.slice(0, 2),
    ]);
    const m = decodeUpdate(frame, FOUR);
    assert.equal(m.action, 'none');
    assert.equal(m.mpReach?.nextHop, '2001:db8::1');
    assert.equal(m.mpReach?.linkLocalNextHop, 'fe80::1');
    assert.equal(m.attributes?.nextHopV6, '2001:db8::1');
    assert.equal(m.attributes?.nextHopLinkLocal, 'fe80::1');
    assert.deepEqual(text(nlriToPrefixes(m.mpReach!.nlri)), ['2001:db8:1::/48']);
    assert.deepEqual(text(nlriToPrefixes(m.mpUnreach!.withdrawn)), ['2001:db8:2::/48']);
  });

  test('add-path IPv4 NLRI when negotiated for receive', () => {
    const frame = update([], BASE, [u32(1), pfx(ip4('10.0.0.0'), 8), u32(2), pfx(ip4('10.0.0.0'), 8)]);
    const m = decodeUpdate(frame, { fourOctetAs: true, addPathReceive: new Set(['ipv4'] as const) });
    assert.equal(m.action, 'none');
    assert.deepEqual(nlriToPrefixes(m.nlri).map((p) => p.pathId), [1, 2]);
    assert.equal(decodeUpdate(frame, FOUR).action, 'session-reset', 'same bytes without add-path are malformed NLRI');
  });

  test('End-of-RIB: empty UPDATE for IPv4, bare MP_UNREACH_NLRI for IPv6 (RFC 4724 §2)', () => {
    assert.equal(decodeUpdate(update(), FOUR).endOfRib, 'ipv4');
    assert.equal(decodeUpdate(update([], [attr(0x80, 15, u16(2), 1)]), FOUR).endOfRib, 'ipv6');
    assert.equal(decodeUpdate(update([], [attr(0x80, 15, u16(2), 1, pfx(ip6('2001:db8::'), 32))]), FOUR).endOfRib, undefined);
    assert.deepEqual(encodeEndOfRib('ipv4'), update());
    assert.deepEqual(encodeEndOfRib('ipv6'), update([], [attr(0x80, 15, u16(2), 1)]));
  });

  const structural: Array<[string, Buffer, number]> = [
    ['withdrawn routes length beyond the message', bytes(update().subarray(0, 19), u16(5), u16(0)), 1],
    ['total attribute length beyond the message', bytes(update().subarray(0, 19), u16(0), u16(9), 1, 2), 1],
    ['IPv4 NLRI of length 33', update([], BASE, [bytes(33, 1, 2, 3, 4, 5)]), 10],
    ['truncated IPv4 NLRI', update([], BASE, [bytes(24, 10, 0)]), 10],
    ['malformed withdrawn routes', update([bytes(40, 1)], []), 10],
  ];
  for (const [name, frame, subcode] of structural) {
    test(`${name} → session-reset (3/${subcode}), never throws`, () => {
      const fixed = Buffer.from(frame);
      fixed.writeUInt16BE(fixed.length, 16);
      const m = decodeMessage(fixed, FOUR) as UpdateMessage;
      assert.equal(m.action, 'session-reset');
      assert.equal(m.errors[0]?.subcode, subcode);
    });
  }
});

describe('UPDATE encoding', () => {
  test('encodeUpdate: IPv4 in the body fields, RFC 4271 layout', () => {
    const buf = encodeUpdate({ withdrawn: [parsePrefix('10.9.0.0/16')], attributes: ATTRS, nlri: [parsePrefix('10.0.0.0/8')] }, FOUR);
    assert.deepEqual(buf, update([pfx(ip4('10.9.0.0'), 16)], BASE, [pfx(ip4('10.0.0.0'), 8)]));
  });

  test('encodeUpdate: IPv6 in MP_REACH_NLRI placed first, NEXT_HOP left out', () => {
    const attrs = { ...ATTRS, nextHopV6: '2001:db8::1' };
    const buf = encodeUpdate({ attributes: attrs, nlri: [parsePrefix('2001:db8:1::/48')] }, FOUR);
    assert.deepEqual(buf, update([], [attr(0x90, 14, u16(2), 1, 16, ip6('2001:db8::1'), 0, pfx(ip6('2001:db8:1::'), 48)), ...BASE.slice(0, 2)]));
    const w = encodeUpdate({ withdrawn: [parsePrefix('2001:db8:1::/48'), parsePrefix('10.0.0.0/8')] }, FOUR);
    const m = decodeUpdate(w, FOUR);
    assert.deepEqual(text(nlriToPrefixes(m.withdrawn)), ['10.0.0.0/8']);
    assert.deepEqual(text(nlriToPrefixes(m.mpUnreach!.withdrawn)), ['2001:db8:1::/48']);
  });

  test('encodeUpdate refuses what does not fit one message', () => {
    const many = Array.from({ length: 2000 }, (_, i) => ipv4KeyToPrefix(ipv4Key(0x0a000000 + i * 256, 24)));
    assert.throws(() => encodeUpdate({ attributes: ATTRS, nlri: many }, FOUR), /too large/);
  });

  test('encodeUpdates packs 10 000 prefixes into ≤4096-byte UPDATEs that decode to the same keys', () => {
    const keys = Array.from({ length: 10000 }, (_, i) => ipv4Key(0x0a000000 + i * 256, 24));
    const prefixes = keys.map(ipv4KeyToPrefix);
    const msgs = encodeUpdates({ ...ATTRS, communities: [1, 2, 3] }, prefixes, FOUR);
    assert.deepEqual(msgs, encodeUpdatesByKey('ipv4', { ...ATTRS, communities: [1, 2, 3] }, keys, FOUR));
    assert.ok(msgs.length >= Math.ceil((10000 * 4) / 4096));
    const reader = new FrameReader();
    const got: number[] = [];
    const slow: string[] = [];
    for (const msg of msgs) assert.ok(msg.length <= 4096);
    const err = reader.feed(Buffer.concat(msgs), (frame) => {
      const m = decodeMessage(frame, FOUR) as UpdateMessage;
      assert.equal(m.action, 'none');
      assert.deepEqual(m.attributes?.communities, [1, 2, 3]);
      forEachIpv4Prefix(m.nlri.buf, m.nlri.start, m.nlri.end, (k) => got.push(k));
      slow.push(...text(nlriToPrefixes(m.nlri)));
    });
    assert.equal(err, undefined);
    assert.deepEqual(got, keys, 'fast path: same keys in order');
    assert.deepEqual(slow, text(prefixes), 'slow path agrees');
    assert.ok(msgs.slice(0, -1).every((m) => m.length > 4096 - 5), 'all but the last message are full');
  });

  test('IPv6 and add-path packing round-trip, withdrawals too', () => {
    const v6 = Array.from({ length: 600 }, (_, i) => ({ ...parsePrefix(`2001:db8:${i.toString(16)}::/48`), pathId: i + 1 }));
    const opts = { fourOctetAs: true, addPathSend: new Set(['ipv6'] as const) };
    const attrs = { ...ATTRS, nextHopV6: '2001:db8::1', nextHopLinkLocal: 'fe80::1' };
    const msgs = encodeUpdates(attrs, v6, opts);
    assert.ok(msgs.length > 1);
    const back = msgs.flatMap((b) => {
      const m = decodeUpdate(b, { fourOctetAs: true, addPathReceive: new Set(['ipv6'] as const) });
      assert.equal(m.action, 'none');
      assert.equal(m.mpReach?.linkLocalNextHop, 'fe80::1');
      return nlriToPrefixes(m.mpReach!.nlri);
    });
    assert.deepEqual(back, v6);
    const wd = encodeWithdrawals(v6.map(({ family, addr, len }) => ({ family, addr, len })), FOUR)
      .flatMap((b) => nlriToPrefixes(decodeUpdate(b, FOUR).mpUnreach!.withdrawn));
    assert.deepEqual(wd.map((p) => prefixKey(p)), v6.map((p) => prefixKey(p)));
  });

  test('missing next hop is a one-line error', () => {
    assert.throws(() => encodeUpdates({ origin: 0, asPath: [] }, [parsePrefix('10.0.0.0/8')], FOUR), /NEXT_HOP/);
    assert.throws(() => encodeUpdates(ATTRS, [parsePrefix('2001:db8::/32')], FOUR), /nextHopV6/);
  });
});
