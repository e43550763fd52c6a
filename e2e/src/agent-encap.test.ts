/**
 * Node agents across two underlay subnets: a VXLAN pool carries workload traffic between them
 * (native routing cannot: the next hop is not on-link), a nat-outgoing pool's workload reaches
 * an "external" namespace as the host's address while a plain pool's workload keeps its own, and
 * an ipip pool works where the kernel has ipip, else is reported as a status error while the other
 * pools keep working.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ipam } from '@tsnet/ipam';
import { netnsUnsupportedReason, TrackedProcess, uniquePrefix, waitFor } from '@tsnet/testkit';
import { AgentLab } from './agent-lab.js';

const skip = netnsUnsupportedReason();
const VXLAN_POOL = '10.244.0.0/16';
const NAT_POOL = '10.245.0.0/16';
const PLAIN_POOL = '10.246.0.0/16';
const IPIP_POOL = '10.247.0.0/16';

describe('node agent: vxlan across subnets, nat-outgoing', { skip, timeout: 180_000 }, () => {
  let lab: AgentLab;

  before(async () => {
    lab = await AgentLab.create(uniquePrefix('x'));
    await lab.addHost('h1', '198.51.100.1/24', '198.51.100.254');
    await lab.addHost('h2', '203.0.113.2/24', '203.0.113.254');
    await lab.addHost('ext', '192.0.2.10/24', '192.0.2.254');
    await lab.startEtcd('198.51.100.254');
    const ipam = new Ipam(lab.ds);
    await ipam.addPool({ cidr: VXLAN_POOL, vxlanMode: 'cross-subnet' });
    await ipam.addPool({ cidr: NAT_POOL, natOutgoing: true });
    await ipam.addPool({ cidr: PLAIN_POOL });
    await ipam.addPool({ cidr: IPIP_POOL, ipipMode: 'always' });
    await Promise.all(['h1', 'h2'].map((h) => lab.startAgent(h)));
    for (const h of ['h1', 'h2']) await lab.waitEstablished(h, 1);
  });
  after(async () => {
    await lab?.destroy();
  });

  test('vxlan pool: VTEPs recorded, workloads on different subnets ping through vxlan.tsnet', async () => {
    const w1 = await lab.addWorkload('h1', 'vx1', await lab.allocate('h1', 'vx1', [VXLAN_POOL]));
    const w2 = await lab.addWorkload('h2', 'vx2', await lab.allocate('h2', 'vx2', [VXLAN_POOL]));
    const nodes = await waitFor('both VTEPs recorded', async () => {
      const n = (await lab.ds.listNodes()) as Array<{ name: string; vxlanTunnelAddr?: string; vxlanTunnelMac?: string }>;
      return n.every((x) => x.vxlanTunnelAddr && x.vxlanTunnelMac) ? n : undefined;
    });
    const vtep2 = nodes.find((n) => n.name === 'h2')!.vxlanTunnelAddr!;
    await lab.waitRoutes('h1', 'a route into h2\u2019s vxlan block through vxlan.tsnet', (r) =>
      r.some((l) => l.includes(`via ${vtep2} dev vxlan.tsnet`)),
    );
    const vtep1 = nodes.find((n) => n.name === 'h1')!.vxlanTunnelAddr!;
    await lab.waitRoutes('h2', 'a route into h1\u2019s vxlan block through vxlan.tsnet', (r) =>
      r.some((l) => l.includes(`via ${vtep1} dev vxlan.tsnet`)),
    );
    const reached = await waitFor('h1 workload to reach h2 workload over vxlan', () => lab.ping(w1.ns, w2.ip), { timeoutMs: 5000 }).catch(
      async (err: Error) => {
        for (const h of ['h1', 'h2']) {
          const ns = lab.host(h).ns;
          const dump = await Promise.all([
            ns.ip('-d', 'link', 'show', 'vxlan.tsnet').catch((e: Error) => e.message),
            ns.ip('route', 'show', 'table', 'all').catch((e: Error) => e.message),
            ns.ip('neigh', 'show', 'dev', 'vxlan.tsnet').catch((e: Error) => e.message),
            ns.exec('bridge', ['fdb', 'show', 'dev', 'vxlan.tsnet']).catch((e: Error) => e.message),
            ns.ip('addr').catch((e: Error) => e.message),
          ]);
          console.error(`--- ${h}\n${dump.join('\n')}`);
        }
        throw err;
      },
    );
    assert.ok(reached);
    assert.ok(await lab.ping(w2.ns, w1.ip), 'and back');
  });

  /** Can the kernel make ipip devices? Probed in a host namespace with a throwaway device. */
  const kernelHasIpip = async (): Promise<boolean> => {
    const ns = lab.host('h1').ns;
    if (await ns.ip('link', 'show', 'tunl0').then(() => true, () => false)) return true;
    const ok = await ns.ip('link', 'add', 'tsnprobe', 'type', 'ipip').then(() => true, () => false);
    if (ok) await ns.ip('link', 'del', 'tsnprobe');
    return ok;
  };

  test('ipip pool on a kernel without ipip: a clear status error, other pools unaffected', async (t) => {
    if (await kernelHasIpip()) return t.skip('this kernel has ipip');
    await lab.addWorkload('h2', 'ip2', await lab.allocate('h2', 'ip2', [IPIP_POOL]));
    const s = await waitFor('h1 to report the ipip pool', async () => {
      const st = await lab.status('h1');
      return st.errors.some((e) => e.includes(IPIP_POOL)) ? st : undefined;
    });
    assert.ok(s.errors.some((e) => /ipip/.test(e) && e.includes(IPIP_POOL)), s.errors.join('; '));
    assert.equal(s.errors.filter((e) => e.includes(VXLAN_POOL) || e.includes(NAT_POOL)).length, 0);
  });

  test('ipip pool: workloads on different subnets ping through tunl0', async (t) => {
    if (!(await kernelHasIpip())) return t.skip('the kernel has no ipip module (modprobe ipip)');
    const w1 = await lab.addWorkload('h1', 'ipa1', await lab.allocate('h1', 'ipa1', [IPIP_POOL]));
    const w2 = await lab.addWorkload('h2', 'ipa2', await lab.allocate('h2', 'ipa2', [IPIP_POOL]));
    await lab.waitRoutes('h1', 'a route into h2\u2019s ipip block through tunl0', (r) =>
      r.some((l) => l.includes(`via ${lab.host('h2').ip} dev tunl0`)),
    );
    await lab.waitRoutes('h2', 'a route into h1\u2019s ipip block through tunl0', (r) =>
      r.some((l) => l.includes(`via ${lab.host('h1').ip} dev tunl0`)),
    );
    await waitFor('h1 workload to reach h2 workload over ipip', () => lab.ping(w1.ns, w2.ip), { timeoutMs: 5000 });
  });

  test('nat-outgoing: the external host sees the host address; without it, the workload\u2019s', async () => {
    const ext = lab.host('ext');
    const seen = join(lab.dir.path, 'udp-seen.log');
    const listener = new TrackedProcess(
      'udp listener',
      'ip',
      [
        'netns', 'exec', ext.ns.name, process.execPath, '-e',
        "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>console.log(m.toString()+' '+r.address));s.bind(5000,()=>console.log('ready'))",
      ],
      { logFile: seen },
    );
    try {
      await waitFor('udp listener', async () => (await readFile(seen, 'utf8')).includes('ready'));
      const wn = await lab.addWorkload('h1', 'nat1', await lab.allocate('h1', 'nat1', [NAT_POOL]));
      const wp = await lab.addWorkload('h1', 'pln1', await lab.allocate('h1', 'pln1', [PLAIN_POOL]));
      await lab.waitRoutes('h1', 'workload routes', (r) => r.some((l) => l.startsWith(`${wn.ip} dev`)) && r.some((l) => l.startsWith(`${wp.ip} dev`)));
      const send = (w: typeof wn, tag: string): Promise<string> =>
        w.ns.exec(process.execPath, ['-e', `require('dgram').createSocket('udp4').send('${tag}',5000,'${ext.ip}',(e)=>process.exit(e?1:0))`]);
      await waitFor('the NAT rules to be in place and the packet seen', async () => {
        await send(wn, 'nat');
        return (await readFile(seen, 'utf8')).includes('nat ');
      });
      await waitFor('the plain packet seen', async () => {
        await send(wp, 'plain');
        return (await readFile(seen, 'utf8')).includes('plain ');
      });
      const lines = (await readFile(seen, 'utf8')).split('\n');
      assert.ok(lines.some((l) => l === 'nat 198.51.100.1'), `nat-outgoing source: ${lines.join(' | ')}`);
      assert.ok(lines.some((l) => l === `plain ${wp.ip}`), `plain source: ${lines.join(' | ')}`);
      assert.ok(!lines.some((l) => l === `nat ${wn.ip}`), 'no un-NATed packet from the nat pool');
    } finally {
      await listener.stop();
    }
  });
});
