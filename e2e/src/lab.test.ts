// tsctl lab end to end, through the real bin: up builds 3 hosts with agents and workloads and
// every workload pings every other; status and exec see the running lab; down removes every
// namespace, process and directory, and a second down is a no-op.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import {
  dockerdUnsupportedReason,
  netnsUnsupportedReason,
  processesMentioning,
  run,
  tempDir,
  uniquePrefix,
} from '@tsnet/testkit';

const TSCTL = fileURLToPath(new URL('../../apps/tsctl/bin/tsctl.js', import.meta.url));

function tsctl(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 180_000) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [TSCTL, ...args], { env, timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const labNamespaces = async (prefix: string) =>
  (await run('ip', ['netns', 'list'])).split('\n').filter((l) => l.startsWith(prefix));

test('lab up / status / exec / down', { skip: netnsUnsupportedReason(), timeout: 300_000 }, async () => {
  const dir = await tempDir('lab');
  const prefix = `${uniquePrefix('l').slice(0, 7)}-`;
  const env = { ...process.env, TSNET_LAB_DIR: `${dir.path}/lab`, TSNET_LAB_PREFIX: prefix };
  try {
    const up = await tsctl(['lab', 'up', '--hosts', '3', '-o', 'json'], env);
    assert.equal(up.code, 0, `lab up failed: ${up.stderr}`);
    const report = JSON.parse(up.stdout) as {
      hosts: Array<{ name: string; running: boolean; peers: Array<{ state: string }>; routes: string[] }>;
      ping: Record<string, boolean>;
    };
    assert.deepEqual(report.hosts.map((h) => h.name), ['h1', 'h2', 'h3']);
    for (const h of report.hosts) {
      assert.ok(h.running, `${h.name} agent answers`);
      assert.deepEqual(h.peers.map((p) => p.state), ['up', 'up'], `${h.name} peers`);
      // two remote blocks learned over BGP (one per other host) plus the local blackhole
      assert.ok(h.routes.length >= 3, `${h.name} routes: ${h.routes.join('; ')}`);
    }
    assert.equal(Object.keys(report.ping).length, 6);
    assert.ok(Object.values(report.ping).every(Boolean), JSON.stringify(report.ping));
    assert.match(up.stderr, /waiting for the BGP mesh/, 'progress lines on stderr with -o json');

    const again = await tsctl(['lab', 'up'], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /a lab is already up \(3 hosts, native\); run 'tsctl lab down' first/);

    const status = await tsctl(['lab', 'status'], env, 60_000);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /IPv4 BGP status/);
    assert.match(status.stdout, /6\/6 workload pairs reach each other/);

    const exec = await tsctl(['lab', 'exec', 'h2', '--', 'tsctl', 'status', '-o', 'json'], env, 30_000);
    assert.equal(exec.code, 0, exec.stderr);
    assert.equal((JSON.parse(exec.stdout) as { node: { name: string } }).node.name, 'h2');
    const bad = await tsctl(['lab', 'exec', 'h9', '--', 'true'], env, 30_000);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no host h9 in the lab; hosts are h1, h2, h3/);
  } finally {
    const down = await tsctl(['lab', 'down'], env, 60_000);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await labNamespaces(prefix), []);
    assert.ok(!existsSync(`${dir.path}/lab`), 'lab dir removed');
    const second = await tsctl(['lab', 'down'], env, 60_000);
    assert.match(second.stdout, /no lab was running/);
    await dir.remove();
  }
});

test(
  'lab up --docker: real containers on two hosts reach each other through the tsnet plugin',
  { skip: netnsUnsupportedReason() ?? dockerdUnsupportedReason(), timeout: 400_000 },
  async () => {
    const dir = await tempDir('labd');
    const prefix = `${uniquePrefix('d').slice(0, 7)}-`;
    const env = { ...process.env, TSNET_LAB_DIR: `${dir.path}/lab`, TSNET_LAB_PREFIX: prefix };
    try {
      const up = await tsctl(['lab', 'up', '--hosts', '2', '--docker', '-o', 'json'], env, 360_000);
      assert.equal(up.code, 0, `lab up --docker failed: ${up.stderr}`);
      const report = JSON.parse(up.stdout) as { workloads: string; ping: Record<string, boolean> };
      assert.equal(report.workloads, 'docker');
      assert.deepEqual(report.ping, { 'h1->h2': true, 'h2->h1': true });
      assert.match(up.stderr, /docker network create --driver tsnet --ipam-driver tsnet --subnet 10\.65\.0\.0\/16 labnet/);
      const ps = await tsctl(['lab', 'exec', 'h2', '--', 'docker', 'ps', '--format', '{{.Names}}'], env, 30_000);
      assert.equal(ps.stdout.trim(), 'w-h2');
    } finally {
      const down = await tsctl(['lab', 'down'], env, 120_000);
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, /stopped dockerd h1/);
      assert.deepEqual(await labNamespaces(prefix), []);
      const left = [];
      for (const pid of await processesMentioning(dir.path)) {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
        if (stat && !/^\d+ \(.*\) Z /.test(stat)) left.push(pid); // zombies are not running
      }
      assert.deepEqual(left, [], 'no process of the lab is left');
      await dir.remove();
    }
  },
);

/** Whether this kernel can make ipip devices (probed in a scratch namespace). */
async function kernelHasIpip(): Promise<boolean> {
  const ns = `${uniquePrefix('p')}`;
  await run('ip', ['netns', 'add', ns]);
  try {
    return await run('ip', ['-n', ns, 'link', 'add', 'p0', 'type', 'ipip']).then(
      () => true,
      () => false,
    );
  } finally {
    await run('ip', ['netns', 'del', ns]);
  }
}

test('lab up --mode ipip on a kernel without ipip: one line saying why, nothing left', { skip: netnsUnsupportedReason(), timeout: 120_000 }, async (t) => {
  if (await kernelHasIpip()) return t.skip('this kernel has ipip, so the lab runs instead of refusing');
  const dir = await tempDir('labi');
  const prefix = `${uniquePrefix('i').slice(0, 7)}-`;
  const env = { ...process.env, TSNET_LAB_DIR: `${dir.path}/lab`, TSNET_LAB_PREFIX: prefix };
  try {
    const r = await tsctl(['lab', 'up', '--mode', 'ipip'], env, 60_000);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "--mode ipip needs the kernel's ipip module (modprobe ipip), which this kernel lacks: use --mode vxlan\n");
    assert.deepEqual(await labNamespaces(prefix), []);
    assert.ok(!existsSync(`${dir.path}/lab`), 'lab dir removed');
  } finally {
    await tsctl(['lab', 'down'], env, 60_000);
    await dir.remove();
  }
});
