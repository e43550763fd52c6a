// Inbound soft reset over loopback: routes an import policy refused are accepted after the policy
// changes and refreshIn() asks the peer to resend; routes it now refuses are withdrawn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpSpeaker } from './speaker.js';
import type { BestPathChange } from './types.js';
import { freePort, next } from './loopback.test-util.js';

const bestFor = (prefix: string, present: boolean) => (c: BestPathChange[]) =>
  c.some((x) => x.prefix === prefix && (x.best !== null) === present);

test('refreshIn re-applies the import policy to the peer\u2019s routes (RFC 2918)', async () => {
  const [pa, pb] = [await freePort('127.0.0.1'), await freePort('127.0.0.2')];
  const allowed = new Set<string>();
  const opts = { holdTimeSec: 9, connectRetrySec: 1 };
  const a = new BgpSpeaker({ asn: 65000, routerId: '10.255.0.1', listen: { host: '127.0.0.1', port: pa }, ...opts });
  const b = new BgpSpeaker({ asn: 65000, routerId: '10.255.0.2', listen: { host: '127.0.0.2', port: pb }, ...opts });
  a.addPeer({ address: '127.0.0.2', asn: 65000, port: pb, localAddress: '127.0.0.1' });
  b.addPeer({
    address: '127.0.0.1',
    asn: 65000,
    port: pa,
    localAddress: '127.0.0.2',
    importPolicy: (r) => (allowed.has(r.prefix) ? r.attrs : null),
  });
  try {
    const eor = next(b, 'endOfRib', (e) => e.family === 'ipv4');
    a.announce(['10.9.0.0/24', '10.9.1.0/24'], { nextHop: '127.0.0.1' });
    await a.start();
    await b.start();
    await eor;
    assert.equal(b.routeCount('ipv4'), 0, 'both refused by the policy');
    assert.equal(b.refreshIn('127.0.0.9'), false, 'unknown peer');

    allowed.add('10.9.0.0/24');
    const accepted = next(b, 'bestPathChanges', bestFor('10.9.0.0/24', true));
    assert.equal(b.refreshIn('127.0.0.1'), true);
    await accepted;
    assert.deepEqual(b.routes('ipv4').map((r) => r.prefix), ['10.9.0.0/24']);

    allowed.clear();
    const withdrawn = next(b, 'bestPathChanges', bestFor('10.9.0.0/24', false));
    b.refreshIn('127.0.0.1', 'ipv4');
    await withdrawn;
    assert.equal(b.routeCount('ipv4'), 0);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
