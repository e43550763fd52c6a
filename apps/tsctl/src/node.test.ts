// `tsctl node show|remove|bgp peer|stop` against a real etcd and real processes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { Datastore } from '@tsnet/datastore';
import { Ipam } from '@tsnet/ipam';
import { pidFilePath } from '@tsnet/node/control-api';
import { TrackedProcess, tempDir } from '@tsnet/testkit';
import { assertRejected, etcdSuite, tsctl } from './test-helpers.js';

describe('tsctl node (datastore commands)', () => {
  let url: string;
  let env: Record<string, string>;
  let ds: Datastore;
  etcdSuite((h) => ({ url, env, ds } = h));

  const ago = (ms: number): string => new Date(Date.now() - ms).toISOString();

  async function twoNodes(): Promise<void> {
    await ds.putNode({ name: 'host1', ipv4: '198.51.100.1', ipv6: 'fd00::1' });
    await ds.putNode({ name: 'host2', ipv4: '198.51.100.2', asn: 64512 });
    await ds.heartbeat({ node: 'host1', heartbeat: ago(2000), pid: 10 });
    await ds.heartbeat({ node: 'host2', heartbeat: ago(120_000), pid: 11 });
  }

  test('show: table with inherited AS and heartbeat status; json', async () => {
    let r = await tsctl(['node', 'show'], env);
    assert.equal(r.stdout, 'No nodes registered. Start one with: tsctl node\n');
    await twoNodes();
    r = await tsctl(['node', 'show'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        '+----------+--------------+---------+-------------------+--------+',
        '| Hostname |     IPv4     |  IPv6   |      AS Num       | Status |',
        '+----------+--------------+---------+-------------------+--------+',
        '|  host1   | 198.51.100.1 | fd00::1 | 64511 (inherited) |   up   |',
        '|  host2   | 198.51.100.2 |         |       64512       |  down  |',
        '+----------+--------------+---------+-------------------+--------+',
        '',
      ].join('\n'),
    );
    await tsctl(['bgp', 'default-node-as', '64600'], env);
    r = await tsctl(['node', 'show', '-o', 'json'], env);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    assert.deepEqual(
      rows.map(({ lastHeartbeat, ...rest }) => (assert.equal(typeof lastHeartbeat, 'string'), rest)),
      [
        { name: 'host1', ipv4: '198.51.100.1', ipv6: 'fd00::1', asn: 64600, asnInherited: true, status: 'up' },
        { name: 'host2', ipv4: '198.51.100.2', ipv6: null, asn: 64512, asnInherited: false, status: 'down' },
      ],
    );
  });

  test('remove: refused for unknown, running, or in-use nodes; --remove-endpoints releases', async () => {
    await twoNodes();
    await tsctl(['pool', 'add', '10.10.0.0/24'], env);
    const ipam = new Ipam(ds);
    const a = await ipam.autoAssign({ handle: 'c1', node: 'host2' });
    await ipam.autoAssign({ handle: 'c2', node: 'host2' });

    await assertRejected(url, ['node', 'remove', '--name', 'host9'], 1, /^node host9 is not registered: see tsctl node show\n$/);
    await assertRejected(url, ['node', 'remove', '--name', 'host1'], 1, /^node host1 is running \(last heartbeat \d+ s ago\): stop its agent first/);
    await assertRejected(
      url,
      ['node', 'remove', '--name', 'host2'],
      1,
      /^node host2 still has 2 addresses in use: remove its containers first, or pass --remove-endpoints to release them\n$/,
    );
    await assertRejected(url, ['node', 'remove'], 2, /^node remove needs the node's name/);

    const r = await tsctl(['node', 'remove', '--name', 'host2', '--remove-endpoints'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Removed node host2 (released 2 addresses, freed 1 block)\n');
    assert.equal(await ds.getNode('host2'), undefined);
    assert.equal((await tsctl(['ipam', 'show', '--ip', a.ip], env)).stdout, `IP ${a.ip} is not assigned\n`);
    assert.deepEqual(JSON.parse((await tsctl(['node', 'show', '-o', 'json'], env)).stdout).map((n: { name: string }) => n.name), ['host1']);
  });

  test('remove without endpoints in use frees the node without the flag', async () => {
    await twoNodes();
    const r = await tsctl(['node', 'remove', '--name', 'host2'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Removed node host2\n');
  });

  test('node bgp peer: peers of this node (--name or HOSTNAME)', async () => {
    await twoNodes();
    let r = await tsctl(['node', 'bgp', 'peer', 'add', '198.51.100.20', 'as', '64520', '--name', 'host1'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Added node specific BGP peer 198.51.100.20 (AS 64520)\n');
    r = await tsctl(['node', 'bgp', 'peer', 'add', '198.51.100.21', 'as', '64521'], { ...env, HOSTNAME: 'host2' });
    assert.equal(r.code, 0, r.stderr);
    r = await tsctl(['node', 'bgp', 'peer', 'show', '--name', 'host1'], env);
    assert.equal(
      r.stdout,
      ['+---------------+--------+---------+', '| Peer address  | AS Num | Accepts |', '+---------------+--------+---------+', '| 198.51.100.20 | 64520  |  pools  |', '+---------------+--------+---------+', ''].join('\n'),
    );
    r = await tsctl(['node', 'bgp', 'peer', 'show', '-o', 'json'], { ...env, HOSTNAME: 'host2' });
    assert.deepEqual(JSON.parse(r.stdout), [{ ip: '198.51.100.21', asn: 64521, node: 'host2' }]);
    // the global list is separate
    assert.equal((await tsctl(['bgp', 'peer', 'show'], env)).stdout, 'No global BGP peers defined.\n');

    await assertRejected(url, ['node', 'bgp', 'peer', 'add', '198.51.100.22', 'as', '64522', '--name', 'host9'], 1, /^node host9 is not registered: start it with tsctl node, or name another node with --name/);
    await assertRejected(url, ['node', 'bgp', 'peer', 'remove', '198.51.100.21', '--name', 'host1'], 1, /^198\.51\.100\.21 is not a node specific BGP peer; list them with: tsctl node bgp peer show/);
    await assertRejected(url, ['node', 'bgp', 'peer', 'add', '198.51.100.22', 'as', '99999999999', '--name', 'host1'], 1, /^invalid AS number "99999999999"/);

    r = await tsctl(['node', 'bgp', 'peer', 'remove', '198.51.100.20', '--name', 'host1'], env);
    assert.equal(r.stdout, 'Removed node specific BGP peer 198.51.100.20\n');
  });
});

describe('tsctl node stop', () => {
  test('no pid file, stale pid file: not running, exit 1', async () => {
    const dir = await tempDir('tsctl-stop');
    try {
      let r = await tsctl(['node', 'stop', '--run-dir', dir.path]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `tsnet node is not running (no pid file ${pidFilePath(dir.path)})\n`);
      const gone = new TrackedProcess('short-lived', process.execPath, ['-e', '']);
      await gone.exited;
      await writeFile(pidFilePath(dir.path), `${gone.pid}\n`);
      r = await tsctl(['node', 'stop', '--run-dir', dir.path]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^tsnet node is not running \(stale pid file .*: pid \d+ is not a tsnet node\)\n$/);
    } finally {
      await dir.remove();
    }
  });

  test('SIGTERMs the process in the pid file and waits for it to exit', async () => {
    const dir = await tempDir('tsctl-stop');
    // a stand-in agent: a Node.js process that exits 300 ms after SIGTERM (like a clean shutdown)
    const agent = new TrackedProcess('fake-agent', process.execPath, [
      '-e',
      "process.on('SIGTERM', () => setTimeout(() => process.exit(0), 300)); setInterval(() => {}, 1000);",
    ]);
    try {
      await new Promise((r) => setTimeout(r, 300));
      await writeFile(pidFilePath(dir.path), `${agent.pid}\n`);
      const r = await tsctl(['node', 'stop'], { TSNET_RUN_DIR: dir.path });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `Stopping tsnet node (pid ${agent.pid}) ...\ntsnet node stopped\n`);
      // it has exited (tsctl saw it gone); its exit event reaches this process a moment later
      const code = await Promise.race([agent.exited, new Promise((r) => setTimeout(() => r('still running'), 2000))]);
      assert.equal(code, 0);
    } finally {
      await agent.stop();
      await dir.remove();
    }
  });
});
