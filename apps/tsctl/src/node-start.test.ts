// `tsctl node [--detach]` up to the agent: IP detection parsing, refusal of a second agent, and
// the detached start's failure paths (child died → why, from its log; no answer → timeout with the
// last step). The agent never gets past etcd here, so nothing touches the network.
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { controlSocketPath } from '@tsnet/node/control-api';
import { freePort, tempDir, waitFor } from '@tsnet/testkit';
import { tsctl } from './test-helpers.js';
import { detectIpv4, parseDefaultRouteDevice, parseFirstIpv4 } from './commands/detect-ip.js';

test('IP detection: the default route interface and its first global IPv4 address', async () => {
  const routes = '[{"dst":"default","gateway":"198.51.100.254","dev":"eth0","flags":[]}]';
  const addrs =
    '[{"ifindex":2,"ifname":"eth0","addr_info":[{"family":"inet","local":"198.51.100.1","prefixlen":24,"scope":"global"}]}]';
  assert.equal(parseDefaultRouteDevice(routes), 'eth0');
  assert.equal(parseDefaultRouteDevice('[]'), undefined);
  assert.deepEqual(parseFirstIpv4(addrs), { ip: '198.51.100.1', prefixLength: 24 });
  const fake = async (_cmd: string, args: string[]): Promise<string> => (args.includes('route') ? routes : addrs);
  assert.deepEqual(await detectIpv4(fake), { ip: '198.51.100.1', prefixLength: 24, dev: 'eth0' });
  await assert.rejects(detectIpv4(async () => '[]'), {
    message: "cannot detect this host's IP: there is no IPv4 default route; pass the address with --ip IP",
  });
  await assert.rejects(
    detectIpv4(async (_c, args) => (args.includes('route') ? routes : '[{"ifname":"eth0","addr_info":[]}]')),
    /eth0 \(the default route's interface\) has no IPv4 address; pass the address with --ip IP/,
  );
});

test('bad --ip, --ip6, --as are refused before anything starts', async () => {
  const dir = await tempDir('tsctl-node');
  try {
    const cases: [string[], RegExp][] = [
      [['--ip', '198.51.100.300'], /^invalid --ip "198\.51\.100\.300": expected an IPv4 address such as 198\.51\.100\.1\n$/],
      [['--ip', 'fd00::1'], /^invalid --ip "fd00::1": expected an IPv4 address/],
      [['--ip', '198.51.100.1', '--ip6', '198.51.100.1'], /^invalid --ip6 "198\.51\.100\.1": expected an IPv6 address such as fd00::1/],
      [['--ip', '198.51.100.1', '--as', '0'], /^invalid AS number "0": must be an integer in 1\.\.4294967295/],
      [['--ip', '198.51.100.1', '--timeout', 'soon'], /^invalid --timeout "soon": give the seconds to wait, e.g\. --timeout 120\n$/],
    ];
    for (const [args, message] of cases) {
      const r = await tsctl(['node', '--detach', '--run-dir', dir.path, ...args]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
  } finally {
    await dir.remove();
  }
});

test('a second agent on the same run dir is refused', async () => {
  const dir = await tempDir('tsctl-node');
  const server = createServer((_req, res) => res.end(JSON.stringify({ running: true, pid: 4242 })));
  try {
    await new Promise<void>((r) => server.listen(controlSocketPath(dir.path), r));
    const r = await tsctl(['node', '--detach', '--ip', '198.51.100.1', '--run-dir', dir.path]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `tsnet node is already running on ${dir.path} (pid 4242); stop it first with: tsctl node stop\n`);
  } finally {
    await new Promise((r) => server.close(r));
    await dir.remove();
  }
});

function startArgs(runDir: string, metricsPort: number, extra: string[]): string[] {
  return ['node', '--detach', '--ip', '198.51.100.1', '--name', 'tsctl-test', '--run-dir', runDir, '--metrics-addr', `127.0.0.1:${metricsPort}`, ...extra];
}
// the agent gives up on an unreachable etcd after TSNET_ETCD_WAIT_MS (60 s by default)
const childEnv = { PATH: process.env.PATH, TSNET_BGP_PORT: '1179', TSNET_ETCD_WAIT_MS: '5000' };

test('--detach: the child dies during start → exit 1 with the reason from its log', async () => {
  const dir = await tempDir('tsctl-node');
  try {
    const r = await tsctl(startArgs(dir.path, await freePort(), ['--etcd-ca', '/nonexistent/ca.pem']), childEnv);
    assert.equal(r.code, 1, r.stdout);
    const log = join(dir.path, 'tsnet.log');
    assert.equal(
      r.stderr,
      'tsnet node exited during start (code 1): cannot read etcd CA certificate /nonexistent/ca.pem: ENOENT; ' +
        `check --etcd-ca/ETCD_CA_CERT_FILE (full log: ${log})\n`,
    );
    assert.doesNotMatch(r.stdout, /cannot read/, 'the reason is printed once, as the error, not as progress');
    assert.match(await readFile(log, 'utf8'), /cannot read etcd CA certificate/);
  } finally {
    await dir.remove();
  }
});

test('--detach: no answer within --timeout → exit 1 naming the last step; --log-dir holds the log', async () => {
  const dir = await tempDir('tsctl-node');
  const logDir = join(dir.path, 'logs');
  let pid: number | undefined;
  try {
    const r = await tsctl(
      startArgs(join(dir.path, 'run'), await freePort(), ['--etcd-endpoints', 'http://127.0.0.1:9', '--timeout', '2', '--log-dir', logDir]),
      childEnv,
    );
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'waiting for etcd at http://127.0.0.1:9\n', 'progress relayed from the child');
    const m = /^tsnet node \(pid (\d+)\) did not answer on (.*) within 2 s \(last step: waiting for etcd at http:\/\/127\.0\.0\.1:9\); it keeps trying in the background: see (.*), or stop it with: tsctl node stop\n$/.exec(r.stderr);
    assert.ok(m, r.stderr);
    pid = Number(m[1]);
    assert.equal(m[2], controlSocketPath(join(dir.path, 'run')));
    assert.equal(m[3], join(logDir, 'tsnet.log'));
    // the agent gives up on etcd by itself (5 s) and says why in the log
    await waitFor('the detached child to exit', () => !isAlive(pid!), { timeoutMs: 15_000, intervalMs: 200 });
    assert.match(await readFile(join(logDir, 'tsnet.log'), 'utf8'), /cannot reach etcd at http:\/\/127\.0\.0\.1:9/);
  } finally {
    if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
    await dir.remove();
  }
});

function isAlive(pid: number): boolean {
  // a zombie (exited, not yet reaped by init) is not alive
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
