import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUpdate } from './update.js';
import { encodeAttributes } from './attributes.js';
import { mergeAs4Path } from './update.js';
import type { PathAttributes, UpdateAction } from '../types.js';
import { attr, bytes, ip4, ip6, pfx, u16, u32, update, type Bytes } from './testing.js';

const FOUR = { fourOctetAs: true };
const TWO = { fourOctetAs: false };
const NLRI = [pfx(ip4('10.0.0.0'), 8)];

// the mandatory three, so that only the attribute under test can be wrong
const ORIGIN_IGP = attr(0x40, 1, 0);
const PATH4 = attr(0x40, 2, 2, 1, u32(65001)); // AS_SEQUENCE of one 4-octet AS
const PATH2 = attr(0x40, 2, 2, 1, u16(65001));
const NH = attr(0x40, 3, ip4('192.0.2.1'));

const decode = (attrs: Bytes[], opts: { fourOctetAs: boolean; ebgp?: boolean } = FOUR, nlri: Bytes[] = NLRI) =>
  decodeUpdate(update([], attrs, nlri), opts);

describe('path attributes: RFC layouts round-trip', () => {
  test('every attribute on a 4-octet AS session', () => {
    const attrs = [
      attr(0x40, 1, 2), // ORIGIN INCOMPLETE
      attr(0x40, 2, 2, 2, u32(65001), u32(4200000001), 1, 2, u32(1), u32(2)), // AS_SEQUENCE, AS_SET
      attr(0x40, 3, ip4('192.0.2.1')), // NEXT_HOP
      attr(0x80, 4, u32(50)), // MULTI_EXIT_DISC
      attr(0x40, 5, u32(200)), // LOCAL_PREF
      attr(0x40, 6), // ATOMIC_AGGREGATE
      attr(0xc0, 7, u32(4200000002), ip4('198.51.100.7')), // AGGREGATOR, 4-octet AS
      attr(0xc0, 8, u32(0xfde80001), u32(0xffffff01)), // COMMUNITIES
      attr(0x80, 9, ip4('10.9.9.9')), // ORIGINATOR_ID
      attr(0x80, 10, ip4('10.0.0.1'), ip4('10.0.0.2')), // CLUSTER_LIST
      attr(0xc0, 32, u32(4200000001), u32(1), u32(2)), // LARGE_COMMUNITY
      attr(0xc0, 99, 1, 2, 3), // unknown optional transitive
    ];
    const m = decode(attrs);
    assert.equal(m.action, 'none');
    assert.deepEqual(m.errors, []);
    const expected: PathAttributes = {
      origin: 2,
      asPath: [
        { type: 2, asns: [65001, 4200000001] },
        { type: 1, asns: [1, 2] },
      ],
      nextHop: '192.0.2.1',
      med: 50,
      localPref: 200,
      atomicAggregate: true,
      aggregator: { asn: 4200000002, address: '198.51.100.7' },
      communities: [0xfde80001, 0xffffff01],
      originatorId: '10.9.9.9',
      clusterList: ['10.0.0.1', '10.0.0.2'],
      largeCommunities: [[4200000001, 1, 2]],
      unknown: [{ flags: 0xc0, type: 99, value: Buffer.from([1, 2, 3]) }],
    };
    assert.deepEqual(m.attributes, expected);
    // re-encoding gives the same bytes, except the unknown transitive attribute now has Partial set
    const reencoded = encodeAttributes(m.attributes!, FOUR);
    assert.deepEqual(reencoded, bytes(...attrs.slice(0, -1), attr(0xe0, 99, 1, 2, 3)));
  });

  test('2-octet AS session: AS_PATH and AGGREGATOR with 2-octet ASNs', () => {
    const attrs = [ORIGIN_IGP, attr(0x40, 2, 2, 2, u16(65001), u16(65002)), NH, attr(0xc0, 7, u16(65003), ip4('192.0.2.9'))];
    const m = decode(attrs, TWO);
    assert.equal(m.action, 'none');
    assert.deepEqual(m.attributes?.asPath, [{ type: 2, asns: [65001, 65002] }]);
    assert.deepEqual(m.attributes?.aggregator, { asn: 65003, address: '192.0.2.9' });
    assert.deepEqual(encodeAttributes(m.attributes!, TWO), bytes(...attrs));
  });

  test('AS_CONFED_SEQUENCE / AS_CONFED_SET segments are accepted', () => {
    const m = decode([ORIGIN_IGP, attr(0x40, 2, 3, 1, u32(64512), 4, 2, u32(64513), u32(64514), 2, 1, u32(1)), NH]);
    assert.equal(m.action, 'none');
    assert.deepEqual(m.attributes?.asPath.map((s) => s.type), [3, 4, 2]);
  });

  test('a 4-octet AS on a 2-octet session is sent as AS_TRANS plus AS4_PATH / AS4_AGGREGATOR, and merged back', () => {
    const a: PathAttributes = {
      origin: 0,
      asPath: [{ type: 2, asns: [65001, 4200000001, 65002] }],
      nextHop: '192.0.2.1',
      aggregator: { asn: 4200000009, address: '192.0.2.9' },
    };
    const wire = encodeAttributes(a, TWO);
    assert.deepEqual(
      wire,
      bytes(
        ORIGIN_IGP,
        attr(0x40, 2, 2, 3, u16(65001), u16(23456), u16(65002)),
        NH,
        attr(0xc0, 7, u16(23456), ip4('192.0.2.9')),
        attr(0xc0, 17, 2, 3, u32(65001), u32(4200000001), u32(65002)),
        attr(0xc0, 18, u32(4200000009), ip4('192.0.2.9')),
      ),
    );
    const m = decode([wire], TWO);
    assert.equal(m.action, 'none');
    assert.deepEqual(m.attributes, a);
  });
});

