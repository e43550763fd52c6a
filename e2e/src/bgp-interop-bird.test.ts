/**
 * ts-bgp against a real BIRD 2 across two namespaces: iBGP IPv4 + IPv6 (MP-BGP), withdrawals in
 * both directions, a 4-octet-AS eBGP session, hold timer expiry both ways (SIGSTOP), Cease on
 * shutdown both ways, and graceful restart (kill -9 ts-bgp: BIRD keeps the routes stale, the new
 * ts-bgp refreshes them, the route that is gone is swept at End-of-RIB).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { netnsUnsupportedReason, sleep, waitFor } from '@tsnet/testkit';
import { Bird, birdConfig } from './bgp-bird.js';
import { BgpLab, type TsBgp } from './bgp-lab.js';

const skip = netnsUnsupportedReason();
const AS = 64511;

describe('ts-bgp ⇄ BIRD 2', { skip, timeout: 150_000 }, () => {
  test('iBGP: routes both ways, IPv6, withdrawals, hold timer, graceful restart, Cease', async () => {
    const lab = await BgpLab.create('bb');
    const { a, b } = lab;
    let ts: TsBgp | undefined;
    try {
      const bird = await Bird.start(
        lab,
        birdConfig({
          routerId: b.ip,
          sessions: [{ name: 'ts', localIp: b.ip, localAs: AS, peerIp: a.ip, peerAs: AS, holdTimeSec: 3, ipv6NextHop: b.ip6 }],
          static4: ['10.20.0.0/24', '10.20.1.0/24'],
          static6: ['2001:db8:20::/48'],
        }),
      );
      const args = (announce: string[], extra: string[] = []) => [
        '--as', String(AS), '--router-id', a.ip, '--listen', `${a.ip}:179`,
        '--peer', b.ip, '--hold-time', '3', '--connect-retry', '1', '--restart-time', '30',
        '--next-hop', a.ip, '--next-hop', a.ip6, '--announce', ...announce, ...extra,
      ];
      ts = lab.tsBgp(args(['10.10.0.0/24', '10.10.1.0/24', '2001:db8:10::/48']));

      // session up; BIRD's table arrives, ended by End-of-RIB per family
      await ts.established(b.ip);
      const eor4 = await ts.waitEvent('IPv4 End-of-RIB', (e) => e.event === 'eor' && e.afi === 'ipv4');
      assert.deepEqual(eor4, { event: 'eor', peer: b.ip, afi: 'ipv4', prefixes: 2 });
      const eor6 = await ts.waitEvent('IPv6 End-of-RIB', (e) => e.event === 'eor' && e.afi === 'ipv6');
      assert.equal(eor6.prefixes, 1);

      // what we announced is in BIRD, with our next hops (IPv6 over MP-BGP on the IPv4 session)
      await bird.waitRoutes('ts', (r) => r.includes('10.10.0.0/24') && r.includes('10.10.1.0/24'), 'learned our IPv4 routes');
      await bird.waitRoutes('ts', (r) => r.includes('2001:db8:10::/48'), 'learned our IPv6 route', 'ipv6');
      const detail = await bird.birdc('show route 10.10.0.0/24 all');
      assert.match(detail, new RegExp(`BGP.next_hop: ${a.ip.replace(/\./g, '\\.')}`));
      assert.match(detail, /BGP.local_pref: 100/);
      const detail6 = await bird.birdc('show route 2001:db8:10::/48 all');
      assert.match(detail6, /BGP.next_hop: 2001:db8:64::1/);

      // withdrawal ts-bgp → BIRD
      ts.command('withdraw 10.10.1.0/24');
      await bird.waitRoutes('ts', (r) => r.includes('10.10.0.0/24') && !r.includes('10.10.1.0/24'), 'saw our withdrawal');

      // route refresh (RFC 2918): BIRD asks again, ts-bgp answers from its Adj-RIB-Out
      const received = async () => Number(/Import updates:\s+(\d+)/.exec(await bird.birdc('show protocols all ts'))?.[1] ?? 0);
      const before = await received();
      await bird.birdc('reload in ts');
      await waitFor('BIRD to get our routes again after reload in', async () => (await received()) > before || undefined, { timeoutMs: 5000 });

      // withdrawal BIRD → ts-bgp (disable the static protocol)
      const mark = ts.events.length;
      ts.command('stats');
      await bird.birdc('disable s6');
      await waitFor('ts-bgp to drop the IPv6 route', async () => {
        ts!.command('stats');
        await sleep(100);
        const s = ts!.events.slice(mark).filter((e) => e.event === 'stats').pop() as { routes?: { ipv6: number } } | undefined;
        return s?.routes?.ipv6 === 1 || undefined; // only our own IPv6 route is left
      });
      await bird.birdc('enable s6');

      // hold timer: BIRD frozen → ts-bgp sends NOTIFICATION 4
      let from = ts.events.length;
      process.kill(bird.pid, 'SIGSTOP');
      try {
        const n = await ts.waitEvent('hold timer NOTIFICATION', (e) => e.event === 'notification' && e.code === 4, 8000, from);
        assert.equal(n.direction, 'sent');
      } finally {
        process.kill(bird.pid, 'SIGCONT');
      }
      await ts.established(b.ip, 20_000, from);

      // hold timer: ts-bgp frozen → BIRD expires it and tells us
      from = ts.events.length;
      process.kill(ts.pid, 'SIGSTOP');
      try {
        await waitFor('BIRD to notice the hold timer', async () => /Hold timer expired/i.test(await bird.lastError('ts')) || undefined, { timeoutMs: 8000, intervalMs: 200 });
      } finally {
        process.kill(ts.pid, 'SIGCONT');
      }
      await ts.established(b.ip, 20_000, from);
      await bird.waitRoutes('ts', (r) => r.includes('10.10.0.0/24'), 'relearned our routes');

      // graceful restart: kill -9, BIRD keeps our routes stale; the new ts-bgp (R bit) refreshes
      // 10.10.0.0/24, adds 10.10.2.0/24, and 10.10.0.0/24 never disappears; the dropped IPv6
      // route is swept after End-of-RIB
      process.kill(ts.pid, 'SIGKILL');
      await ts.proc.exited;
      await waitFor('BIRD to enter graceful restart', async () => {
        const out = await bird.birdc('show protocols all ts');
        return /Neighbor graceful restart active/.test(out) || undefined;
      }, { timeoutMs: 5000, intervalMs: 100 });
      let flapped = false;
      const watching = (async () => {
        for (let i = 0; i < 200 && !flapped; i++) {
          const r = await bird.routesFrom('ts');
          if (!r.includes('10.10.0.0/24')) flapped = true;
          if (r.includes('10.10.2.0/24')) return;
          await sleep(50);
        }
      })();
      ts = lab.tsBgp(args(['10.10.0.0/24', '10.10.2.0/24'], ['--restarting']), 'ts-bgp-restarted');
      await ts.established(b.ip);
      await watching;
      assert.equal(flapped, false, 'the route of the restarting speaker stayed in BIRD');
      await bird.waitRoutes('ts', (r) => r.includes('10.10.2.0/24'), 'learned the new route');
      await bird.waitRoutes('ts', (r) => !r.includes('2001:db8:10::/48'), 'swept the stale IPv6 route', 'ipv6');

      // Cease: BIRD disabled → ts-bgp hears Administrative Shutdown
      from = ts.events.length;
      await bird.birdc('disable ts');
      const cease = await ts.waitEvent('Cease from BIRD', (e) => e.event === 'notification' && e.direction === 'received', 8000, from);
      assert.deepEqual([cease.code, cease.subcode], [6, 2]);
      await bird.birdc('enable ts');
      await ts.established(b.ip, 20_000, from);

      // SIGTERM ts-bgp → Cease to BIRD, final stats line, exit 0
      ts.proc.signal('SIGTERM');
      assert.equal(await ts.proc.exited, 0);
      const stats = ts.events.at(-1)!;
      assert.equal(stats.event, 'stats');
      await waitFor('BIRD to report our Cease', async () => /Administrative shutdown/i.test(await bird.lastError('ts')) || undefined, { timeoutMs: 5000 });
      await bird.waitRoutes('ts', (r) => r.length === 0, 'flushed our routes after Cease');
    } finally {
      await lab.destroy();
    }
  });

  test('eBGP with 4-octet AS numbers', async () => {
    const lab = await BgpLab.create('be');
    const { a, b } = lab;
    try {
      const bird = await Bird.start(
        lab,
        birdConfig({
          routerId: b.ip,
          sessions: [{ name: 'ext', localIp: b.ip2, localAs: 4200000002, peerIp: a.ip2, peerAs: 4200000001, ipv6: false }],
          static4: ['10.50.0.0/24'],
        }),
      );
      const ts = lab.tsBgp([
        '--as', '4200000001', '--router-id', a.ip2, '--listen', `${a.ip2}:179`,
        '--peer', `${b.ip2},as=4200000002`, '--announce', '10.40.0.0/24', '--log-routes',
      ]);
      await ts.established(b.ip2);
      const route = await ts.waitEvent('BIRD route', (e) => e.event === 'route' && e.prefix === '10.50.0.0/24');
      assert.deepEqual(route.asPath, [4200000002]);
      assert.equal(route.nextHop, b.ip2);
      await bird.waitRoutes('ext', (r) => r.includes('10.40.0.0/24'), 'learned the eBGP route');
      const detail = await bird.birdc('show route 10.40.0.0/24 all');
      assert.match(detail, /BGP.as_path: 4200000001\b/);
      assert.match(detail, /Session:\s+external AS4|BGP.next_hop: 198\.51\.100\.11/);
    } finally {
      await lab.destroy();
    }
  });
});
