import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpSpeaker } from './speaker.js';
import type { BestPathChange } from './types.js';
import { freePort, next as nextEvent } from './loopback.test-util.js';

// reflection and restart take longer than a plain exchange
const next: typeof nextEvent = (s, ev, pred, ms = 8000) => nextEvent(s, ev, pred, ms);


const has = (prefix: string, best: 'some' | 'none') => (c: BestPathChange[]) =>
  c.some((x) => x.prefix === prefix && (best === 'some' ? x.best !== null : x.best === null));

const portOf = (s: BgpSpeaker): number => (s.options.listen as { port: number }).port;

async function speaker(host: string, routerId: string): Promise<BgpSpeaker> {
  const s = new BgpSpeaker({ asn: 65000, routerId, listen: { host, port: await freePort(host) }, holdTimeSec: 9, connectRetrySec: 1 });
  return s;
}

describe('BgpSpeaker: route reflection and graceful restart over loopback', () => {
  test('a route reflector passes a client route to another client with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    const rr = await speaker('127.0.0.1', '10.255.0.1');
    const c1 = await speaker('127.0.0.2', '10.255.0.2');
    const c2 = await speaker('127.0.0.3', '10.255.0.3');
    const all = [rr, c1, c2];
    try {
      rr.addPeer({ address: '127.0.0.2', asn: 65000, port: portOf(c1), localAddress: '127.0.0.1', routeReflectorClient: true });
      rr.addPeer({ address: '127.0.0.3', asn: 65000, port: portOf(c2), localAddress: '127.0.0.1', routeReflectorClient: true });
      for (const c of [c1, c2]) c.addPeer({ address: '127.0.0.1', asn: 65000, port: portOf(rr), passive: true });
      const got = next(c2, 'bestPathChanges', has('10.60.0.0/24', 'some'));
      for (const s of all) await s.start();
      c1.announce('10.60.0.0/24', { nextHop: '127.0.0.2' });
      const [changes] = await got;
      const best = changes.find((c) => c.prefix === '10.60.0.0/24')!.best!;
      assert.equal(best.peer, '127.0.0.1');
      assert.equal(best.attrs.originatorId, '10.255.0.2');
      assert.deepEqual(best.attrs.clusterList, ['10.255.0.1']);
      assert.equal(best.nextHop, '127.0.0.2', 'reflection keeps the next hop');
      // the originating client does not get its own route back (its ORIGINATOR_ID check would drop it anyway)
      assert.equal(rr.peerStats('127.0.0.2')!.prefixesAdvertised.ipv4, 0);
    } finally {
      for (const s of all) await s.stop();
    }
  });

  test('graceful restart: routes of a peer that dropped without NOTIFICATION stay stale, End-of-RIB sweeps the rest', async () => {
    const a = await speaker('127.0.0.1', '10.255.0.1');
    const b = await speaker('127.0.0.2', '10.255.0.2');
    try {
      a.addPeer({ address: '127.0.0.2', asn: 65000, port: portOf(b), passive: true });
      b.addPeer({ address: '127.0.0.1', asn: 65000, port: portOf(a), localAddress: '127.0.0.2' });
      const learned = next(a, 'bestPathChanges', (c) => has('10.7.0.0/24', 'some')(c) && has('10.8.0.0/24', 'some')(c));
      b.announce(['10.7.0.0/24', '10.8.0.0/24']);
      await a.start();
      await b.start();
      await learned;

      const changes: BestPathChange[] = [];
      a.on('bestPathChanges', (c) => changes.push(...c));
      const down = next(a, 'peerState', (e) => e.previous === 'Established');
      // b "crashes": its connection drops without a NOTIFICATION, it forgets 10.8.0.0/24
      b.withdraw('10.8.0.0/24');
      const internals = b as unknown as { neighbors: Map<string, { peer: { conn?: { destroy(): void } } }> };
      internals.neighbors.get('127.0.0.1')!.peer.conn!.destroy();
      await down;
      assert.equal(a.routeCount('ipv4'), 2, 'routes kept while the peer restarts');
      assert.equal(a.peerStats('127.0.0.2')!.prefixesStale, 2);
      assert.ok(a.routes('ipv4').every((r) => r.best!.stale));

      const eor = next(a, 'endOfRib', (e) => e.family === 'ipv4', 10_000);
      const [e] = await eor;
      assert.equal(e.prefixes, 1, 'End-of-RIB swept the route b no longer has');
      assert.equal(a.peerStats('127.0.0.2')!.prefixesStale, 0);
      assert.deepEqual(a.routes('ipv4').map((r) => [r.prefix, r.best!.stale]), [['10.7.0.0/24', false]]);
      assert.ok(!changes.some((c) => c.prefix === '10.7.0.0/24' && c.best === null), '10.7.0.0/24 never flapped');
      assert.ok(changes.some((c) => c.prefix === '10.8.0.0/24' && c.best === null));
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