describe('AS4_PATH reconciliation (RFC 6793 §4.2.3)', () => {
  test('leading ASes of AS_PATH are kept, the rest comes from AS4_PATH', () => {
    // a 2-octet speaker prepended 65010 after the path left the 4-octet world
    const m = decode(
      [ORIGIN_IGP, attr(0x40, 2, 2, 3, u16(65010), u16(23456), u16(65020)), NH, attr(0xc0, 17, 2, 2, u32(4200000001), u32(65020))],
      TWO,
    );
    assert.deepEqual(m.attributes?.asPath, [{ type: 2, asns: [65010] }, { type: 2, asns: [4200000001, 65020] }]);
  });
  test('AS4_PATH longer than AS_PATH is ignored', () => {
    const m = decode([ORIGIN_IGP, PATH2, NH, attr(0xc0, 17, 2, 2, u32(4200000001), u32(65020))], TWO);
    assert.deepEqual(m.attributes?.asPath, [{ type: 2, asns: [65001] }]);
  });
  test('AGGREGATOR other than AS_TRANS voids AS4_AGGREGATOR and AS4_PATH', () => {
    const m = decode(
      [ORIGIN_IGP, attr(0x40, 2, 2, 2, u16(65001), u16(23456)), NH, attr(0xc0, 7, u16(65005), ip4('1.1.1.1')),
        attr(0xc0, 17, 2, 1, u32(4200000001)), attr(0xc0, 18, u32(4200000002), ip4('2.2.2.2'))],
      TWO,
    );
    assert.deepEqual(m.attributes?.asPath, [{ type: 2, asns: [65001, 23456] }]);
    assert.deepEqual(m.attributes?.aggregator, { asn: 65005, address: '1.1.1.1' });
  });
  test('AS_TRANS AGGREGATOR is replaced by AS4_AGGREGATOR', () => {
    const m = decode([ORIGIN_IGP, PATH2, NH, attr(0xc0, 7, u16(23456), ip4('1.1.1.1')), attr(0xc0, 18, u32(4200000002), ip4('2.2.2.2'))], TWO);
    assert.deepEqual(m.attributes?.aggregator, { asn: 4200000002, address: '2.2.2.2' });
  });
  test('on a 4-octet session AS4_PATH is ignored', () => {
    const m = decode([ORIGIN_IGP, PATH4, NH, attr(0xc0, 17, 2, 2, u32(1), u32(2))], FOUR);
    assert.deepEqual(m.attributes?.asPath, [{ type: 2, asns: [65001] }]);
  });
  test('AS_SET counts as one, confederation segments as none', () => {
    const merged = mergeAs4Path(
      [{ type: 3, asns: [64512] }, { type: 2, asns: [1, 23456] }, { type: 1, asns: [7, 8, 9] }],
      [{ type: 2, asns: [4200000001] }, { type: 1, asns: [7, 8, 9] }],
    );
    assert.deepEqual(merged, [{ type: 3, asns: [64512] }, { type: 2, asns: [1] }, { type: 2, asns: [4200000001] }, { type: 1, asns: [7, 8, 9] }]);
  });
});

