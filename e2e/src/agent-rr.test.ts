/**
 * Mesh off (route-reflector deployment): one node is marked as route reflector; the others peer
 * with it only, and it reflects their blocks (next hop unchanged) so every host still routes to
 * every other host's block directly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { netnsUnsupportedReason, uniquePrefix, waitFor } from '@tsnet/testkit';
import { AgentLab, type LabWorkload } from './agent-lab.js';

const skip = netnsUnsupportedReason();
const GW = '198.51.100.254';
const ip = (n: number): string => `198.51.100.${n}`;

describe('node agent: mesh off, route reflector', { skip, timeout: 120_000 }, () => {
  let lab: AgentLab;

  before(async () => {
    lab = await AgentLab.create(uniquePrefix('r'));
    for (const n of [1, 2, 3]) await lab.addHost(`h${n}`, `${ip(n)}/24`, GW);
    await lab.startEtcd(GW);
    await lab.ds.setClusterConfig({ nodeMesh: false });
    await lab.ds.putNode({ name: 'h1', ipv4: ip(1), routeReflector: { clusterId: '1.0.0.1' } });
    await Promise.all(['h1', 'h2', 'h3'].map((h) => lab.startAgent(h)));
  });
  after(async () => {
    await lab?.destroy();
  });

  test('clients peer with the reflector only; its clients\u2019 blocks are reflected with their own next hop', async () => {
    const rr = await lab.waitEstablished('h1', 2);
    assert.deepEqual(rr.peers.map((p) => p.address).sort(), [ip(2), ip(3)]);
    for (const h of ['h2', 'h3']) {
      const s = await lab.waitEstablished(h, 1);
      assert.equal(s.peers[0]!.address, ip(1));
    }
    const w: Record<string, LabWorkload> = {};
    for (const h of ['h2', 'h3']) w[h] = await lab.addWorkload(h, `rr${h}`, await lab.allocate(h, `rr${h}`));
    const blocks = (await lab.ds.list('block')).items.map((b) => b.value);
    const block2 = blocks.find((b) => b.affinity === 'h2')!.cidr;
    const block3 = blocks.find((b) => b.affinity === 'h3')!.cidr;
    await lab.waitRoutes('h3', `${block2} via h2 (reflected by h1)`, (r) => r.some((l) => l.startsWith(`${block2} via ${ip(2)}`)));
    await lab.waitRoutes('h2', `${block3} via h3 (reflected by h1)`, (r) => r.some((l) => l.startsWith(`${block3} via ${ip(3)}`)));
    await waitFor('h2 workload to reach h3 workload', () => lab.ping(w.h2!.ns, w.h3!.ip), { timeoutMs: 5000 });
  });
});
