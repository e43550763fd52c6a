/**
 * What a global BGP peer may send (`acceptPrefixes`), end to end: one agent host and a real BIRD
 * as a global peer announcing 10.50.0.0/16, 10.60.0.0/16 and 0.0.0.0/0. Only the accepted
 * prefixes reach the host's routing table; a changed list (written with the Datastore helper, as
 * `tsctl bgp peer add ... --accept` does) takes effect on the running session by route refresh,
 * both ways, without resetting the session. An accepted default route is installed at metric 32
 * (EXTERNAL_ROUTE_METRIC), beside the host's own default route (metric 0), which stays preferred
 * and is still there after the peer's one is withdrawn.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { netnsUnsupportedReason, TrackedProcess, uniquePrefix, waitFor } from '@tsnet/testkit';
import type { PeerStatus } from '@tsnet/node';
import { AgentLab, TEST_BGP_PORT } from './agent-lab.js';

const skip = netnsUnsupportedReason();
const GW = '198.51.100.254';
const AGENT = '198.51.100.1';
const ROUTER = '198.51.100.2';
const ROUTER_AS = 65100;

/** BIRD on ROUTER: eBGP to the agent (AS 64511, the cluster default), announcing `statics`. */
function routerConfig(statics: string[]): string {
  return `router id ${ROUTER};
protocol device {}
protocol static { ipv4;${statics.map((r) => ` route ${r} blackhole;`).join('')} }
protocol bgp agent {
  local ${ROUTER} port ${TEST_BGP_PORT} as ${ROUTER_AS};
  neighbor ${AGENT} port ${TEST_BGP_PORT} as 64511;
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 4;
  ipv4 { import none; export where source = RTS_STATIC; };
}
`;
}

describe('global peer import list (acceptPrefixes)', { skip, timeout: 120_000 }, () => {
  let lab: AgentLab;
  let bird: TrackedProcess | undefined;
  const viaRouter = (prefix: string) => (routes: string[]) => routes.some((l) => l.startsWith(`${prefix} via ${ROUTER} dev eth0`));
  /** The host's IPv4 default routes, `proto tsnet` spelled as the number. */
  const defaults = async (): Promise<string[]> =>
    (await lab.host('h1').ns.ip('-4', 'route', 'show', 'default'))
      .split('\n')
      .map((l) => l.trim().replace(/ proto tsnet\b/, ' proto 80'))
      .filter((l) => l !== '')
      .sort();
  const HOST_DEFAULT = `default via ${GW} dev eth0`;
  const OUR_DEFAULT = `default via ${ROUTER} dev eth0 proto 80 metric 32`;
  const peerStatus = async (): Promise<PeerStatus | undefined> => (await lab.status('h1')).peers.find((p) => p.address === ROUTER);

  before(async () => {
    lab = await AgentLab.create(uniquePrefix('pa'), 'peer-accept');
    await lab.addHost('h1', `${AGENT}/24`, GW);
    const r = await lab.addHost('r', `${ROUTER}/24`, GW);
    await lab.startEtcd(GW);
    await lab.ds.addGlobalPeer({ ip: ROUTER, asn: ROUTER_AS, acceptPrefixes: ['10.50.0.0/16'] });
    await lab.startAgent('h1');
    const conf = join(lab.dir.path, 'bird.conf');
    await writeFile(conf, routerConfig(['10.50.0.0/16', '10.60.0.0/16', '0.0.0.0/0']));
    bird = new TrackedProcess('bird', 'ip', ['netns', 'exec', r.ns.name, 'bird', '-f', '-c', conf, '-s', join(lab.dir.path, 'bird.ctl')], {
      logFile: join(lab.dir.path, 'bird.log'),
    });
  });
  after(async () => {
    await bird?.stop().catch(() => undefined);
    await lab?.destroy();
  });

  test('only the accepted prefix is installed; a wider list takes effect on the same session; narrowing withdraws', async () => {
    const st = await lab.waitEstablished('h1', 1, 30_000);
    assert.equal(st.peers[0]!.type, 'global');
    // all three arrived, one passed the import list
    const first = await waitFor('three prefixes received from BIRD', async () => {
      const p = await peerStatus();
      return p && p.prefixesReceived >= 3 ? p : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    assert.equal(first.prefixesAccepted, 1);
    let routes = await lab.waitRoutes('h1', `10.50.0.0/16 via ${ROUTER}`, viaRouter('10.50.0.0/16'));
    assert.ok(!routes.some((l) => l.startsWith('10.60.0.0/16') || l.startsWith('default')), `only 10.50.0.0/16 from the peer: ${routes.join('; ')}`);
    const all = await lab.host('h1').ns.ip('route', 'show');
    assert.doesNotMatch(all, /10\.60\.0\.0\/16/);
    assert.match(all, new RegExp(`^default via ${GW} dev eth0`, 'm'), 'the host keeps its own default route');

    await lab.ds.addGlobalPeer({ ip: ROUTER, asn: ROUTER_AS, acceptPrefixes: ['0.0.0.0/0'] });
    routes = await lab.waitRoutes('h1', 'the other two prefixes after the list changed', (r) => viaRouter('10.60.0.0/16')(r) && viaRouter('default')(r));
    assert.ok(viaRouter('10.50.0.0/16')(routes), 'the first prefix stays');
    const wide = await waitFor('3 accepted', async () => {
      const p = await peerStatus();
      return p?.prefixesAccepted === 3 ? p : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    assert.equal(wide.since, first.since, 'the session was not reset');
    // the peer's default route sits beside the host's own (metric 0), which stays preferred
    assert.deepEqual(await defaults(), [HOST_DEFAULT, OUR_DEFAULT].sort(), 'both default routes');
    assert.match(await lab.host('h1').ns.ip('route', 'get', '192.0.2.1'), new RegExp(`via ${GW.replaceAll('.', '\\.')} `));

    // back to the first list: the route refresh withdraws what is no longer allowed
    await lab.ds.addGlobalPeer({ ip: ROUTER, asn: ROUTER_AS, acceptPrefixes: ['10.50.0.0/16'] });
    routes = await lab.waitRoutes('h1', 'only 10.50.0.0/16 again', (r) => viaRouter('10.50.0.0/16')(r) && !r.some((l) => l.startsWith('10.60.0.0/16') || l.startsWith('default')));
    assert.equal((await peerStatus())?.since, first.since, 'still the same session');
    assert.deepEqual(await defaults(), [HOST_DEFAULT], 'ours withdrawn, the host’s own default route intact');
  });
});