describe('RFC 7606 error handling per attribute', () => {
  type Case = [name: string, attrs: Bytes[], action: UpdateAction, subcode: number, opts?: { fourOctetAs: boolean; ebgp?: boolean }];
  const cases: Case[] = [
    ['ORIGIN length 2 (§7.1)', [attr(0x40, 1, 0, 0), PATH4, NH], 'treat-as-withdraw', 5],
    ['ORIGIN value 3 (§7.1)', [attr(0x40, 1, 3), PATH4, NH], 'treat-as-withdraw', 6],
    ['ORIGIN with the Optional bit (§3c flags)', [attr(0xc0, 1, 0), PATH4, NH], 'treat-as-withdraw', 4],
    ['AS_PATH segment overruns (§7.2)', [ORIGIN_IGP, attr(0x40, 2, 2, 2, u32(1)), NH], 'treat-as-withdraw', 11],
    ['AS_PATH segment type 5 (§7.2)', [ORIGIN_IGP, attr(0x40, 2, 5, 1, u32(1)), NH], 'treat-as-withdraw', 11],
    ['AS_PATH empty segment (§7.2)', [ORIGIN_IGP, attr(0x40, 2, 2, 0), NH], 'treat-as-withdraw', 11],
    ['AS_PATH 2-octet encoding on a 4-octet session (§7.2)', [ORIGIN_IGP, attr(0x40, 2, 2, 1, u16(65001)), NH], 'treat-as-withdraw', 11],
    ['AS_CONFED_SEQUENCE from an external peer (§7.2)', [ORIGIN_IGP, attr(0x40, 2, 3, 1, u32(64512), 2, 1, u32(1)), NH], 'treat-as-withdraw', 11, { fourOctetAs: true, ebgp: true }],
    ['NEXT_HOP length 5 (§7.3)', [ORIGIN_IGP, PATH4, attr(0x40, 3, ip4('1.2.3.4'), 0)], 'treat-as-withdraw', 5],
    ['NEXT_HOP 0.0.0.0 (§7.3)', [ORIGIN_IGP, PATH4, attr(0x40, 3, ip4('0.0.0.0'))], 'treat-as-withdraw', 8],
    ['MULTI_EXIT_DISC length 3 (§7.4)', [ORIGIN_IGP, PATH4, NH, attr(0x80, 4, 0, 0, 1)], 'treat-as-withdraw', 5],
    ['LOCAL_PREF length 2 (§7.5)', [ORIGIN_IGP, PATH4, NH, attr(0x40, 5, 0, 1)], 'treat-as-withdraw', 5],
    ['LOCAL_PREF from an external peer (§7.5)', [ORIGIN_IGP, PATH4, NH, attr(0x40, 5, u32(100))], 'attribute-discard', 1, { fourOctetAs: true, ebgp: true }],
    ['ATOMIC_AGGREGATE length 1 (§7.6)', [ORIGIN_IGP, PATH4, NH, attr(0x40, 6, 0)], 'attribute-discard', 5],
    ['AGGREGATOR of 6 bytes on a 4-octet session (§7.7)', [ORIGIN_IGP, PATH4, NH, attr(0xc0, 7, u16(1), ip4('1.1.1.1'))], 'attribute-discard', 5],
    ['AGGREGATOR of 8 bytes on a 2-octet session (§7.7)', [ORIGIN_IGP, PATH2, NH, attr(0xc0, 7, u32(1), ip4('1.1.1.1'))], 'attribute-discard', 5, TWO],
    ['COMMUNITIES length 5 (§7.8)', [ORIGIN_IGP, PATH4, NH, attr(0xc0, 8, u32(1), 0)], 'treat-as-withdraw', 5],
    ['COMMUNITIES length 0 (§7.8)', [ORIGIN_IGP, PATH4, NH, attr(0xc0, 8)], 'treat-as-withdraw', 5],
    ['ORIGINATOR_ID length 3 (§7.9)', [ORIGIN_IGP, PATH4, NH, attr(0x80, 9, 1, 2, 3)], 'treat-as-withdraw', 5],
    ['ORIGINATOR_ID from an external peer (§7.9)', [ORIGIN_IGP, PATH4, NH, attr(0x80, 9, ip4('1.1.1.1'))], 'attribute-discard', 1, { fourOctetAs: true, ebgp: true }],
    ['CLUSTER_LIST length 6 (§7.10)', [ORIGIN_IGP, PATH4, NH, attr(0x80, 10, ip4('1.1.1.1'), 0, 0)], 'treat-as-withdraw', 5],
    ['LARGE_COMMUNITY length 13 (RFC 8092 §6)', [ORIGIN_IGP, PATH4, NH, attr(0xc0, 32, u32(1), u32(2), u32(3), 0)], 'treat-as-withdraw', 5],
    ['LARGE_COMMUNITY length 0 (RFC 8092 §6)', [ORIGIN_IGP, PATH4, NH, attr(0xc0, 32)], 'treat-as-withdraw', 5],
    ['AS4_PATH with a confederation segment (RFC 6793 §6)', [ORIGIN_IGP, PATH2, NH, attr(0xc0, 17, 3, 1, u32(1))], 'attribute-discard', 11, TWO],
    ['AS4_PATH with wrong flags (RFC 6793 §6)', [ORIGIN_IGP, PATH2, NH, attr(0x80, 17, 2, 1, u32(1))], 'attribute-discard', 4, TWO],
    ['AS4_AGGREGATOR length 6 (RFC 6793 §6)', [ORIGIN_IGP, PATH2, NH, attr(0xc0, 18, u16(1), ip4('1.1.1.1'))], 'attribute-discard', 5, TWO],
    ['MP_REACH_NLRI IPv6 next hop of 4 bytes (§7.11)', [ORIGIN_IGP, PATH4, NH, attr(0x80, 14, u16(2), 1, 4, ip4('1.1.1.1'), 0)], 'session-reset', 9],
    ['MP_REACH_NLRI with a /129 (§7.11)', [ORIGIN_IGP, PATH4, NH, attr(0x80, 14, u16(2), 1, 16, ip6('2001:db8::1'), 0, 129, new Array(17).fill(0))], 'session-reset', 9],
    ['MP_UNREACH_NLRI with a truncated prefix (§7.11)', [ORIGIN_IGP, PATH4, NH, attr(0x80, 15, u16(2), 1, 64, 0x20, 0x01)], 'session-reset', 9],
    ['MP_REACH_NLRI with wrong flags (§7.11)', [ORIGIN_IGP, PATH4, NH, attr(0xc0, 14, u16(2), 1, 16, ip6('2001:db8::1'), 0)], 'session-reset', 4],
    ['MP_REACH_NLRI twice (§3g)', [attr(0x80, 14, u16(2), 1, 16, ip6('2001:db8::1'), 0), attr(0x80, 14, u16(2), 1, 16, ip6('2001:db8::1'), 0), ORIGIN_IGP, PATH4, NH], 'session-reset', 1],
    ['MULTI_EXIT_DISC twice: later ones discarded (§3g)', [ORIGIN_IGP, PATH4, NH, attr(0x80, 4, u32(1)), attr(0x80, 4, u32(2))], 'attribute-discard', 1],
    ['unrecognized well-known attribute (RFC 4271 §6.3)', [ORIGIN_IGP, PATH4, NH, attr(0x40, 99, 1)], 'session-reset', 2],
    ['missing ORIGIN with NLRI (§3d)', [PATH4, NH], 'treat-as-withdraw', 3],
    ['missing AS_PATH with NLRI (§3d)', [ORIGIN_IGP, NH], 'treat-as-withdraw', 3],
    ['missing NEXT_HOP with body NLRI (§3d)', [ORIGIN_IGP, PATH4], 'treat-as-withdraw', 3],
    ['attribute length runs past the attribute block (§4)', [ORIGIN_IGP, PATH4, NH, bytes(0x80, 4, 8, u32(1))], 'treat-as-withdraw', 5],
    ['two bytes left over in the attribute block (§4)', [ORIGIN_IGP, PATH4, NH, bytes(0x80, 4)], 'treat-as-withdraw', 1],
    ['MP_REACH_NLRI running past the attribute block (§4, NLRI lost)', [ORIGIN_IGP, PATH4, NH, bytes(0x80, 14, 40, u16(2), 1)], 'session-reset', 5],
  ];
  for (const [name, attrs, action, subcode, opts] of cases) {
    test(`${name} → ${action}`, () => {
      const m = decode(attrs, opts ?? (attrs.includes(PATH2) ? TWO : FOUR));
      assert.equal(m.action, action, JSON.stringify(m.errors.map((e) => e.message)));
      assert.equal(m.errors[0]?.code, 3);
      assert.equal(m.errors[0]?.subcode, subcode);
    });
  }

  test('attribute-discard drops only the broken attribute', () => {
    const m = decode([ORIGIN_IGP, PATH4, NH, attr(0x40, 6, 0), attr(0xc0, 8, u32(7))]);
    assert.equal(m.attributes?.atomicAggregate, undefined);
    assert.deepEqual(m.attributes?.communities, [7]);
    const dup = decode([ORIGIN_IGP, PATH4, NH, attr(0x80, 4, u32(1)), attr(0x80, 4, u32(2))]);
    assert.equal(dup.attributes?.med, 1, 'the first occurrence wins');
    const ebgp = decode([ORIGIN_IGP, PATH4, NH, attr(0x40, 5, u32(100))], { fourOctetAs: true, ebgp: true });
    assert.equal(ebgp.attributes?.localPref, undefined);
  });

  test('error data carries the offending attribute (RFC 4271 §6.3)', () => {
    const bad = attr(0x40, 1, 7);
    const m = decode([bad, PATH4, NH]);
    assert.deepEqual(m.errors[0]?.data, bad);
    assert.equal(m.errors[0]?.attrType, 1);
  });

  test('unknown optional non-transitive attributes are dropped silently', () => {
    const m = decode([ORIGIN_IGP, PATH4, NH, attr(0x80, 99, 1, 2)]);
    assert.equal(m.action, 'none');
    assert.equal(m.attributes?.unknown, undefined);
  });

  test('no mandatory attributes needed without NLRI to announce', () => {
    const m = decode([attr(0x80, 4, u32(5))], FOUR, []);
    assert.equal(m.action, 'none');
  });
});
