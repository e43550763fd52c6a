import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EtcdCluster, Netns, netnsUnsupportedReason, tempDir, uniquePrefix, waitFor } from '@tsnet/testkit';
import { Datastore } from '@tsnet/datastore';
import { Ipam } from '@tsnet/ipam';
import { ExecaRunner } from '@tsnet/dataplane';
import { startPluginServer, type PluginServer } from './plugin.js';
import { ipamAllocator } from './ipam-allocator.js';
import { PLUGIN_CONTENT_TYPE } from './protocol.js';
import type { StoredEndpoint } from './datastore-records.js';
import { post } from './plugin-client.test-util.js';

const POOL = '10.70.0.0/16';
const TINY = '10.71.0.0/30';

describe(
  'plugin server on a unix socket (real etcd, veths in a namespace)',
  { skip: netnsUnsupportedReason() },
  () => {
    let etcd: EtcdCluster;
    let ds: Datastore;
    let ns: Netns;
    let dir: { path: string; remove: () => Promise<void> };
    let server: PluginServer;
    let sock: string;
    const activeOf = async (id: string): Promise<boolean | undefined> =>
      ((await ds.get('dockerEndpoint', id))?.value as StoredEndpoint | undefined)?.active;
    const start = async (): Promise<PluginServer> =>
      startPluginServer({
        socketPath: sock,
        datastore: ds,
        allocator: ipamAllocator(new Ipam(ds)),
        nodeName: 'node-a',
        runner: new ExecaRunner({ netns: ns.name }),
      });

    before(async () => {
      etcd = await EtcdCluster.start();
      ds = await Datastore.connect({ endpoints: etcd.endpoints, prefix: '/plugintest' });
      const ipam = new Ipam(ds);
      await ipam.addPool({ cidr: POOL, ipipMode: 'always' });
      await ipam.addPool({ cidr: TINY, blockSize: 30 });
      await ipam.addPool({ cidr: 'fd70::/64' });
      ns = await Netns.create(uniquePrefix('lnw'));
      dir = await tempDir('lnw');
      sock = join(dir.path, 'tsnet.sock');
      server = await start();
    });
    after(async () => {
      await server?.close();
      await ns?.delete();
      await dir?.remove();
      await ds?.close();
      await etcd?.stop();
    });

    test('Activate and capabilities, empty bodies, v1.2 content type', async () => {
      const act = await post(sock, '/Plugin.Activate');
      assert.equal(act.status, 200);
      assert.equal(act.contentType, PLUGIN_CONTENT_TYPE);
      assert.deepEqual(act.body, { Implements: ['NetworkDriver', 'IpamDriver'] });
      assert.deepEqual((await post(sock, '/NetworkDriver.GetCapabilities')).body, {
        Scope: 'local',
        ConnectivityScope: 'global',
      });
      assert.deepEqual((await post(sock, '/IpamDriver.GetCapabilities', {})).body, {
        RequiresMACAddress: false,
        RequiresRequestReplay: false,
      });
      assert.deepEqual((await post(sock, '/IpamDriver.GetDefaultAddressSpaces')).body, {
        LocalDefaultAddressSpace: 'tsnet-local',
        GlobalDefaultAddressSpace: 'tsnet-global',
      });
    });

    test('RequestPool: a tsnet pool, any pool, a foreign subnet (IPAM error field), --ip-range', async () => {
      assert.deepEqual(
        (await post(sock, '/IpamDriver.RequestPool', { AddressSpace: 'tsnet-local', Pool: POOL, V6: false }))
          .body,
        { PoolID: POOL, Pool: POOL, Data: {} },
      );
      assert.deepEqual(
        (await post(sock, '/IpamDriver.RequestPool', { AddressSpace: 'tsnet-local', V6: false })).body,
        {
          PoolID: 'tsnet-any-ipv4',
          Pool: '0.0.0.0/0',
          Data: {},
        },
      );
      assert.deepEqual((await post(sock, '/IpamDriver.RequestPool', { V6: true })).body, {
        PoolID: 'tsnet-any-ipv6',
        Pool: '::/0',
        Data: {},
      });
      const foreign = await post(sock, '/IpamDriver.RequestPool', { Pool: '172.30.0.0/16' });
      assert.equal(foreign.status, 200);
      assert.deepEqual(Object.keys(foreign.body), ['Error'], 'the IPAM client reads Error, not Err');
      assert.match(
        String(foreign.body.Error),
        /^subnet 172\.30\.0\.0\/16 is not a tsnet pool .*tsctl pool add 172\.30\.0\.0\/16/,
      );
      assert.match(
        String(
          (await post(sock, '/IpamDriver.RequestPool', { Pool: POOL, SubPool: '10.70.1.0/24' })).body.Error,
        ),
        /--ip-range/,
      );
      assert.deepEqual((await post(sock, '/IpamDriver.ReleasePool', { PoolID: POOL })).body, {});
    });

    test('RequestAddress: gateway is link-local and free, auto, specific --ip, taken, exhausted, release twice', async () => {
      const gw = await post(sock, '/IpamDriver.RequestAddress', {
        PoolID: POOL,
        Options: { RequestAddressType: 'com.docker.network.gateway' },
      });
      assert.deepEqual(gw.body, { Address: '169.254.1.1/32', Data: {} });
      const a = await post(sock, '/IpamDriver.RequestAddress', { PoolID: POOL, Address: '' });
      assert.match(String(a.body.Address), /^10\.70\.\d+\.\d+\/32$/);
      const specific = await post(sock, '/IpamDriver.RequestAddress', { PoolID: POOL, Address: '10.70.9.9' });
      assert.deepEqual(specific.body, { Address: '10.70.9.9/32', Data: {} });
      const taken = await post(sock, '/IpamDriver.RequestAddress', { PoolID: POOL, Address: '10.70.9.9' });
      assert.match(
        String(taken.body.Error),
        /^cannot assign address 10\.70\.9\.9 from tsnet pool 10\.70\.0\.0\/16: /,
      );
      const outside = await post(sock, '/IpamDriver.RequestAddress', { PoolID: POOL, Address: '10.80.0.1' });
      assert.match(String(outside.body.Error), /outside tsnet pool/);
      const any = await post(sock, '/IpamDriver.RequestAddress', { PoolID: 'tsnet-any-ipv4' });
      assert.match(String(any.body.Address), /\/32$/);
      const v6 = await post(sock, '/IpamDriver.RequestAddress', { PoolID: 'tsnet-any-ipv6' });
      assert.match(String(v6.body.Address), /^fd70::[0-9a-f:]*\/128$/);

      const tiny: string[] = [];
      for (let i = 0; i < 4; i++)
        tiny.push(String((await post(sock, '/IpamDriver.RequestAddress', { PoolID: TINY })).body.Address));
      assert.equal(new Set(tiny).size, 4);
      const exhausted = await post(sock, '/IpamDriver.RequestAddress', { PoolID: TINY });
      assert.match(
        String(exhausted.body.Error),
        /^cannot assign an address from tsnet pool 10\.71\.0\.0\/30: /,
      );

      for (const addr of [
        ...tiny,
        String(a.body.Address),
        '10.70.9.9/32',
        String(any.body.Address),
        String(v6.body.Address),
      ]) {
        assert.deepEqual(
          (await post(sock, '/IpamDriver.ReleaseAddress', { PoolID: POOL, Address: addr })).body,
          {},
        );
      }
      assert.deepEqual(
        (await post(sock, '/IpamDriver.ReleaseAddress', { PoolID: POOL, Address: '10.70.9.9' })).body,
        {},
        'repeat is fine',
      );
      assert.deepEqual(
        (await post(sock, '/IpamDriver.ReleaseAddress', { PoolID: POOL, Address: '169.254.1.1' })).body,
        {},
      );
      const again = await post(sock, '/IpamDriver.RequestAddress', { PoolID: POOL, Address: '10.70.9.9' });
      assert.deepEqual(
        again.body,
        { Address: '10.70.9.9/32', Data: {} },
        'released address can be taken again',
      );
      await post(sock, '/IpamDriver.ReleaseAddress', { PoolID: POOL, Address: '10.70.9.9/32' });
    });

    test('network and endpoint lifecycle: records, veth with pool MTU, Join reply, Leave, delete', async () => {
      const netId = 'a1'.repeat(32);
      const epId = 'e1'.repeat(32);
      const created = await post(sock, '/NetworkDriver.CreateNetwork', {
        NetworkID: netId,
        Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
        IPv4Data: [{ AddressSpace: 'tsnet-local', Pool: POOL, Gateway: '169.254.1.1/32' }],
        IPv6Data: [],
      });
      assert.deepEqual(created.body, {});
      const repeated = await post(sock, '/NetworkDriver.CreateNetwork', {
        NetworkID: netId,
        IPv4Data: [{ Pool: POOL }],
      });
      assert.deepEqual(repeated.body, {}, 'a repeated CreateNetwork is fine');
      const rec = await ds.get('dockerNetwork', netId);
      assert.equal(rec?.value.pool, POOL);
      assert.deepEqual(rec?.value.options.dockerIds, { 'node-a': netId });

      const addr = String((await post(sock, '/IpamDriver.RequestAddress', { PoolID: POOL })).body.Address);
      const ep = await post(sock, '/NetworkDriver.CreateEndpoint', {
        NetworkID: netId,
        EndpointID: epId,
        Interface: { Address: addr, AddressIPv6: '', MacAddress: '' },
        Options: {},
      });
      assert.deepEqual(ep.body, {});
      const epAgain = await post(sock, '/NetworkDriver.CreateEndpoint', {
        NetworkID: netId,
        EndpointID: epId,
        Interface: { Address: addr },
      });
      assert.deepEqual(epAgain.body, {}, 'a repeated CreateEndpoint is fine');
      const stored = await ds.get('dockerEndpoint', epId);
      assert.equal(stored?.value.ipv4, addr);
      assert.equal(stored?.value.hostVeth, `ts${epId.slice(0, 11)}`);
      assert.equal(stored?.value.node, 'node-a');
      assert.equal((stored?.value as StoredEndpoint | undefined)?.active, false, 'not active before Join');

      const join = await post(sock, '/NetworkDriver.Join', {
        NetworkID: netId,
        EndpointID: epId,
        SandboxKey: '/var/run/docker/netns/x',
        Options: {},
      });
      assert.deepEqual(join.body, {
        InterfaceName: { SrcName: `tmp${epId.slice(0, 11)}`, DstPrefix: 'eth' },
        Gateway: '169.254.1.1',
        StaticRoutes: [{ Destination: '169.254.1.1/32', RouteType: 1 }],
        DisableGatewayService: true,
      });
      assert.equal(await activeOf(epId), true, 'active after Join');
      const link = await ns.ip('-o', 'link', 'show', `ts${epId.slice(0, 11)}`);
      assert.match(link, /state (UP|LOWERLAYERDOWN)|,UP/, 'host side up');
      assert.equal(
        (await ns.exec('cat', [`/proc/sys/net/ipv4/conf/ts${epId.slice(0, 11)}/proxy_arp`])).trim(),
        '1',
      );
      assert.match(
        await ns.ip('-o', 'link', 'show', `tmp${epId.slice(0, 11)}`),
        /link\/ether 0e:e1:e1:e1:e1:e1 /,
      );
      const neigh = await ns.ip('neigh', 'show', 'dev', `ts${epId.slice(0, 11)}`);
      assert.equal(
        neigh.trim(),
        `${addr.split('/')[0]} lladdr 0e:e1:e1:e1:e1:e1 PERMANENT`,
        'static neighbour for the workload',
      );
      assert.match(link, /mtu 1480/, 'ipip pool → 1480');
      assert.match(await ns.ip('-o', 'link', 'show', `tmp${epId.slice(0, 11)}`), /mtu 1480/);
      const again = await post(sock, '/NetworkDriver.Join', { NetworkID: netId, EndpointID: epId });
      assert.equal(
        (again.body.InterfaceName as { SrcName: string }).SrcName,
        `tmp${epId.slice(0, 11)}`,
        'a retried Join succeeds',
      );

      const info = await post(sock, '/NetworkDriver.EndpointOperInfo', {
        NetworkID: netId,
        EndpointID: epId,
      });
      assert.equal((info.body.Value as Record<string, string>).hostInterface, `ts${epId.slice(0, 11)}`);

      for (const p of [
        'DiscoverNew',
        'DiscoverDelete',
        'ProgramExternalConnectivity',
        'RevokeExternalConnectivity',
        'FreeNetwork',
      ]) {
        assert.deepEqual(
          (await post(sock, `/NetworkDriver.${p}`, { NetworkID: netId, EndpointID: epId })).body,
          {},
          p,
        );
      }
      assert.deepEqual((await post(sock, '/NetworkDriver.AllocateNetwork', { NetworkID: netId })).body, {
        Options: {},
      });

      assert.deepEqual(
        (await post(sock, '/NetworkDriver.Leave', { NetworkID: netId, EndpointID: epId })).body,
        {},
      );
      assert.equal(await activeOf(epId), false, 'inactive after Leave');
      await waitFor(
        'the veth to be deleted after Leave',
        () =>
          ns.ip('link', 'show', `ts${epId.slice(0, 11)}`).then(
            () => false,
            () => true,
          ),
        { timeoutMs: 5000 },
      );
      assert.deepEqual(
        (await post(sock, '/NetworkDriver.DeleteEndpoint', { NetworkID: netId, EndpointID: epId })).body,
        {},
      );
      assert.equal(await ds.get('dockerEndpoint', epId), undefined);
      assert.deepEqual(
        (await post(sock, '/NetworkDriver.DeleteEndpoint', { NetworkID: netId, EndpointID: epId })).body,
        {},
        'repeat is fine',
      );
      await post(sock, '/IpamDriver.ReleaseAddress', { PoolID: POOL, Address: addr });
      await ds.put('dockerEndpoint', 'remote-ep', {
        id: 'remote-ep',
        networkId: netId,
        ipv4: '10.70.3.3/32',
        hostVeth: 'tsremote',
        node: 'node-b',
      });
      const busy = await post(sock, '/NetworkDriver.DeleteNetwork', { NetworkID: netId });
      assert.deepEqual(busy.body, {}, 'dockerd deletes its copy anyway: the record goes too');
      assert.equal(await ds.get('dockerNetwork', netId), undefined);
      await ds.delete('dockerEndpoint', 'remote-ep');
      assert.deepEqual(
        (await post(sock, '/NetworkDriver.DeleteNetwork', { NetworkID: netId })).body,
        {},
        'repeat is fine',
      );
    });

    test('unknown network or endpoint, bad JSON, unknown method: clear errors, server keeps serving', async () => {
      const noNet = await post(sock, '/NetworkDriver.CreateEndpoint', {
        NetworkID: 'f'.repeat(64),
        EndpointID: 'e'.repeat(64),
        Interface: { Address: '10.70.0.5/32' },
      });
      assert.equal(noNet.status, 200);
      assert.deepEqual(Object.keys(noNet.body), ['Err'], 'the network client reads Err');
      assert.match(String(noNet.body.Err), /^network ffffffffffff is not a tsnet network/);
      const noEp = await post(sock, '/NetworkDriver.Join', {
        NetworkID: 'f'.repeat(64),
        EndpointID: 'e'.repeat(64),
      });
      assert.match(
        String(noEp.body.Err),
        /^endpoint eeeeeeeeeeee is unknown to tsnet: remove and recreate the container/,
      );
      const missing = await post(sock, '/NetworkDriver.Join', {});
      assert.equal(missing.body.Err, 'request is missing EndpointID');
      const noNetDelete = await post(sock, '/NetworkDriver.CreateNetwork', {});
      assert.equal(noNetDelete.body.Err, 'request is missing NetworkID');
      const bad = await post(sock, '/NetworkDriver.CreateNetwork', undefined, '{"NetworkID": ');
      assert.equal(bad.status, 400);
      assert.match(String(bad.body.Err), /^\/NetworkDriver\.CreateNetwork: request body is not valid JSON/);
      const arr = await post(sock, '/IpamDriver.RequestPool', undefined, '[1]');
      assert.equal(arr.status, 400);
      const unknown = await post(sock, '/NetworkDriver.Frobnicate', {});
      assert.equal(unknown.status, 404);
      assert.match(String(unknown.body.Err), /does not implement/);
      const badPool = await post(sock, '/IpamDriver.RequestAddress', { PoolID: 'nonsense' });
      assert.match(String(badPool.body.Error), /unknown PoolID "nonsense"/);
      assert.equal((await post(sock, '/Plugin.Activate')).status, 200, 'still serving');
    });

    test('a restart sweeps workload veths no active endpoint owns', async () => {
      await ns.ip('link', 'add', 'ts0123456789a', 'type', 'veth', 'peer', 'name', 'tmp0123456789a');
      await ns.ip('link', 'add', 'tsnotours', 'type', 'veth', 'peer', 'name', 'xnotours');
      await server.close();
      server = await start();
      await assert.rejects(ns.ip('link', 'show', 'ts0123456789a'), /does not exist/);
      await ns.ip('link', 'show', 'tsnotours');
    });

    test('records survive a plugin restart: Join after restart finds the endpoint', async () => {
      const netId = 'a2'.repeat(32);
      const epId = 'e2'.repeat(32);
      await post(sock, '/NetworkDriver.CreateNetwork', {
        NetworkID: netId,
        IPv4Data: [{ Pool: '0.0.0.0/0' }],
      });
      const addr = String(
        (await post(sock, '/IpamDriver.RequestAddress', { PoolID: 'tsnet-any-ipv4' })).body.Address,
      );
      await post(sock, '/NetworkDriver.CreateEndpoint', {
        NetworkID: netId,
        EndpointID: epId,
        Interface: { Address: addr },
      });
      await server.close();
      server = await start();
      const join = await post(sock, '/NetworkDriver.Join', { NetworkID: netId, EndpointID: epId });
      assert.equal(join.body.Gateway, '169.254.1.1');
      assert.equal(
        (await ds.get('dockerNetwork', netId))?.value.pool,
        undefined,
        'any-pool network has no pool',
      );
      await post(sock, '/NetworkDriver.Leave', { NetworkID: netId, EndpointID: epId });
      await post(sock, '/NetworkDriver.DeleteEndpoint', { NetworkID: netId, EndpointID: epId });
      await post(sock, '/IpamDriver.ReleaseAddress', { PoolID: 'tsnet-any-ipv4', Address: addr });
      await post(sock, '/NetworkDriver.DeleteNetwork', { NetworkID: netId });
    });
  },
);
