import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage } from './decode.js';
import { BgpError } from './errors.js';
import {
  buildOpen,
  decodeOpen,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  peerAsOf,
} from './messages.js';
import { emptyCapabilities, negotiate } from './capabilities.js';
import type { Capabilities, OpenMessage } from '../types.js';
import { bytes, cap, capParam, ip4, msg, open, u16, u32 } from './testing.js';

const opts = { fourOctetAs: true };

describe('OPEN', () => {
  test('decodes the RFC 4271 layout with every capability', () => {
    const frame = open({
      as: 23456, // AS_TRANS: the real AS is in the 4-octet AS capability
      hold: 90,
      id: '192.0.2.1',
      params: [
        capParam(
          cap(1, u16(1), 0, 1), // multiprotocol IPv4 unicast
          cap(1, u16(2), 0, 1), // multiprotocol IPv6 unicast
          cap(2), // route refresh
          cap(70), // enhanced route refresh
          cap(64, u16(0x8000 | 120), u16(1), 1, 0x80, u16(2), 1, 0), // GR: R bit, 120 s, IPv4 F=1, IPv6 F=0
          cap(65, u32(4200000001)), // 4-octet AS
          cap(69, u16(1), 1, 3, u16(2), 1, 1), // add-path IPv4 send+receive, IPv6 receive
          cap(73, 'host'.split('').map((c) => c.charCodeAt(0))), // unknown (FQDN) kept
        ),
      ],
    });
    const o = decodeMessage(frame, opts) as OpenMessage;
    assert.equal(o.version, 4);
    assert.equal(o.myAs, 23456);
    assert.equal(o.holdTime, 90);
    assert.equal(o.bgpId, '192.0.2.1');
    assert.equal(peerAsOf(o), 4200000001);
    assert.deepEqual(o.capabilities, {
      multiprotocol: ['ipv4', 'ipv6'],
      routeRefresh: true,
      enhancedRouteRefresh: true,
      gracefulRestart: {
        restartState: true,
        restartTimeSec: 120,
        families: [
          { family: 'ipv4', forwardingState: true },
          { family: 'ipv6', forwardingState: false },
        ],
      },
      fourOctetAs: 4200000001,
      addPath: [
        { family: 'ipv4', send: true, receive: true },
        { family: 'ipv6', send: false, receive: true },
      ],
      unknown: [{ code: 73, value: Buffer.from('host') }],
    } satisfies Capabilities);
    // encoding the decoded OPEN gives back the same bytes (same capability order)
    assert.deepEqual(encodeOpen(o), frame);
  });

  test('capabilities spread over several optional parameters are merged', () => {
    const frame = open({ as: 65001, hold: 0, id: '10.0.0.1', params: [capParam(cap(2)), capParam(cap(65, u32(65001)))] });
    const o = decodeOpen(frame);
    assert.equal(o.capabilities.routeRefresh, true);
    assert.equal(o.capabilities.fourOctetAs, 65001);
    assert.equal(o.holdTime, 0);
  });

  test('buildOpen puts AS_TRANS in My AS for a 4-octet AS and round-trips', () => {
    const o = buildOpen({ asn: 4200000001, holdTime: 3, bgpId: '10.1.2.3', capabilities: { multiprotocol: ['ipv6'] } });
    assert.equal(o.myAs, 23456);
    assert.equal(o.capabilities.fourOctetAs, 4200000001);
    const back = decodeOpen(encodeOpen(o));
    assert.deepEqual(back, o);
    assert.equal(peerAsOf(back), 4200000001);
  });

  const errors: Array<[string, Buffer, number, Buffer?]> = [
    ['version 3 → Unsupported Version Number with data = 4', open({ version: 3, as: 1, hold: 90, id: '1.1.1.1' }), 1, Buffer.from(u16(4))],
    ['hold time 1 → Unacceptable Hold Time', open({ as: 1, hold: 1, id: '1.1.1.1' }), 6],
    ['hold time 2 → Unacceptable Hold Time', open({ as: 1, hold: 2, id: '1.1.1.1' }), 6],
    ['BGP identifier 0 → Bad BGP Identifier', open({ as: 1, hold: 90, id: '0.0.0.0' }), 3],
    ['My AS 0 → Bad Peer AS (RFC 7607)', open({ as: 0, hold: 90, id: '1.1.1.1' }), 2],
    ['optional parameter type 1 → Unsupported Optional Parameter', open({ as: 1, hold: 90, id: '1.1.1.1', params: [bytes(1, 2, 0, 0)] }), 4],
    ['capability overrunning its parameter → subcode 0', open({ as: 1, hold: 90, id: '1.1.1.1', params: [bytes(2, 3, 65, 4, 0)] }), 0],
    ['4-octet AS capability of 3 bytes → subcode 0', open({ as: 1, hold: 90, id: '1.1.1.1', params: [capParam(cap(65, 0, 0, 1))] }), 0],
    ['optional parameters length beyond the message → subcode 0', msg(1, 4, u16(1), u16(90), ip4('1.1.1.1'), 5, 2, 0), 0],
  ];
  for (const [name, frame, subcode, data] of errors) {
    test(name, () => {
      assert.throws(
        () => decodeMessage(frame, opts),
        (e) => {
          assert.ok(e instanceof BgpError);
          assert.equal(e.code, 2);
          assert.equal(e.subcode, subcode);
          if (data) assert.deepEqual(e.data, data);
          return true;
        },
      );
    });
  }
  test('hold time 0 and 3 are accepted', () => {
    assert.equal(decodeOpen(open({ as: 1, hold: 0, id: '1.1.1.1' })).holdTime, 0);
    assert.equal(decodeOpen(open({ as: 1, hold: 3, id: '1.1.1.1' })).holdTime, 3);
  });
});

