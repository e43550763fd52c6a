/**
 * Property tests: whatever bytes arrive, FrameReader + decodeMessage return a value or a BgpError
 * and never throw anything else. Fixed seed by default; TSBGP_FUZZ_RUNS / TSBGP_FUZZ_SEED override.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameReader } from './frame.js';
import { decodeMessage } from './decode.js';
import { BgpError } from './errors.js';
import { encodeAttributes } from './attributes.js';
import { forEachPrefix } from './prefix.js';
import { buildOpen, encodeKeepalive, encodeNotification, encodeOpen, encodeRouteRefresh } from './messages.js';
import { encodeEndOfRib, encodeUpdates, encodeWithdrawals } from './update-encode.js';
import { parsePrefix } from './prefix.js';
import { MessageType, type Family, type SessionCodecOptions } from '../types.js';
import { MARKER, attr, bytes, ip4, pfx, u16, u32, update } from './testing.js';

const numRuns = Number(process.env.TSBGP_FUZZ_RUNS ?? 2000);
const seed = Number(process.env.TSBGP_FUZZ_SEED ?? 42);
const params = { numRuns, seed };

const SESSIONS: SessionCodecOptions[] = [
  { fourOctetAs: true },
  { fourOctetAs: false },
  { fourOctetAs: true, addPathReceive: new Set<Family>(['ipv4', 'ipv6']) },
];

/** Feed `chunks`, decode every frame; fail on anything thrown that is not a BgpError. */
function parseAll(chunks: Buffer[], opts: SessionCodecOptions): number {
  const reader = new FrameReader();
  let decoded = 0;
  for (const c of chunks) {
    const err = reader.feed(c, (frame) => {
      try {
        const m = decodeMessage(frame, opts);
        decoded++;
        if (m?.type === MessageType.UPDATE) {
          if (m.action !== 'session-reset') {
            for (const v of [m.withdrawn, m.nlri, m.mpReach?.nlri, m.mpUnreach?.withdrawn]) if (v) forEachPrefix(v, () => undefined);
          }
          if (m.action === 'none' && m.attributes) encodeAttributes(m.attributes, opts);
        }
      } catch (e) {
        if (!(e instanceof BgpError)) throw e;
        assert.ok(e.code >= 1 && e.code <= 7);
      }
    });
    if (err) {
      assert.ok(err instanceof BgpError);
      assert.equal(err.code, 1);
      break;
    }
  }
  return decoded;
}

const split = (buf: Buffer, cuts: number[]): Buffer[] => {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(buf.subarray(last, p));
    last = p;
  }
  out.push(buf.subarray(last));
  return out;
};

const ATTRS = { origin: 0, asPath: [{ type: 2, asns: [65001, 4200000001] }], nextHop: '192.0.2.1', med: 5, communities: [1], largeCommunities: [[1, 2, 3]] as Array<[number, number, number]> };
const VALID: Buffer[] = [
  encodeOpen(buildOpen({
    asn: 4200000001, holdTime: 90, bgpId: '10.0.0.1',
    capabilities: {
      multiprotocol: ['ipv4', 'ipv6'], routeRefresh: true, enhancedRouteRefresh: true,
      gracefulRestart: { restartState: true, restartTimeSec: 120, families: [{ family: 'ipv4', forwardingState: true }] },
      addPath: [{ family: 'ipv4', send: true, receive: true }],
    },
  })),
  encodeKeepalive(),
  encodeNotification({ code: 6, subcode: 2, data: Buffer.from('shutdown') }),
  encodeRouteRefresh('ipv4'),
  encodeEndOfRib('ipv4'),
  encodeEndOfRib('ipv6'),
  ...encodeUpdates(ATTRS, ['10.0.0.0/8', '192.168.1.0/24', '172.16.0.0/12'].map(parsePrefix), { fourOctetAs: true }),
  ...encodeUpdates(ATTRS, ['10.0.0.0/8', '192.168.1.0/24'].map(parsePrefix), { fourOctetAs: false }),
  ...encodeUpdates({ ...ATTRS, nextHopV6: '2001:db8::1', nextHopLinkLocal: 'fe80::1' }, ['2001:db8::/32', 'fd00::/8'].map(parsePrefix), { fourOctetAs: true }),
  ...encodeWithdrawals(['2001:db8::/32', '10.1.0.0/16'].map(parsePrefix), { fourOctetAs: true }),
  update([], [attr(0x40, 1, 0), attr(0x40, 2, 2, 1, u32(1)), attr(0x40, 3, ip4('1.1.1.1')), attr(0xc0, 99, 1, 2)], [u32(1), pfx(ip4('10.0.0.0'), 8)]),
];

describe('codec fuzzing (fast-check)', () => {
  test('random bytes in random chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 5 }), fc.nat(2), (data, cuts, s) => {
        parseAll(split(Buffer.from(data), cuts), SESSIONS[s]!);
      }),
      params,
    );
  });

  test('random bodies behind a valid header of every type', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 300 }), fc.nat(2), (type, body, s) => {
        const frame = bytes(MARKER, u16(19 + body.length), type, body);
        parseAll([frame], SESSIONS[s]!);
      }),
      params,
    );
  });

  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('u16' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 0xffff }) }),
    fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.nat(255) }),
  );

  test('valid messages with bit flips, truncations and corrupted length fields', () => {
    fc.assert(
      fc.property(fc.nat(VALID.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.nat(2), fc.boolean(), (i, muts, s, fixLength) => {
        let buf = Buffer.from(VALID[i]!);
        for (const m of muts) {
          if (buf.length === 0) break;
          const at = m.at % buf.length;
          if (m.kind === 'flip') buf[at]! ^= 1 << m.bit;
          else if (m.kind === 'truncate') buf = buf.subarray(0, at);
          else if (m.kind === 'byte') buf[at] = m.value;
          else if (at + 1 < buf.length) buf.writeUInt16BE(m.value, at);
        }
        // keep the header consistent half of the time so the body parsers are reached
        if (fixLength && buf.length >= 19) {
          buf.fill(0xff, 0, 16);
          buf.writeUInt16BE(buf.length, 16);
        }
        parseAll([buf, encodeKeepalive()], SESSIONS[s]!);
      }),
      params,
    );
  });

  test('the unmutated corpus decodes cleanly', () => {
    assert.equal(parseAll([Buffer.concat(VALID)], SESSIONS[0]!), VALID.length);
  });
});
