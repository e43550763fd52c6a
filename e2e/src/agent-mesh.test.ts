/**
 * Node agents on three (then four) hosts of one underlay, with real etcd and a real BIRD:
 * full iBGP mesh, block routes everywhere, cross-host workload ping, import policy against a bad
 * mesh node, nodes joining and leaving at runtime, and kill -9 of an agent under ping (graceful
 * restart: no loss, no duplicate or stale route afterwards).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { netnsUnsupportedReason, sleep, TrackedProcess, uniquePrefix, waitFor } from '@tsnet/testkit';
import { AgentLab, TEST_BGP_PORT, type LabWorkload } from './agent-lab.js';

const skip = netnsUnsupportedReason();
const GW = '198.51.100.254';
const ip = (n: number): string => `198.51.100.${n}`;

/**
 * A BIRD config for host `routerIp` peering with the three agents h1..h3 (protocols
 * `<name>1..3`), announcing `statics` as blackhole routes.
 */
function birdToMesh(
  routerIp: string,
  o: { name: string; asn: number; nextHopSelf: boolean; statics: string[] },
): string {
  const neighbours = [1, 2, 3]
    .map(
      (n) => `protocol bgp ${o.name}${n} {
  local ${routerIp} port ${TEST_BGP_PORT} as ${o.asn};
  neighbor ${ip(n)} port ${TEST_BGP_PORT} as 64511;
  ipv4 { import all; export all;${o.nextHopSelf ? ' next hop self;' : ''} };
}`,
    )
    .join('\n');
  const routes = o.statics.map((r) => ` route ${r} blackhole;`).join('');
  return `router id ${routerIp};
protocol device {}
protocol static { ipv4;${routes} }
${neighbours}
`;
}

