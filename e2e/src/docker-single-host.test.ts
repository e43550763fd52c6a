/**
 * One host, a real dockerd 20.10 and the node agent serving the plugin (`libnetwork: true`, as
 * `tsctl node --libnetwork` does): what dockerd does with the plugin's replies inside the container — /32 and /128 addresses, the connected route to 169.254.1.1, the
 * default routes via 169.254.1.1 and fe80::1, MTU of the pool — for a `--subnet` dual-stack
 * network and for a network without `--subnet` (any enabled pool).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Datastore } from '@tsnet/datastore';
import { Ipam } from '@tsnet/ipam';
import { dockerdUnsupportedReason, netnsUnsupportedReason, uniquePrefix, type Dockerd } from '@tsnet/testkit';
import { AgentLab } from './agent-lab.js';
import { DockerLab } from './docker-lab.js';

const skip = netnsUnsupportedReason() ?? dockerdUnsupportedReason();

describe('Docker plugin on one host: what the container gets', { skip, timeout: 120_000 }, () => {
  let lab: AgentLab;
  let dk: DockerLab;
  let ds: Datastore;
  let dockerd: Dockerd;

  before(async () => {
    lab = await AgentLab.create(uniquePrefix('d1'));
    dk = new DockerLab(lab);
    await lab.addHost('solo', '198.51.100.1/24', '198.51.100.254');
    await lab.startEtcd('198.51.100.254');
    ds = lab.ds;
    const ipam = new Ipam(ds);
    await ipam.addPool({ cidr: '10.60.0.0/16', vxlanMode: 'always' });
    await ipam.addPool({ cidr: 'fd60::/64' });
    // dockerd in the host's namespace, then the node agent serving the plugin to it
    dockerd = (await dk.addDockerHost('solo')).dockerd;
    await dockerd.importBusybox();
  });
  after(async () => {
    await dk?.destroy();
    await lab?.destroy();
  });

  test('dual-stack --subnet network: /32 and /128, routes via 169.254.1.1 and fe80::1, VXLAN MTU', async () => {
    await dockerd.docker([
      'network',
      'create',
      '-d',
      'tsnet',
      '--ipam-driver',
      'tsnet',
      '--ipv6',
      '--subnet',
      '10.60.0.0/16',
      '--subnet',
      'fd60::/64',
      'dual',
    ]);
    const out = await dockerd.docker([
      'run',
      '--rm',
      '--net',
      'dual',
      'tsnet/busybox',
      'sh',
      '-c',
      'ip addr show eth0; echo ==; ip route; echo ==; ip -6 route',
    ]);
    const [addr, v4, v6] = out.split('==\n');
    assert.match(addr!, /mtu 1450/);
    assert.match(addr!, /inet 10\.60\.\d+\.\d+\/32 /);
    assert.match(addr!, /inet6 fd60::[0-9a-f:]*\/128 /);
    assert.match(v4!, /^default via 169\.254\.1\.1 dev eth0/m);
    assert.match(v4!, /^169\.254\.1\.1 dev eth0 scope link/m);
    assert.match(v6!, /^default via fe80::1 dev eth0/m);
  });

  test('network without --subnet takes addresses from the enabled pools; rm releases them', async () => {
    await dockerd.docker(['network', 'create', '-d', 'tsnet', '--ipam-driver', 'tsnet', 'anypool']);
    await dockerd.docker(['run', '-d', '--name', 'anyc', '--net', 'anypool', 'tsnet/busybox', 'sleep', '600']);
    const ip = await dockerd.docker([
      'inspect',
      '-f',
      '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
      'anyc',
    ]);
    assert.match(ip, /^10\.60\./);
    assert.equal((await new Ipam(ds).lookup(ip)).inUse, true);
    const records = (await ds.list('dockerEndpoint')).items.map((e) => e.value);
    assert.deepEqual(
      records.map((e) => [e.ipv4, e.node]),
      [[`${ip}/32`, 'solo']],
    );
    await dockerd.docker(['rm', '-f', 'anyc']);
    assert.equal((await new Ipam(ds).lookup(ip)).inUse, false);
    assert.equal((await ds.list('dockerEndpoint')).items.length, 0);
    await dockerd.docker(['network', 'rm', 'anypool', 'dual']);
    assert.equal((await ds.list('dockerNetwork')).items.length, 0);
  });
});
