/**
 * Node agents with IPv6: three hosts with IPv4 and IPv6 underlay addresses on one switch, agents
 * started with `ip6`, an IPv4 and an IPv6 pool. IPv6 sessions come up beside the IPv4 ones, the
 * IPv6 blocks are routed (proto 80) via the owners' IPv6 addresses, and dual-stack workloads (a
 * /128 with the default route via fe80::1, answered by proxy NDP on the host veth, as the plugin
 * sets them up through Docker) ping each other across hosts over IPv6.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ipam } from '@tsnet/ipam';
import { ExecaRunner, configureNetnsWorkload, createWorkloadVeth, workloadIfNames } from '@tsnet/dataplane';
import { Netns, netnsUnsupportedReason, uniquePrefix, waitFor } from '@tsnet/testkit';
import { AgentLab } from './agent-lab.js';

const skip = netnsUnsupportedReason();
const here = fileURLToPath(new URL('.', import.meta.url));
const TSCTL_BIN = join(here, '..', '..', 'apps', 'tsctl', 'bin', 'tsctl.js');
const HOSTS = ['h1', 'h2', 'h3'];
const GW4 = '198.51.100.254';
const GW6 = '2001:db8:100::fe';
const ip4 = (n: number): string => `198.51.100.${n}`;
const ip6 = (n: number): string => `2001:db8:100::${n}`;
const POOL4 = '10.250.0.0/16';
const POOL6 = 'fd00:65::/64';

interface DualWorkload {
  ns: Netns;
  ip4: string;
  ip6: string;
}

describe('node agent: IPv6 sessions, routes and workloads', { skip, timeout: 180_000 }, () => {
  let lab: AgentLab;
  const extraNs: Netns[] = [];

  /**
   * A dual-stack workload on `host`: the lab's routed veth and IPv4 setup, then what Docker does
   * with the plugin's IPv6 answer (address/128 without DAD, GatewayIPv6 fe80::1 as default route),
   * recorded as an endpoint with both addresses.
   */
  const addDualWorkload = async (host: string, id: string): Promise<DualWorkload> => {
    const ipam = new Ipam(lab.ds);
    const a4 = (await ipam.autoAssign({ handle: id, node: host, family: 4, pools: [POOL4] })).ip.split('/')[0]!;
    const a6 = (await ipam.autoAssign({ handle: id, node: host, family: 6, pools: [POOL6] })).ip.split('/')[0]!;
    const ns = await Netns.create(`${lab.underlay.prefix}w${id}`);
    extraNs.push(ns);
    const runner = new ExecaRunner({ netns: lab.host(host).ns.name });
    const { hostIfName, tempIfName } = workloadIfNames(id);
    await createWorkloadVeth({ hostIfName, tempIfName, mtu: 1450, runner });
    await configureNetnsWorkload({ tempIfName, netns: ns.name, ip: a4, runner });
    await ns.ip('-6', 'addr', 'add', `${a6}/128`, 'dev', 'eth0', 'nodad');
    await ns.ip('-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'eth0');
    await lab.ds.put('dockerEndpoint', id, {
      id,
      networkId: 'lab6',
      ipv4: `${a4}/32`,
      ipv6: `${a6}/128`,
      hostVeth: hostIfName,
      node: host,
    });
    return { ns, ip4: a4, ip6: a6 };
  };

  const routes6 = async (host: string): Promise<string[]> =>
    (await lab.host(host).ns.ip('-6', 'route', 'show', 'proto', '80')).split('\n').filter((l) => l.trim() !== '');

  const ping6 = (from: Netns, ip: string): Promise<boolean> =>
    from.exec('busybox', ['ping6', '-c1', '-W1', ip], 5000).then(
      () => true,
      () => false,
    );

  before(async () => {
    lab = await AgentLab.create(uniquePrefix('v6'));
    for (const [i, h] of HOSTS.entries()) {
      const host = await lab.addHost(h, `${ip4(i + 1)}/24`, GW4);
      await host.ns.ip('-6', 'addr', 'add', `${ip6(i + 1)}/64`, 'dev', 'eth0', 'nodad');
      if (i === 0) await lab.underlay.sw.ip('-6', 'addr', 'add', `${GW6}/64`, 'dev', 'br0', 'nodad');
      await host.ns.ip('-6', 'route', 'add', 'default', 'via', GW6);
    }
    await lab.startEtcd(GW4);
    const ipam = new Ipam(lab.ds);
    await ipam.addPool({ cidr: POOL4 });
    await ipam.addPool({ cidr: POOL6, blockSize: 122 });
    await Promise.all(HOSTS.map((h, i) => lab.startAgent(h, { ip6: ip6(i + 1) })));
  });
  after(async () => {
    await lab?.destroy();
    for (const ns of extraNs) await ns.delete().catch(() => undefined);
  });

  test('IPv4 and IPv6 mesh sessions Established; tsctl status shows the IPv6 table', async () => {
    for (const [i, h] of HOSTS.entries()) {
      const s = await lab.waitEstablished(h, 4);
      assert.equal(s.node.ipv6, ip6(i + 1));
      const v6 = s.peers.filter((p) => p.family === 'ipv6').map((p) => p.address).sort();
      assert.deepEqual(v6, HOSTS.map((_, j) => ip6(j + 1)).filter((a) => a !== ip6(i + 1)));
      assert.equal(s.peers.filter((p) => p.family === 'ipv4').length, 2);
    }
    const { stdout } = await promisify(execFile)(process.execPath, [TSCTL_BIN, 'status'], {
      env: { ...process.env, TSNET_RUN_DIR: lab.agent('h1').runDir, HOSTNAME: 'h1' },
      timeout: 15_000,
    });
    const v6Table = stdout.slice(stdout.indexOf('IPv6 BGP status'));
    assert.ok(stdout.includes('IPv6 BGP status'), stdout);
    assert.ok(v6Table.includes(`IP: ${ip6(1)}`), stdout);
    for (const peer of [ip6(2), ip6(3)]) {
      const row = v6Table.split('\n').find((l) => l.includes(` ${peer} `));
      assert.ok(row && /node-to-node mesh/.test(row) && /\bup\b/.test(row) && /Established/.test(row), stdout);
    }
  });

  test('IPv6 blocks: blackhole at the owner, routed via the owner\u2019s IPv6 address elsewhere (proto 80)', async () => {
    const w1 = await addDualWorkload('h1', 'six1');
    await addDualWorkload('h2', 'six2');
    const blocks = (await lab.ds.list('block')).items.map((b) => b.value).filter((b) => b.cidr.includes(':'));
    const blockOf = (host: string): string => {
      const mine = blocks.filter((b) => b.affinity === host);
      assert.equal(mine.length, 1, `one IPv6 block affine to ${host}`);
      return mine[0]!.cidr;
    };
    const b1 = blockOf('h1');
    const b2 = blockOf('h2');
    assert.ok(b1.endsWith('/122') && b2.endsWith('/122'));
    await waitFor('h1: blackhole of its own IPv6 block, the workload /128, a route to h2\u2019s block', async () => {
      const r = await routes6('h1');
      const ok =
        r.some((l) => l.startsWith(`blackhole ${b1} `)) &&
        r.some((l) => l.startsWith(`${w1.ip6} dev `)) &&
        r.some((l) => l.startsWith(`${b2} via ${ip6(2)} `));
      return ok ? r : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    await waitFor('h3: routes to both IPv6 blocks via their owners', async () => {
      const r = await routes6('h3');
      return r.some((l) => l.startsWith(`${b1} via ${ip6(1)} `)) && r.some((l) => l.startsWith(`${b2} via ${ip6(2)} `)) ? r : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    const s = await lab.status('h3');
    for (const p of s.peers.filter((x) => x.family === 'ipv6')) assert.ok(p.prefixesAccepted >= 1, JSON.stringify(p));
  });

  test('dual-stack workloads on different hosts ping each other over IPv6 (and IPv4)', async () => {
    const a = await addDualWorkload('h1', 'ping1');
    const b = await addDualWorkload('h3', 'ping3');
    await waitFor('h1 workload to reach h3 workload over IPv6', () => ping6(a.ns, b.ip6), { timeoutMs: 15_000, intervalMs: 200 }).catch(
      async (err: Error) => {
        for (const h of ['h1', 'h3']) {
          const ns = lab.host(h).ns;
          const dump = await Promise.all([
            ns.ip('-6', 'route', 'show').catch((e: Error) => e.message),
            ns.ip('-6', 'neigh', 'show', 'proxy').catch((e: Error) => e.message),
          ]);
          console.error(`--- ${h}\n${dump.join('\n')}`);
        }
        throw err;
      },
    );
    assert.ok(await ping6(b.ns, a.ip6), 'and back');
    assert.ok(await lab.ping(a.ns, b.ip4), 'IPv4 between the same workloads');
  });
});
