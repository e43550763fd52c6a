/**
 * Fault suite, BGP input: two agents in a mesh, plus
 * - a node-specific peer of h1 that is a scripted raw speaker (fault-peer-entry.ts, built on the
 *   @bgp/ts-bgp codec): a valid UPDATE is installed; the same prefix with an undefined ORIGIN is
 *   treated as a withdrawal (RFC 7606 §7.1) with the session kept; an UPDATE whose MP_REACH_NLRI
 *   cannot be parsed resets the session with an UPDATE Message Error NOTIFICATION (RFC 7606
 *   §7.11) — and through all of it the agent and its mesh session stay up with their routes;
 * - a connection from an address that is no node and no peer: refused with Cease / Connection
 *   Rejected and closed, known sessions unaffected.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { netnsUnsupportedReason, sleep, uniquePrefix, waitFor } from '@tsnet/testkit';
import { AgentLab, TEST_BGP_PORT } from './agent-lab.js';
import { RawPeer, bounded } from './fault-harness.js';

const skip = netnsUnsupportedReason();
const GW = '198.51.100.254';
const H1 = '198.51.100.1';
const H2 = '198.51.100.2';
const BAD = '198.51.100.9';
const STRANGER = '198.51.100.10';
const BAD_ASN = 64512;
const PREFIX = '192.168.250.0/26'; // inside the default pool: the import policy accepts it

describe('fault: malformed UPDATEs from a peer, connections from unknown addresses', { skip, timeout: 150_000 }, () => {
  let lab: AgentLab;
  let meshBlock = '';
  /** when each agent's mesh session came up: it must not flap while the faults are injected */
  const meshSince: Record<string, string | null> = {};
  const meshHealthy = async (what: string): Promise<void> => {
    for (const h of ['h1', 'h2']) {
      const s = await lab.status(h);
      const mesh = s.peers.filter((p) => p.type === 'node-to-node mesh');
      assert.ok(mesh.length === 1 && mesh[0]!.state === 'up', `${what}: ${h}'s mesh session up: ${JSON.stringify(mesh)}`);
      assert.equal(mesh[0]!.since, meshSince[h], `${what}: ${h}'s mesh session never went down`);
      assert.ok(lab.agent(h).proc.running, `${what}: ${h}'s agent running`);
    }
    const r = await lab.routes('h1');
    assert.ok(r.some((l) => l.startsWith(`${meshBlock} via ${H2}`)), `${what}: h1 still routes h2's block: ${r.join(' | ')}`);
  };

  before(async () => {
    lab = await AgentLab.create(uniquePrefix('fb'));
    await lab.addHost('h1', `${H1}/24`, GW);
    await lab.addHost('h2', `${H2}/24`, GW);
    await lab.addHost('bad', `${BAD}/24`, GW);
    await lab.addHost('stranger', `${STRANGER}/24`, GW);
    await lab.startEtcd(GW);
    await Promise.all(['h1', 'h2'].map((h) => lab.startAgent(h)));
    for (const h of ['h1', 'h2']) await lab.waitEstablished(h, 1);
    await lab.allocate('h2', 'fb2');
    meshBlock = (await lab.ds.list('block')).items.find((b) => b.value.affinity === 'h2')!.value.cidr;
    await lab.waitRoutes('h1', `route ${meshBlock} via h2`, (r) => r.some((l) => l.startsWith(`${meshBlock} via ${H2}`)));
    for (const h of ['h1', 'h2']) meshSince[h] = (await lab.status(h)).peers.find((p) => p.type === 'node-to-node mesh')!.since;
  });
  after(async () => {
    await bounded('lab teardown', async () => lab?.destroy());
  });

  test('malformed UPDATEs (RFC 7606): bad ORIGIN → treat-as-withdraw, session kept; bad MP_REACH_NLRI → NOTIFICATION and reset; mesh and agent unaffected', async () => {
    const peer = RawPeer.spawn(lab.host('bad').ns, 'serve', { listen: BAD, port: TEST_BGP_PORT, asn: BAD_ASN, routerId: BAD, prefix: PREFIX });
    try {
      await peer.waitEvent('listening', (e) => e.event === 'listening');
      await lab.ds.addNodePeer('h1', { ip: BAD, asn: BAD_ASN, node: 'h1' });
      await peer.waitEvent('session Established with h1', (e) => e.event === 'established', 0, 20_000);
      const peerUp = async (): Promise<boolean> =>
        (await lab.status('h1')).peers.some((p) => p.address === BAD && p.type === 'node specific' && p.state === 'up');
      await waitFor('h1 to show the node-specific peer up', peerUp);

      // a valid announcement is installed
      peer.send('announce');
      await lab.waitRoutes('h1', `${PREFIX} via the raw peer`, (r) => r.some((l) => l.startsWith(`${PREFIX} via ${BAD}`)));

      // undefined ORIGIN value: treat-as-withdraw — the route goes, the session stays
      let mark = peer.events.length;
      peer.send('bad-origin');
      await lab.waitRoutes('h1', `${PREFIX} withdrawn (treat-as-withdraw)`, (r) => !r.some((l) => l.startsWith(PREFIX)));
      await sleep(1000);
      assert.ok(!peer.events.slice(mark).some((e) => e.event === 'notification' || e.event === 'closed'), `no reset for a bad ORIGIN: ${JSON.stringify(peer.events.slice(mark))}`);
      assert.ok(await peerUp(), 'the session with the raw peer is still Established');
      const st = (await lab.status('h1')).peers.find((p) => p.address === BAD)!;
      assert.equal(st.prefixesAccepted, 0, 'nothing held from the raw peer after the withdrawal');
      await meshHealthy('after the bad ORIGIN');

      // re-announce, then an unparseable MP_REACH_NLRI: session reset with an UPDATE Message Error
      peer.send('announce');
      await lab.waitRoutes('h1', `${PREFIX} again`, (r) => r.some((l) => l.startsWith(`${PREFIX} via ${BAD}`)));
      mark = peer.events.length;
      peer.send('bad-mp-reach');
      const n = await peer.waitEvent('a NOTIFICATION from h1', (e) => e.event === 'notification', mark);
      assert.equal(n.code, 3, `UPDATE Message Error, got ${JSON.stringify(n)}`);
      await peer.waitEvent('the connection closed by h1', (e) => e.event === 'closed', mark);
      await lab.waitRoutes('h1', `${PREFIX} gone with the reset session`, (r) => !r.some((l) => l.startsWith(PREFIX)));
      await meshHealthy('after the session reset');
      // the agent reconnects to the (still configured) peer: the reset was per session
      await peer.waitEvent('the session re-established', (e) => e.event === 'established', mark, 20_000);
      console.log(`malformed UPDATE: bad ORIGIN withdrew ${PREFIX} keeping the session; bad MP_REACH got NOTIFICATION ${n.code}/${n.subcode}`);
    } finally {
      await lab.ds.removeNodePeer('h1', BAD).catch(() => undefined);
      await peer.stop();
    }
    await waitFor('h1 to drop the removed peer', async () => !(await lab.status('h1')).peers.some((p) => p.address === BAD));
    await meshHealthy('after the raw peer left');
  });

  test('a BGP connection from an unknown address is refused (Cease/Connection Rejected, closed); known sessions unaffected', async () => {
    const before = (await lab.status('h1')).peers.map((p) => `${p.address}/${p.state}/${p.since}`);
    const refused: string[] = [];
    for (const target of [H1, H2]) {
      const probe = RawPeer.spawn(lab.host('stranger').ns, 'probe', { target, port: TEST_BGP_PORT, asn: 64513, routerId: STRANGER });
      const r = await probe.waitEvent('the probe to end', (e) => e.event === 'probe', 0, 10_000);
      await probe.stop();
      assert.equal(r.closed, true, `${target} closed the connection: ${JSON.stringify(r)}`);
      assert.deepEqual(r.notification, { code: 6, subcode: 5 }, `${target} sent Cease / Connection Rejected: ${JSON.stringify(r)}`);
      refused.push(`${target} in ${String(r.ms)} ms`);
    }
    const s = await lab.status('h1');
    assert.ok(!s.peers.some((p) => p.address === STRANGER), 'the stranger is not listed as a peer');
    assert.deepEqual(s.peers.map((p) => `${p.address}/${p.state}/${p.since}`), before, 'known sessions did not flap');
    await meshHealthy('after the refused connections');
    console.log(`unknown address: Cease/Connection Rejected and closed by ${refused.join(', ')}`);
  });
});