describe('negotiate', () => {
  const caps = (c: Partial<Capabilities>): Capabilities => ({ ...emptyCapabilities(), ...c });
  test('families, 4-octet AS, add-path directions, route refresh, graceful restart', () => {
    const local = caps({
      multiprotocol: ['ipv4', 'ipv6'],
      routeRefresh: true,
      fourOctetAs: 65000,
      addPath: [{ family: 'ipv4', send: true, receive: true }],
      gracefulRestart: { restartState: false, restartTimeSec: 120, families: [{ family: 'ipv4', forwardingState: true }] },
    });
    const remote = caps({
      multiprotocol: ['ipv4'],
      routeRefresh: true,
      enhancedRouteRefresh: true,
      fourOctetAs: 65001,
      addPath: [{ family: 'ipv4', send: false, receive: true }, { family: 'ipv6', send: true, receive: true }],
      gracefulRestart: {
        restartState: true,
        restartTimeSec: 90,
        families: [{ family: 'ipv4', forwardingState: true }, { family: 'ipv6', forwardingState: true }],
      },
    });
    const n = negotiate(local, remote);
    assert.deepEqual(n.families, ['ipv4']);
    assert.equal(n.codec.fourOctetAs, true);
    assert.deepEqual([...(n.codec.addPathSend ?? [])], ['ipv4']);
    assert.equal(n.codec.addPathReceive, undefined, 'remote does not send IPv4 paths; IPv6 not negotiated');
    assert.equal(n.routeRefresh, true);
    assert.equal(n.enhancedRouteRefresh, false);
    assert.deepEqual(n.peerGracefulRestart, { restartState: true, restartTimeSec: 90, families: [{ family: 'ipv4', forwardingState: true }] });
  });
  test('no multiprotocol capability means IPv4 unicast; one side without 4-octet AS → 2-octet session', () => {
    const n = negotiate(caps({ multiprotocol: ['ipv4', 'ipv6'], fourOctetAs: 1 }), caps({}));
    assert.deepEqual(n.families, ['ipv4']);
    assert.equal(n.codec.fourOctetAs, false);
    assert.equal(n.peerGracefulRestart, undefined);
  });
});

describe('NOTIFICATION, KEEPALIVE, ROUTE-REFRESH', () => {
  test('NOTIFICATION round trip, and from a BgpError', () => {
    const frame = msg(3, 6, 2, [...Buffer.from('maintenance')]);
    assert.deepEqual(decodeMessage(frame, opts), { type: 3, code: 6, subcode: 2, data: Buffer.from('maintenance') });
    assert.deepEqual(encodeNotification({ code: 6, subcode: 2, data: Buffer.from('maintenance') }), frame);
    const err = new BgpError(2, 6, 'bad hold');
    assert.deepEqual(encodeNotification(err.toNotification()), msg(3, 2, 6));
  });
  test('KEEPALIVE is a bare header', () => {
    assert.deepEqual(encodeKeepalive(), msg(4));
    assert.deepEqual(decodeMessage(msg(4), opts), { type: 4 });
  });
  test('ROUTE-REFRESH round trip (RFC 2918 layout, RFC 7313 subtype)', () => {
    const frame = msg(5, u16(2), 1, 1); // IPv6, BoRR, unicast
    assert.deepEqual(decodeMessage(frame, opts), { type: 5, family: 'ipv6', subtype: 1 });
    assert.deepEqual(encodeRouteRefresh('ipv6', 1), frame);
  });
  test('ROUTE-REFRESH for an unknown AFI/SAFI is ignored; bad length is error 7/1', () => {
    assert.equal(decodeMessage(msg(5, u16(25), 0, 1), opts), undefined);
    assert.throws(() => decodeMessage(msg(5, u16(1), 0, 1, 0), opts), (e) => e instanceof BgpError && e.code === 7 && e.subcode === 1);
  });
});
