import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpSpeaker } from './speaker.js';
import type { BestPathChange } from './types.js';
import { freePort, next } from './loopback.test-util.js';


async function pair(opts: { asnB?: number; maxPrefixes?: number } = {}) {
  const [pa, pb] = [await freePort('127.0.0.1'), await freePort('127.0.0.2')];
  const asnB = opts.asnB ?? 65000;
  const a = new BgpSpeaker({ asn: 65000, routerId: '10.255.0.1', listen: { host: '127.0.0.1', port: pa }, holdTimeSec: 9, connectRetrySec: 1 });
  const b = new BgpSpeaker({ asn: asnB, routerId: '10.255.0.2', listen: { host: '127.0.0.2', port: pb }, holdTimeSec: 9, connectRetrySec: 1 });
  a.addPeer({ address: '127.0.0.2', asn: asnB, port: pb, localAddress: '127.0.0.1', nextHop: { ipv6: '2001:db8::a' }, maxPrefixes: opts.maxPrefixes });
  b.addPeer({ address: '127.0.0.1', asn: 65000, port: pa, localAddress: '127.0.0.2', nextHop: { ipv6: '2001:db8::b' } });
  const up = Promise.all([
    next(a, 'peerState', (e) => e.state === 'Established'),
    next(b, 'peerState', (e) => e.state === 'Established'),
  ]);
  await a.start();
  await b.start();
  await up;
  return { a, b };
}

const changesFor = (prefix: string) => (c: BestPathChange[]) => c.some((x) => x.prefix === prefix);

describe('BgpSpeaker over loopback', () => {
  test('two speakers establish, exchange, withdraw and stop with Cease', async () => {
    const { a, b } = await pair();
    try {
      // both dial at once: the collision (RFC 4271 §6.8) leaves one session, established once
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(a.peerStats('127.0.0.2')!.state, 'Established');
      assert.equal(a.peerStats('127.0.0.2')!.establishedCount, 1);
      assert.equal(b.peerStats('127.0.0.1')!.establishedCount, 1);
      const got = next(b, 'bestPathChanges', changesFor('10.1.0.0/24'));
      a.announce(['10.1.0.0/24', '10.2.0.0/16'], { med: 5, communities: ['65000:7'] });
      const [changes] = await got;
      const route = changes.find((c) => c.prefix === '10.1.0.0/24')!.best!;
      assert.equal(route.peer, '127.0.0.1');
      assert.equal(route.nextHop, '127.0.0.1', 'next hop defaults to our session address');
      assert.equal(route.attrs.localPref, 100);
      assert.equal(route.attrs.med, 5);
      assert.deepEqual(route.attrs.communities, [65000 * 65536 + 7]);
      assert.equal(route.ibgp, true);

      const v6 = next(b, 'bestPathChanges', changesFor('2001:db8:1::/48'));
      a.announce('2001:db8:1::/48');
      const [c6] = await v6;
      assert.equal(c6[0]!.best!.nextHop, '2001:db8::a', 'IPv6 over MP-BGP with the configured next hop');

      const gone = next(b, 'bestPathChanges', changesFor('10.1.0.0/24'));
      a.withdraw('10.1.0.0/24');
      const [w] = await gone;
      assert.equal(w.find((c) => c.prefix === '10.1.0.0/24')!.best, null);
      assert.equal(b.routeCount('ipv4'), 1);
      assert.equal(a.peerStats('127.0.0.2')!.prefixesAdvertised.ipv4, 1);
      assert.equal(b.peerStats('127.0.0.1')!.prefixesAccepted.ipv4, 1);

      const down = next(b, 'peerState', (e) => e.state === 'Idle');
      const note = next(b, 'notification', (n) => n.direction === 'received');
      await a.stop();
      const [n] = await note;
      assert.equal(n.code, 6);
      assert.equal(n.subcode, 2);
      const [d] = await down;
      assert.match(d.info ?? '', /Cease \(Administrative Shutdown\)/);
      assert.equal(b.routeCount('ipv4'), 0, 'routes of a peer that ceased are flushed');
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  test('eBGP: AS_PATH is prepended and a wrong peer AS is refused with Bad Peer AS', async () => {
    const { a, b } = await pair({ asnB: 4200000001 });
    try {
      const got = next(b, 'bestPathChanges', changesFor('10.9.0.0/24'));
      a.announce('10.9.0.0/24');
      const [c] = await got;
      assert.deepEqual(c[0]!.best!.attrs.asPath, [{ type: 2, asns: [65000] }]);
      assert.equal(c[0]!.best!.attrs.localPref, undefined);
      assert.equal(c[0]!.best!.ibgp, false);
    } finally {
      await a.stop();
      await b.stop();
    }
    const [pa, pb] = [await freePort('127.0.0.1'), await freePort('127.0.0.2')];
    const x = new BgpSpeaker({ asn: 65000, routerId: '10.255.0.1', listen: { host: '127.0.0.1', port: pa } });
    const y = new BgpSpeaker({ asn: 65001, routerId: '10.255.0.2', listen: { host: '127.0.0.2', port: pb }, connectRetrySec: 30 });
    x.addPeer({ address: '127.0.0.2', asn: 65099, port: pb, passive: true });
    y.addPeer({ address: '127.0.0.1', asn: 65000, port: pa, localAddress: '127.0.0.2' });
    try {
      const refused = next(y, 'notification', (n) => n.direction === 'received');
      await x.start();
      await y.start();
      const [n] = await refused;
      assert.deepEqual([n.code, n.subcode], [2, 2]);
    } finally {
      await x.stop();
      await y.stop();
    }
  });

  test('max-prefix: exceeding the limit tears the session down with Cease 1', async () => {
    const { a, b } = await pair({ maxPrefixes: 2 });
    try {
      const note = next(a, 'notification', (n) => n.direction === 'sent');
      b.announce(['10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24']);
      const [n] = await note;
      assert.deepEqual([n.code, n.subcode], [6, 1]);
      assert.equal(a.routeCount('ipv4'), 0);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  test('removePeer sends Cease 3 (Peer De-configured) and forgets the peer', async () => {
    const { a, b } = await pair();
    try {
      const note = next(b, 'notification', (n) => n.direction === 'received');
      assert.equal(a.removePeer('127.0.0.2'), true);
      const [n] = await note;
      assert.deepEqual([n.code, n.subcode], [6, 3]);
      assert.equal(a.peerStats('127.0.0.2'), undefined);
      assert.equal(a.removePeer('127.0.0.2'), false);
      assert.throws(() => a.addPeer({ address: 'not-an-ip', asn: 1 }), /invalid peer address/);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  test('unknown peers are refused with Cease 5', async () => {
    const pa = await freePort('127.0.0.1');
    const a = new BgpSpeaker({ asn: 65000, routerId: '10.255.0.1', listen: { host: '127.0.0.1', port: pa } });
    await a.start();
    try {
      const { connect } = await import('node:net');
      const bytes = await new Promise<Buffer>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: pa, localAddress: '127.0.0.3' });
        const chunks: Buffer[] = [];
        s.on('data', (d) => chunks.push(d));
        s.on('close', () => resolve(Buffer.concat(chunks)));
        s.on('error', reject);
      });
      assert.equal(bytes[18], 3, 'a NOTIFICATION');
      assert.deepEqual([bytes[19], bytes[20]], [6, 5]);
    } finally {
      await a.stop();
    }
  });
});