describe('node agent: 3-host iBGP mesh', { skip, timeout: 240_000 }, () => {
  let lab: AgentLab;
  const w: Record<string, LabWorkload> = {};
  const blockOf = async (host: string): Promise<string> => {
    const blocks = (await lab.ds.list('block')).items.map((b) => b.value).filter((b) => b.affinity === host);
    assert.equal(blocks.length, 1, `one block affine to ${host}`);
    return blocks[0]!.cidr;
  };

  before(async () => {
    lab = await AgentLab.create(uniquePrefix('m'));
    for (const n of [1, 2, 3]) await lab.addHost(`h${n}`, `${ip(n)}/24`, GW);
    await lab.startEtcd(GW);
    await Promise.all(['h1', 'h2', 'h3'].map((h) => lab.startAgent(h)));
  });
  after(async () => {
    await lab?.destroy();
  });

  test('all sessions Established, default pools created, AS inherited, heartbeats, metrics and /healthz', async () => {
    for (const h of ['h1', 'h2', 'h3']) {
      const s = await lab.waitEstablished(h, 2);
      assert.deepEqual(s.node.asnInherited, true);
      assert.equal(s.node.asn, 64511);
      assert.ok(s.peers.every((p) => p.type === 'node-to-node mesh' && p.info === 'Established'));
    }
    const pools = (await lab.ds.list('pool')).items.map((p) => p.value.cidr).sort();
    assert.deepEqual(pools, ['192.168.0.0/16', 'fd80:24e2:f998:72d6::/64']);
    const hb = await lab.ds.listNodeStatus();
    assert.deepEqual(hb.map((s) => s.node).sort(), ['h1', 'h2', 'h3']);
    // metrics and health on 127.0.0.1:9099 inside h1's namespace
    const get = (path: string): Promise<string> =>
      lab.host('h1').ns.exec(process.execPath, [
        '-e',
        `fetch('http://127.0.0.1:9099${path}').then(async (r) => console.log(r.status + ' ' + (await r.text())))`,
      ]);
    assert.match(await get('/healthz'), /^200 ok/);
    const metrics = await get('/metrics');
    assert.match(metrics, /tsnet_bgp_sessions\{state="Established"\} 2/);
    assert.match(metrics, /tsnet_ipam_addresses\{pool="192\.168\.0\.0\/16",kind="capacity"\} 65536/);
  });

  test('each host\u2019s block is routed on the others and workloads ping across hosts', async () => {
    for (const [n, h] of ['h1', 'h2', 'h3'].entries()) {
      const a = await lab.allocate(h, `wl${n + 1}`);
      w[h] = await lab.addWorkload(h, `wl${n + 1}`, a);
    }
    for (const h of ['h1', 'h2', 'h3']) {
      const block = await blockOf(h);
      await lab.waitRoutes(h, `blackhole for its own block ${block}`, (r) => r.some((l) => l.startsWith(`blackhole ${block}`)));
      await lab.waitRoutes(h, `workload route ${w[h]!.ip}`, (r) => r.some((l) => l.startsWith(`${w[h]!.ip} dev `)));
      for (const o of ['h1', 'h2', 'h3'].filter((x) => x !== h)) {
        const hostIp = lab.host(h).ip;
        await lab.waitRoutes(o, `route ${block} via ${hostIp}`, (r) => r.some((l) => l.startsWith(`${block} via ${hostIp} dev eth0`)));
      }
    }
    assert.ok(await lab.ping(w.h1!.ns, w.h2!.ip), 'h1 workload reaches h2 workload');
    assert.ok(await lab.ping(w.h2!.ns, w.h3!.ip), 'h2 workload reaches h3 workload');
    assert.ok(await lab.ping(w.h3!.ns, w.h1!.ip), 'h3 workload reaches h1 workload');
    const s = await lab.status('h1');
    assert.deepEqual(s.errors, []);
    assert.ok(s.peers.every((p) => p.prefixesAccepted >= 1), 'each mesh peer sent its block');
  });

  test('unknown addresses are refused; a bad mesh node (BIRD) cannot install 0.0.0.0/0 or a host network; pool prefixes pass', async () => {
    const h4 = await lab.addHost('h4', `${ip(4)}/24`, GW);
    // before it is registered, h4 is an unknown address: its connection gets Cease 5 and is closed
    const reply = await h4.ns.exec(process.execPath, [
      '-e',
      `const s=require('net').connect(${TEST_BGP_PORT},'${ip(1)}');const b=[];s.on('data',d=>b.push(d));` +
        `s.on('close',()=>{console.log(Buffer.concat(b).toString('hex'));process.exit(0)});setTimeout(()=>process.exit(1),3000)`,
    ]);
    // marker, length 21, type 3 (NOTIFICATION), code 6 (Cease), subcode 5 (Connection Rejected)
    assert.equal(reply.trim(), `${'ff'.repeat(16)}0015030605`);
    await lab.ds.putNode({ name: 'bad', ipv4: h4.ip, ipv4Network: '198.51.100.0/24' });
    const conf = join(lab.dir.path, 'bird.conf');
    await writeFile(
      conf,
      birdToMesh(h4.ip, {
        name: 'm',
        asn: 64511,
        nextHopSelf: true,
        statics: ['0.0.0.0/0', '198.51.100.0/24', '10.99.0.0/16', '192.168.250.0/26'],
      }),
    );
    const bird = new TrackedProcess('bird', 'ip', ['netns', 'exec', h4.ns.name, 'bird', '-f', '-c', conf, '-s', join(lab.dir.path, 'bird.ctl')], {
      logFile: join(lab.dir.path, 'bird.log'),
    });
    try {
      await lab.waitRoutes('h1', '192.168.250.0/26 from BIRD', (r) => r.some((l) => l.startsWith(`192.168.250.0/26 via ${h4.ip}`)), 20_000);
      const st = await lab.waitEstablished('h1', 3);
      const badPeer = st.peers.find((p) => p.address === h4.ip)!;
      assert.equal(badPeer.prefixesAccepted, 1, 'only the pool prefix was accepted');
      for (const h of ['h1', 'h2', 'h3']) {
        const all = await lab.host(h).ns.ip('route', 'show');
        assert.doesNotMatch(all, new RegExp(`default via ${h4.ip}`), `${h}: no default route from the bad node`);
        assert.doesNotMatch(all, /10\.99\.0\.0\/16/, `${h}: no foreign prefix`);
        assert.doesNotMatch(all, /198\.51\.100\.0\/24 .*proto 80/, `${h}: host network not hijacked`);
      }
    } finally {
      await bird.stop();
    }
  });

  test('a node registered later is meshed by all without restarts; a removed node is dropped with its routes', async () => {
    // 'bad' goes away: sessions to it are dropped
    await lab.ds.deleteNode('bad');
    for (const h of ['h1', 'h2', 'h3']) await lab.waitEstablished(h, 2);
    const h5 = await lab.addHost('h5', `${ip(5)}/24`, GW);
    await lab.startAgent('h5');
    for (const h of ['h1', 'h2', 'h3', 'h5']) await lab.waitEstablished(h, 3);
    const a = await lab.allocate('h5', 'wl5');
    w.h5 = await lab.addWorkload('h5', 'wl5', a);
    const block5 = await blockOf('h5');
    for (const h of ['h1', 'h2', 'h3'])
      await lab.waitRoutes(h, `route ${block5} via ${h5.ip}`, (r) => r.some((l) => l.startsWith(`${block5} via ${h5.ip}`)));
    await lab.waitRoutes('h5', `workload route ${w.h5.ip}`, (r) => r.some((l) => l.startsWith(`${w.h5!.ip} dev `)));
    await lab.waitRoutes('h5', `route back to ${w.h1!.ip}`, (r) => r.some((l) => l.includes(`via ${lab.host('h1').ip}`)));
    await waitFor('h1 workload to reach the new node\u2019s workload', () => lab.ping(w.h1!.ns, w.h5!.ip), { timeoutMs: 5000 });

    // remove h5: stop its agent, delete the node and its block
    await lab.agent('h5').proc.stop();
    await lab.ds.deleteNode('h5');
    await lab.ds.delete('block', block5);
    for (const h of ['h1', 'h2', 'h3']) {
      await lab.waitEstablished(h, 2);
      await lab.waitRoutes(h, `route ${block5} gone`, (r) => !r.some((l) => l.startsWith(block5)));
    }
  });

  test('a global peer (BIRD, eBGP) is peered by every node; pool prefixes accepted, others not; removal drops it', async () => {
    const h4 = lab.host('h4');
    await lab.ds.addGlobalPeer({ ip: h4.ip, asn: 65000 });
    const conf = join(lab.dir.path, 'bird-global.conf');
    await writeFile(
      conf,
      birdToMesh(h4.ip, { name: 'g', asn: 65000, nextHopSelf: false, statics: ['192.168.251.0/26', '10.98.0.0/16'] }),
    );
    const bird = new TrackedProcess('bird global', 'ip', ['netns', 'exec', h4.ns.name, 'bird', '-f', '-c', conf, '-s', join(lab.dir.path, 'bird-global.ctl')], {
      logFile: join(lab.dir.path, 'bird-global.log'),
    });
    try {
      for (const h of ['h1', 'h2', 'h3']) {
        const st = await lab.waitEstablished(h, 3);
        const g = st.peers.find((p) => p.address === h4.ip)!;
        assert.equal(g.type, 'global');
        assert.equal(g.asn, 65000);
        await lab.waitRoutes(h, '192.168.251.0/26 from the global peer', (r) => r.some((l) => l.startsWith(`192.168.251.0/26 via ${h4.ip}`)));
        assert.doesNotMatch((await lab.routes(h)).join('\n'), /10\.98\.0\.0/);
      }
      await lab.ds.removeGlobalPeer(h4.ip);
      for (const h of ['h1', 'h2', 'h3']) {
        await lab.waitEstablished(h, 2);
        await lab.waitRoutes(h, 'the global peer\u2019s route gone', (r) => !r.some((l) => l.startsWith('192.168.251.0/26')));
      }
    } finally {
      await bird.stop();
    }
  });

  test('a new cluster AS at runtime: every agent restarts BGP with it; routes come back and workloads reach each other', async () => {
    const onAs = (asn: number) => async (h: string) =>
      waitFor(
        `${h} on AS ${asn} with both sessions up`,
        async () => {
          const s = await lab.status(h);
          // a session is up only when both OPENs carry the AS the other side expects
          return s.node.asn === asn && s.peers.length === 2 && s.peers.every((p) => p.state === 'up' && p.asn === asn) ? s : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    try {
      await lab.ds.setClusterConfig({ defaultAsn: 64600 });
      for (const h of ['h1', 'h2', 'h3']) await onAs(64600)(h);
      const block2 = await blockOf('h2');
      await lab.waitRoutes('h1', `route ${block2} via h2 again`, (r) => r.some((l) => l.startsWith(`${block2} via ${ip(2)}`)));
      await waitFor('h1 workload to reach h2 workload', () => lab.ping(w.h1!.ns, w.h2!.ip), { timeoutMs: 10_000 });
    } finally {
      await lab.ds.setClusterConfig({ defaultAsn: 64511 });
    }
    for (const h of ['h1', 'h2', 'h3']) await onAs(64511)(h);
  });

  test('kill -9 of an agent under ping: no ping lost, routes reconciled after restart, no duplicates', async () => {
    const before2 = await lab.routes('h2');
    const before1 = await lab.routes('h1');
    let lost = 0;
    let sent = 0;
    let pinging = true;
    const loop = (async () => {
      while (pinging) {
        sent++;
        if (!(await lab.ping(w.h1!.ns, w.h2!.ip))) lost++;
        await sleep(100);
      }
    })();
    try {
      await sleep(500);
      const a = lab.agent('h2');
      a.proc.signal('SIGKILL');
      await a.proc.exited;
      await sleep(1500);
      await lab.startAgent('h2');
      for (const h of ['h1', 'h2', 'h3']) await lab.waitEstablished(h, 2);
      await sleep(1500);
    } finally {
      pinging = false;
      await loop;
    }
    assert.ok(sent >= 20, `pinged throughout (${sent})`);
    assert.equal(lost, 0, `pings lost during the agent restart: ${lost}/${sent}`);
    const after2 = await waitFor('h2 routes to settle', async () => {
      const r = await lab.routes('h2');
      return r.length === before2.length ? r : undefined;
    });
    assert.deepEqual([...after2].sort(), [...before2].sort(), 'same routes after the restart');
    assert.equal(new Set(after2.map((l) => l.split(' ')[0])).size, after2.length, 'no duplicate destination');
    assert.deepEqual((await lab.routes('h1')).sort(), [...before1].sort(), 'the peer\u2019s routes did not change either');
  });

  test('SIGTERM: the agent exits 0 within 5 s and leaves its kernel routes', async () => {
    const a = lab.agent('h3');
    const routes = await lab.routes('h3');
    const t0 = Date.now();
    a.proc.signal('SIGTERM');
    const code = await a.proc.exited;
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 5000, `exited in ${Date.now() - t0} ms`);
    assert.deepEqual(await lab.routes('h3'), routes);
  });
});
