/**
 * ts-bgp against a real GoBGP across two namespaces. GoBGP idles 30 s after a session reset, so
 * each check that ends a session uses its own ts-bgp instance on its own address:
 *   .1  iBGP: routes both ways (IPv4, IPv6 over MP-BGP), withdrawals, graceful restart, SIGTERM → Cease
 *   .11 eBGP with 4-octet AS numbers, then GoBGP shuts the neighbour down → ts-bgp hears Cease
 *   .21 iBGP, ts-bgp frozen → GoBGP's hold timer expires
 *   .31 iBGP with hold time 3 while .1 has 9: gobgpd frozen for ~5 s → ts-bgp's hold timer expires
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { netnsUnsupportedReason, waitFor } from '@tsnet/testkit';
import { Gobgp, gobgpConfig } from './bgp-gobgp.js';
import { BgpLab, type TsBgp } from './bgp-lab.js';

const skip = netnsUnsupportedReason();
const AS = 64511;

describe('ts-bgp ⇄ GoBGP', { skip, timeout: 150_000 }, () => {
  test('sessions, routes, withdrawals, 4-octet eBGP, hold timers, graceful restart, Cease', async () => {
    const lab = await BgpLab.create('gg');
    const { a, b } = lab;
    const running: TsBgp[] = [];
    try {
      const gobgp = await Gobgp.start(
        lab,
        gobgpConfig({
          asn: AS,
          routerId: b.ip,
          listen: [b.ip, b.ip2, b.ip3, b.ip4],
          neighbors: [
            { address: a.ip, peerAs: AS, holdTimeSec: 9, localAddress: b.ip },
            { address: a.ip2, peerAs: 4200000001, localAs: 4200000002, localAddress: b.ip2 },
            { address: a.ip3, peerAs: AS, holdTimeSec: 3, localAddress: b.ip3 },
            { address: a.ip4, peerAs: AS, holdTimeSec: 3, localAddress: b.ip4 },
          ],
        }),
      );
      await gobgp.cli('global', 'rib', 'add', '10.30.0.0/24', 'nexthop', b.ip);
      await gobgp.cli('global', 'rib', 'add', '10.30.1.0/24', 'nexthop', b.ip);
      await gobgp.cli('global', 'rib', 'add', '-a', 'ipv6', '2001:db8:30::/48', 'nexthop', b.ip6);
      const tsArgs = (ip: string, peer: string, extra: string[]) => [
        '--router-id', ip, '--listen', `${ip}:179`, '--peer', peer, '--connect-retry', '1', ...extra,
      ];
      const start = (args: string[], label: string): TsBgp => {
        const t = lab.tsBgp(args, label);
        running.push(t);
        return t;
      };
      const mainArgs = (announce: string[], extra: string[] = []) =>
        tsArgs(a.ip, b.ip, ['--as', String(AS), '--hold-time', '9', '--log-routes', '--next-hop', a.ip, '--next-hop', a.ip6, '--announce', ...announce, ...extra]);
      let ts1 = start(mainArgs(['10.10.0.0/24', '10.10.1.0/24', '2001:db8:10::/48']), 'ts1');
      const ts2 = start(tsArgs(a.ip2, `${b.ip2},as=4200000002`, ['--as', '4200000001', '--announce', '10.40.0.0/24', '--log-routes']), 'ts2');
      const ts3 = start(tsArgs(a.ip3, b.ip3, ['--as', String(AS), '--hold-time', '3']), 'ts3');
      const ts4 = start(tsArgs(a.ip4, b.ip4, ['--as', String(AS), '--hold-time', '3']), 'ts4');
      await Promise.all([ts1.established(b.ip, 30_000), ts2.established(b.ip2, 30_000), ts3.established(b.ip3, 30_000), ts4.established(b.ip4, 30_000)]);

      // iBGP: GoBGP's table arrives with End-of-RIB per family; ours reaches GoBGP
      assert.equal((await ts1.waitEvent('IPv4 End-of-RIB', (e) => e.event === 'eor' && e.afi === 'ipv4')).prefixes, 2);
      assert.equal((await ts1.waitEvent('IPv6 End-of-RIB', (e) => e.event === 'eor' && e.afi === 'ipv6')).prefixes, 1);
      await gobgp.waitRoutes(a.ip, (r) => r.includes('10.10.0.0/24') && r.includes('10.10.1.0/24'), 'learned our IPv4 routes');
      await gobgp.waitRoutes(a.ip, (r) => r.includes('2001:db8:10::/48'), 'learned our IPv6 route', 'ipv6');

      // withdrawals both ways
      ts1.command('withdraw 10.10.1.0/24');
      await gobgp.waitRoutes(a.ip, (r) => !r.includes('10.10.1.0/24'), 'saw our withdrawal');
      await ts1.waitEvent('GoBGP route', (e) => e.event === 'route' && e.prefix === '10.30.1.0/24' && e.peer === b.ip);
      await gobgp.cli('global', 'rib', 'del', '10.30.1.0/24');
      await ts1.waitEvent('GoBGP withdrawal', (e) => e.event === 'route' && e.prefix === '10.30.1.0/24' && e.withdrawn === true);

      // eBGP with 4-octet AS numbers, both directions
      const r = await ts2.waitEvent('GoBGP route over eBGP', (e) => e.event === 'route' && e.prefix === '10.30.0.0/24');
      assert.deepEqual(r.asPath, [4200000002]);
      const learned = await waitFor('GoBGP to learn the eBGP route', async () =>
        (await gobgp.routesFrom(a.ip2)).find((x) => x.prefix === '10.40.0.0/24'));
      assert.deepEqual(learned.asPath, [4200000001]);

      // graceful restart: kill -9 ts1; GoBGP keeps 10.10.0.0/24 as stale; the restarted ts-bgp
      // (R bit) refreshes it and its End-of-RIB sweeps the IPv6 route it no longer announces
      process.kill(ts1.pid, 'SIGKILL');
      await ts1.proc.exited;
      await waitFor('GoBGP to mark our route stale', async () =>
        (await gobgp.routesFrom(a.ip)).find((x) => x.prefix === '10.10.0.0/24' && x.stale), { timeoutMs: 10_000 });
      ts1 = start(mainArgs(['10.10.0.0/24', '10.10.2.0/24'], ['--restarting']), 'ts1-restarted');
      let flapped = false;
      await waitFor('GoBGP to take the refreshed routes', async () => {
        const routes = await gobgp.routesFrom(a.ip);
        const kept = routes.find((x) => x.prefix === '10.10.0.0/24');
        if (!kept) flapped = true;
        return (kept && !kept.stale && routes.some((x) => x.prefix === '10.10.2.0/24')) || undefined;
      }, { timeoutMs: 60_000, intervalMs: 100 });
      assert.equal(flapped, false, 'the route of the restarting speaker stayed in GoBGP');
      await gobgp.waitRoutes(a.ip, (x) => !x.includes('2001:db8:10::/48'), 'swept the stale IPv6 route', 'ipv6');

      // ts-bgp frozen → GoBGP's hold timer expires
      process.kill(ts3.pid, 'SIGSTOP');
      try {
        await waitFor('GoBGP hold timer expiry on .21', async () => (await gobgp.state(a.ip3)) !== 'established' || undefined, { timeoutMs: 8000, intervalMs: 200 });
        assert.match(await gobgp.log(), /hold timer expired/i);
      } finally {
        process.kill(ts3.pid, 'SIGCONT');
      }

      // gobgpd frozen for ~5 s → ts4 (hold 3) sends NOTIFICATION 4; ts1 (hold 9) survives
      const from4 = ts4.events.length;
      process.kill(gobgp.pid, 'SIGSTOP');
      try {
        const n = await ts4.waitEvent('hold timer NOTIFICATION', (e) => e.event === 'notification' && e.code === 4, 8000, from4);
        assert.equal(n.direction, 'sent');
      } finally {
        process.kill(gobgp.pid, 'SIGCONT');
      }

      // GoBGP shuts a neighbour down → ts-bgp hears Cease / Administrative Shutdown
      await gobgp.cli('neighbor', a.ip2, 'shutdown');
      const cease = await ts2.waitEvent('Cease from GoBGP', (e) => e.event === 'notification' && e.direction === 'received');
      assert.deepEqual([cease.code, cease.subcode], [6, 2]);

      // SIGTERM ts1 → Cease to GoBGP, final stats line, exit 0
      await ts1.established(b.ip, 20_000);
      assert.equal(await gobgp.state(a.ip), 'established');
      ts1.proc.signal('SIGTERM');
      assert.equal(await ts1.proc.exited, 0);
      assert.equal(ts1.events.at(-1)!.event, 'stats');
      const down = await waitFor('GoBGP to log our session going down', async () =>
        (await gobgp.log()).split('\n').filter((l) => l.includes('Peer Down') && l.includes(`Key=${a.ip} `)).pop());
      assert.match(down, /notification-received code 6\(cease\) subcode 2\(administrative shutdown\)/);
    } finally {
      await lab.destroy();
    }
  });
});
