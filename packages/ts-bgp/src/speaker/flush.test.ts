// What a best-path change sends to the other peers when the speaker skips the visit of every
// peer for changes no peer may receive: a prefix a peer holds is still withdrawn when the best
// path becomes one learned over iBGP, and iBGP routes still go to an eBGP peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpSpeaker } from './speaker.js';
import type { BestPathChange } from './types.js';
import { freePort, next } from './loopback.test-util.js';

const bestFor = (prefix: string, present: boolean) => (c: BestPathChange[]) =>
  c.some((x) => x.prefix === prefix && (x.best !== null) === present);

test('iBGP routes are not passed between mesh peers, a prefix they hold is withdrawn, eBGP peers get them', async () => {
  // a - b - c over iBGP (a and c not peered), b - d over eBGP
  const hosts = ['127.0.5.1', '127.0.5.2', '127.0.5.3', '127.0.5.4'];
  const ports = await Promise.all(hosts.map((h) => freePort(h)));
  const opts = { holdTimeSec: 9, connectRetrySec: 1 };
  const speaker = (i: number, asn: number) =>
    new BgpSpeaker({ asn, routerId: `10.255.5.${i + 1}`, listen: { host: hosts[i]!, port: ports[i]! }, ...opts });
  const [a, b, c, d] = [speaker(0, 65000), speaker(1, 65000), speaker(2, 65000), speaker(3, 65001)];
  const peer = (s: BgpSpeaker, from: number, to: number, asn: number) =>
    s.addPeer({ address: hosts[to]!, asn, port: ports[to]!, localAddress: hosts[from]! });
  peer(a, 0, 1, 65000);
  peer(b, 1, 0, 65000);
  peer(b, 1, 2, 65000);
  peer(c, 2, 1, 65000);
  const all = [a, b, c, d];
  try {
    // the eBGP session comes later: first b has iBGP peers only
    const up = Promise.all([next(a, 'endOfRib', () => true), next(c, 'endOfRib', () => true)]);
    await Promise.all(all.map((s) => s.start()));
    await up;

    // b's own route reaches everyone
    const atC = next(c, 'bestPathChanges', bestFor('10.5.0.0/24', true));
    const atA = next(a, 'bestPathChanges', bestFor('10.5.0.0/24', true));
    b.announce('10.5.0.0/24', { nextHop: hosts[1] });
    await Promise.all([atC, atA]);

    // a announces it too; b keeps its own (local) best. Then b stops originating it: b's best is
    // now a's route, learned over iBGP, which c may not get from b: c must lose it
    const atB = next(b, 'bestPathChanges', () => true, 2000).catch(() => undefined);
    a.announce('10.5.0.0/24', { nextHop: hosts[0] });
    await atB;
    const goneAtC = next(c, 'bestPathChanges', bestFor('10.5.0.0/24', false));
    b.withdraw('10.5.0.0/24');
    await goneAtC;
    assert.deepEqual(c.routes('ipv4'), []);
    assert.deepEqual(b.routes('ipv4').map((r) => r.best?.nextHop), [hosts[0]]);

    // a route b learns over iBGP: not to c (mesh peer), but to d (eBGP)
    const dUp = next(d, 'endOfRib', () => true);
    peer(b, 1, 3, 65001);
    peer(d, 3, 1, 65000);
    await dUp;
    const atD = next(d, 'bestPathChanges', bestFor('10.6.0.0/24', true));
    const atB2 = next(b, 'bestPathChanges', bestFor('10.6.0.0/24', true));
    a.announce('10.6.0.0/24', { nextHop: hosts[0] });
    await Promise.all([atD, atB2]);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(c.routes('ipv4'), [], 'not passed from one iBGP peer to another');
    assert.equal(b.peerStats(hosts[2]!)!.prefixesAdvertised.ipv4, 0);
    assert.equal(b.peerStats(hosts[3]!)!.prefixesAdvertised.ipv4, 2, 'both prefixes to the eBGP peer');
  } finally {
    await Promise.all(all.map((s) => s.stop()));
  }
});
