// `tsctl node --detach`, `status`, `node show`, `node stop` against the real agent (apps/node),
// all inside a network namespace of the test's own: eth0 (one end of a veth pair) holds 198.51.100.1/24 and the
// default route (so IP detection is exercised), etcd runs in the same namespace on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netns, TrackedProcess, netnsUnsupportedReason, run, tempDir, uniquePrefix, waitFor } from '@tsnet/testkit';
import { tsctl } from './test-helpers.js';

const BIN = fileURLToPath(new URL('../bin/tsctl.js', import.meta.url));
const skip = netnsUnsupportedReason();

test('node --detach starts the agent; status, node show and node stop talk to it', { skip, timeout: 120_000 }, async () => {
  const ns = await Netns.create(uniquePrefix('ctl'));
  const dir = await tempDir('tsctl-agent');
  const runDir = join(dir.path, 'run');
  let etcd: TrackedProcess | undefined;
  let agentPid: number | undefined;
  /** tsctl inside the namespace (as an operator on that host would run it); rejects on exit ≠ 0 */
  const inNs = (...args: string[]): Promise<string> =>
    run('ip', ['netns', 'exec', ns.name, 'env', 'TSNET_RT_PROTOS_FILE=', `TSNET_RUN_DIR=${runDir}`, 'ETCD_ENDPOINTS=http://127.0.0.1:2379', process.execPath, BIN, ...args], 90_000);
  try {
    await ns.ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer');
    await ns.ip('addr', 'add', '198.51.100.1/24', 'dev', 'eth0');
    await ns.ip('link', 'set', 'eth0-peer', 'up');
    await ns.ip('link', 'set', 'eth0', 'up');
    await ns.ip('route', 'add', 'default', 'via', '198.51.100.254', 'dev', 'eth0', 'onlink');
    etcd = new TrackedProcess(
      'etcd',
      'ip',
      [
        'netns', 'exec', ns.name, 'etcd', '--name', 'n', '--data-dir', join(dir.path, 'etcd'),
        '--listen-client-urls', 'http://127.0.0.1:2379', '--advertise-client-urls', 'http://127.0.0.1:2379',
        '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
        '--initial-cluster', 'n=http://127.0.0.1:2380', '--log-level', 'warn', '--logger', 'zap',
      ],
      { logFile: join(dir.path, 'etcd.log') },
    );
    await waitFor('etcd in the namespace', async () => (await ns.exec('busybox', ['wget', '-qO-', 'http://127.0.0.1:2379/health'], 3000)).includes('true'), {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    await inNs('bgp', 'peer', 'add', '198.51.100.2', 'as', '64512');

    const started = await inNs('node', '--detach', '--name', 'host1', '--metrics-addr', '127.0.0.1:9099');
    const lines = started.trimEnd().split('\n');
    assert.equal(lines[0], 'No IP provided. Using detected IP: 198.51.100.1');
    assert.ok(lines.includes('waiting for etcd at http://127.0.0.1:2379'), started);
    assert.ok(lines.includes('registering node host1 (198.51.100.1)'), started);
    assert.ok(lines.some((l) => l.startsWith('BGP listening on 198.51.100.1:179')), started);
    const m = /^tsnet node is running \(pid (\d+)\)$/.exec(lines.at(-1)!);
    assert.ok(m, started);
    agentPid = Number(m[1]);

    // status in this process: the control socket is a file in the run dir
    const status = await tsctl(['status', '--run-dir', runDir]);
    assert.equal(status.code, 0, status.stderr);
    const out = status.stdout.split('\n');
    assert.match(out[0]!, /^tsnet node is running\. Status: Up (Less than a second|\d+ seconds?)$/);
    assert.deepEqual(out.slice(1, 4), ['', 'IPv4 BGP status', 'IP: 198.51.100.1    AS Number: 64511 (inherited)']);
    assert.match(out[5]!, /^\| Peer address \| Peer type \| {4}State {4}\| {2}Since {3}\| +Info +\|$/, status.stdout);
    assert.match(out[7]!, /^\| 198\.51\.100\.2 \| {2}global {3}\| +(start|down) +\| \d\d:\d\d:\d\d \| +\w+.* +\|$/, status.stdout);
    assert.ok(out.includes('No IPv6 address configured.'), status.stdout);
    const json = JSON.parse((await tsctl(['status', '-o', 'json', '--run-dir', runDir])).stdout);
    assert.equal(json.pid, agentPid);
    assert.equal(json.node.name, 'host1');
    assert.equal(json.peers[0].address, '198.51.100.2');
    assert.equal(typeof json.peers[0].prefixesReceived, 'number');

    await assert.rejects(inNs('node', '--detach', '--name', 'host1'), new RegExp(`tsnet node is already running on ${runDir} \\(pid ${agentPid}\\)`));
    const nodes = await inNs('node', 'show');
    assert.match(nodes, /\| {2}host1 {3}\| 198\.51\.100\.1 \| +\| 64511 \(inherited\) \| {3}up {3}\|/);
    const pools = await inNs('pool', 'show');
    assert.match(pools, /192\.168\.0\.0\/16/, 'the agent created the default pools');
    assert.match(pools, /fd80:24e2:f998:72d6::\/64/);
    const version = await tsctl(['version', '--run-dir', runDir]);
    assert.equal(version.stdout, 'Client version: 0.1.0\nNode version:   0.1.0\n');

    const stopped = await tsctl(['node', 'stop', '--run-dir', runDir]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stdout, `Stopping tsnet node (pid ${agentPid}) ...\ntsnet node stopped\n`);
    const after = await tsctl(['status', '--run-dir', runDir]);
    assert.equal(after.code, 1);
    assert.equal(after.stderr, 'tsnet node is not running\n');
  } finally {
    if (agentPid) {
      try {
        process.kill(agentPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await etcd?.stop();
    await ns.delete();
    await dir.remove();
  }
});
