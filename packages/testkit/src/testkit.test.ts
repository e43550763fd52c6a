import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster, Underlay, netnsUnsupportedReason, waitFor, freePort } from './index.js';

test('waitFor returns the first truthy value and times out with the reason', async () => {
  let n = 0;
  assert.equal(await waitFor('n to reach 3', () => (++n >= 3 ? n : undefined), { intervalMs: 1 }), 3);
  await assert.rejects(
    waitFor('never', () => false, { timeoutMs: 30, intervalMs: 5 }),
    /timed out after 30 ms waiting for never/,
  );
});

test('freePort gives a bindable port', async () => {
  const p = await freePort();
  assert.ok(p > 0 && p < 65536);
});

test('a real etcd starts, answers, restarts on its data dir, and is removed', async () => {
  const etcd = await EtcdCluster.start(1);
  try {
    const url = etcd.endpoints[0]!;
    const put = await fetch(`${url}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from('k').toString('base64'), value: Buffer.from('v').toString('base64') }),
    });
    assert.equal(put.status, 200);
    await etcd.restart(0);
    const got = await fetch(`${url}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from('k').toString('base64') }),
    });
    const body = (await got.json()) as { kvs?: { value: string }[] };
    assert.equal(Buffer.from(body.kvs![0]!.value, 'base64').toString(), 'v');
  } finally {
    await etcd.stop();
  }
});

test('underlay hosts reach each other and nothing is left behind', { skip: netnsUnsupportedReason() }, async () => {
  const net = await Underlay.create();
  try {
    const a = await net.addHost('a', '198.51.100.1/24', '198.51.100.254');
    const b = await net.addHost('b', '203.0.113.1/24', '203.0.113.254');
    // routed through the switch namespace (two subnets); the first ping may wait on ARP at both hops
    await waitFor(`${a.ip} to ping ${b.ip} across the switch`, () =>
      a.ns.exec('busybox', ['ping', '-c1', '-W1', b.ip]).then(() => true),
    { timeoutMs: 10_000, intervalMs: 200 });
  } finally {
    await net.destroy();
  }
  const { execFileSync } = await import('node:child_process');
  assert.ok(!execFileSync('ip', ['netns', 'list']).toString().includes(net.prefix));
});
