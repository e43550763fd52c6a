/**
 * The seed scenario: two hosts, each a namespace with its own dockerd, node agent and tsnet
 * plugin; one etcd. A network made on host a is usable on host b, containers ping each other by IP
 * across hosts, a second network is isolated from the first, addresses are released by `docker
 * rm`, and restarting the plugin (the agent: kill -9, SIGTERM) or dockerd keeps (or brings back)
 * connectivity without leaks. Each host's agent serves the plugin (`libnetwork: true`) to its dockerd.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipam } from '@tsnet/ipam';
import {
  dockerdUnsupportedReason,
  netnsUnsupportedReason,
  sleep,
  uniquePrefix,
  waitFor,
} from '@tsnet/testkit';
import { AgentLab } from './agent-lab.js';
import { DockerLab } from './docker-lab.js';

const skip = netnsUnsupportedReason() ?? dockerdUnsupportedReason();
const GW = '198.51.100.254';
const NET1 = '10.80.0.0/16';
const NET2 = '10.81.0.0/16';
const IMAGE = 'tsnet/busybox:latest';

describe('Docker plugin: two hosts, real dockerd 20.10', { skip, timeout: 360_000 }, () => {
  let lab: AgentLab;
  let dk: DockerLab;
  /** `docker network create --driver tsnet --ipam-driver tsnet --subnet SUBNET NAME` on `host` */
  const createNetwork = (host: string, subnet: string, name: string) =>
    dk.docker(host, [
      'network',
      'create',
      '--driver',
      'tsnet',
      '--ipam-driver',
      'tsnet',
      '--subnet',
      subnet,
      name,
    ]);
  const ips: Record<string, string> = {};
  const run = async (host: string, name: string, net: string, extra: string[] = []): Promise<string> => {
    await dk.docker(host, ['run', '-d', '--name', name, '--net', net, ...extra, IMAGE, 'sleep', '3600']);
    ips[name] = await dk.ipOf(host, name);
    return ips[name]!;
  };
  const endpointsOf = async (node: string): Promise<string[]> =>
    (await lab.ds.list('dockerEndpoint')).items
      .filter((e) => e.value.node === node)
      .map((e) => e.value.ipv4 ?? '')
      .sort();
  const isolatedPing = async (host: string, from: string, ip: string): Promise<void> => {
    for (let i = 0; i < 3; i++)
      assert.equal(await dk.ping(host, from, ip), false, `${from} must not reach ${ip}`);
  };

  before(async () => {
    lab = await AgentLab.create(uniquePrefix('d'));
    dk = new DockerLab(lab);
    await lab.addHost('a', '198.51.100.1/24', GW);
    await lab.addHost('b', '198.51.100.2/24', GW);
    await lab.startEtcd(GW);
    const ipam = new Ipam(lab.ds);
    await ipam.addPool({ cidr: NET1 });
    await ipam.addPool({ cidr: NET2 });
    // per host: dockerd, then the agent with libnetwork (the plugin) pointed at it
    for (const h of ['a', 'b']) {
      await dk.addDockerHost(h);
      await dk.get(h).dockerd.importBusybox(IMAGE);
    }
    await Promise.all(['a', 'b'].map((h) => lab.waitEstablished(h, 1)));
  });
  after(async () => {
    await dk?.destroy();
    await lab?.destroy();
  });

  test('a network created on host a is usable on host b; containers ping across hosts', async () => {
    const foreign = await createNetwork('a', '172.31.0.0/16', 'bad').catch((e: Error) => e.message);
    assert.match(foreign, /subnet 172\.31\.0\.0\/16 is not a tsnet pool/);

    await createNetwork('a', NET1, 'net1');
    await waitFor(
      'net1 on host b',
      async () =>
        (await dk.docker('b', ['network', 'ls', '--format', '{{.Name}} {{.Driver}}'])).includes('net1 tsnet'),
      {
        timeoutMs: 15_000,
        intervalMs: 250,
      },
    );
    const inspect = JSON.parse(await dk.docker('b', ['network', 'inspect', 'net1'])) as {
      IPAM: { Driver: string; Config: { Subnet: string }[] };
    }[];
    assert.equal(inspect[0]!.IPAM.Driver, 'tsnet');
    assert.equal(inspect[0]!.IPAM.Config[0]!.Subnet, NET1);
    assert.equal((await lab.ds.list('dockerNetwork')).items.length, 1, 'one tsnet network for both hosts');

    await run('a', 'c1', 'net1');
    await run('b', 'c2', 'net1', ['--ip', '10.80.200.2']);
    assert.match(ips.c1!, /^10\.80\./);
    assert.equal(ips.c2, '10.80.200.2', '--ip honoured');
    const route = await dk.docker('a', ['exec', 'c1', 'ip', 'route']);
    assert.match(route, /default via 169\.254\.1\.1 dev eth0/);
    assert.ok(
      !(await dk.docker('a', ['network', 'ls', '--format', '{{.Name}}'])).includes('docker_gwbridge'),
      'no docker_gwbridge',
    );
    await dk.waitPing('a', 'c1', ips.c2!);
    await dk.waitPing('b', 'c2', ips.c1!);
  });

  test('a second network is isolated from the first, on one host and across hosts', async () => {
    await createNetwork('b', NET2, 'net2');
    await waitFor(
      'net2 on host a',
      async () => (await dk.docker('a', ['network', 'ls', '--format', '{{.Name}}'])).includes('net2'),
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    await run('a', 'c3', 'net2');
    await run('b', 'c4', 'net2');
    await dk.waitPing('a', 'c3', ips.c4!);
    await isolatedPing('a', 'c3', ips.c1!);
    await isolatedPing('a', 'c3', ips.c2!);
    await isolatedPing('b', 'c2', ips.c3!);
    assert.equal(await dk.ping('a', 'c1', ips.c2!), true, 'net1 still connected');
  });

  test('restarting the agent (plugin) keeps connectivity; new containers work after it', async () => {
    // a crash: kill -9, nothing cleaned up
    await dk.restartAgent('a', 'SIGKILL', async () => {
      assert.equal(await dk.ping('a', 'c1', ips.c2!), true, 'dataplane stays while the plugin is down');
    });
    await run('a', 'c5', 'net1');
    await dk.waitPing('a', 'c5', ips.c2!);
    await dk.waitPing('b', 'c2', ips.c5!);
    await dk.waitPing('b', 'c2', ips.c1!);
  });

  test('a clean agent stop (SIGTERM) and start: connectivity returns, nothing leaks', async () => {
    await dk.restartAgent('a', 'SIGTERM');
    await lab.waitEstablished('a', 1, 30_000);
    await dk.waitPing('b', 'c2', ips.c1!, 30_000);
    await dk.waitPing('a', 'c5', ips.c2!);
    await run('a', 'c6', 'net1');
    await dk.waitPing('b', 'c2', ips.c6!);
    await dk.docker('a', ['rm', '-f', 'c6']);
    // what runs now: c1, c3, c5 on a; c2, c4 on b — exactly their addresses, records and veths
    assert.equal((await new Ipam(lab.ds).lookup(ips.c6!)).inUse, false, `${ips.c6} released`);
    const usage = await new Ipam(lab.ds).usage();
    assert.equal(usage.find((u) => u.pool.cidr === NET1)?.allocated, 3, 'net1: c1, c2, c5');
    assert.equal(usage.find((u) => u.pool.cidr === NET2)?.allocated, 2, 'net2: c3, c4');
    assert.deepEqual(await endpointsOf('a'), [ips.c1, ips.c3, ips.c5].map((ip) => `${ip}/32`).sort());
    assert.deepEqual(await endpointsOf('b'), [ips.c2, ips.c4].map((ip) => `${ip}/32`).sort());
    const links = await lab.host('a').ns.ip('-o', 'link', 'show');
    assert.equal(
      links.split('\n').filter((l) => /: ts[0-9a-f]{11}@/.test(l)).length,
      3,
      'one host veth per running container on a',
    );
  });

  test('docker rm releases the address and removes the endpoint', async () => {
    const ip = ips.c5!;
    await dk.docker('a', ['rm', '-f', 'c5']);
    const ipam = new Ipam(lab.ds);
    assert.equal((await ipam.lookup(ip)).inUse, false, `${ip} released`);
    assert.ok(!(await endpointsOf('a')).includes(`${ip}/32`), 'endpoint record gone');
    assert.equal(await dk.ping('b', 'c2', ip), false);
  });

  test('restarting dockerd on host b: networks survive, containers come back connected, nothing leaks', async () => {
    const b = dk.get('b').dockerd;
    await b.kill();
    // dockerd stopped its containers on the way down: their endpoints are gone
    await waitFor(
      'b has no endpoints while dockerd is down',
      async () => (await endpointsOf('b')).length === 0,
      { timeoutMs: 10_000 },
    );
    await b.launch();
    const nets = await dk.docker('b', ['network', 'ls', '--format', '{{.Name}}']);
    assert.ok(nets.includes('net1') && nets.includes('net2'), nets);
    await dk.docker('b', ['start', 'c2', 'c4']);
    ips.c2 = await dk.ipOf('b', 'c2');
    assert.equal(ips.c2, '10.80.200.2');
    // the address's block was freed and is claimed again: BGP re-announces it (slow under load)
    await dk.waitPing('b', 'c2', ips.c1!, 40_000);
    await dk.waitPing('a', 'c1', ips.c2, 40_000);
    await isolatedPing('b', 'c4', ips.c1!);
    assert.deepEqual(await endpointsOf('b'), [`${ips.c2}/32`, `${ips.c4}/32`].sort());
    const links = await lab.host('b').ns.ip('-o', 'link', 'show');
    assert.equal(
      links.split('\n').filter((l) => /: ts[0-9a-f]{11}@/.test(l)).length,
      2,
      'one host veth per running container',
    );
  });

  test('docker network rm cleans up on every host', async () => {
    for (const [h, c] of [
      ['a', 'c3'],
      ['b', 'c4'],
    ] as const)
      await dk.docker(h, ['rm', '-f', c]);
    await dk.docker('b', ['network', 'rm', 'net2']);
    await waitFor(
      'net2 gone from host a',
      async () => !(await dk.docker('a', ['network', 'ls', '--format', '{{.Name}}'])).includes('net2'),
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    assert.equal((await lab.ds.list('dockerNetwork')).items.length, 1);
    const used = (await new Ipam(lab.ds).usage()).find((u) => u.pool.cidr === NET2);
    assert.equal(used?.allocated, 0, 'every net2 address released');
    await sleep(500);
    const rules = await lab.host('a').ns.exec('iptables-save', ['-t', 'filter']);
    assert.equal(
      rules.split('\n').filter((l) => l.startsWith(':TSNET-NET-')).length,
      1,
      'only net1 keeps a chain',
    );

    // removing net1 on b while c1 still runs on a: gone cluster-wide, a keeps its copy until c1 goes
    await dk.docker('b', ['rm', '-f', 'c2']);
    await dk.docker('b', ['network', 'rm', 'net1']);
    assert.equal((await lab.ds.list('dockerNetwork')).items.length, 0);
    await sleep(2500);
    assert.ok(
      (await dk.docker('a', ['network', 'ls', '--format', '{{.Name}}'])).includes('net1'),
      'in use on a: kept',
    );
    assert.ok(
      !(await dk.docker('b', ['network', 'ls', '--format', '{{.Name}}'])).includes('net1'),
      'not re-created on b',
    );
    await dk.docker('a', ['rm', '-f', 'c1']);
    await waitFor(
      'net1 gone from host a once unused',
      async () => !(await dk.docker('a', ['network', 'ls', '--format', '{{.Name}}'])).includes('net1'),
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    assert.equal((await lab.ds.list('dockerNetwork')).items.length, 0);
    assert.equal((await lab.ds.list('dockerEndpoint')).items.length, 0);
  });
});
