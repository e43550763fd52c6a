import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttrInterner, Path, type Source } from '../rib/path.js';
import { AdjRibOut } from './adj-out.js';
import { formatKey } from './ingest.js';

const src = (over: Partial<Source>): Source => ({
  id: 1, address: '10.0.0.1', addressOrder: 1, asn: 65000, local: false, ibgp: false, routeReflectorClient: false, routerId: 1, ...over,
});

test('Adj-RIB-Out: announces, withdraws, and does not resend a route whose new path carries equal attributes', () => {
  const from = src({ address: '10.0.0.1', asn: 65001 });
  const to = src({ id: 2, address: '10.0.0.2', ibgp: true });
  const out = new AdjRibOut({ source: to, nextHopSelf: false, selfNextHop: { ipv4: '10.0.0.100' } }, { asn: 65000, routerId: '10.0.0.100', clusterId: '10.0.0.100' }, '10.0.0.2', undefined, formatKey);
  const interner = new AttrInterner();
  const attrs = { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '10.0.0.1' } as const;
  const first = new Path(from, interner.make({ ...attrs, asPath: [{ type: 2, asns: [65001] }] }));
  const k1 = 0x0a010000 * 64 + 16;
  const k2 = 0x0a020000 * 64 + 16;
  const b1 = out.diff('ipv4', [k1, k2], [first, first]);
  assert.deepEqual([...b1.announce.values()], [[k1, k2]]);
  assert.equal([...b1.announce.keys()][0]!.attrs.localPref, 100);
  // the same attributes again on a new Path (the peer restarted): nothing to send
  const again = new Path(from, interner.make({ ...attrs, asPath: [{ type: 2, asns: [65001] }] }));
  const b2 = out.diff('ipv4', [k1], [again]);
  assert.equal(b2.announce.size, 0);
  assert.deepEqual(b2.withdraw, []);
  // a route the peer may not get (its own) or that is gone is withdrawn
  const b3 = out.diff('ipv4', [k1, k2], [new Path(to, interner.make({ ...attrs, asPath: [] })), null]);
  assert.deepEqual(b3.withdraw, [k1, k2]);
  assert.equal(out.count('ipv4'), 0);
});
