import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Netns, netnsUnsupportedReason, uniquePrefix } from '@tsnet/testkit';
import { IpBatchSession } from './ip-session.js';

test('ip batch session: batches complete, failures are reported, the session is reused', { skip: netnsUnsupportedReason() }, async () => {
  const ns = await Netns.create(uniquePrefix('ips'));
  const s = new IpBatchSession(ns.name);
  try {
    await ns.ip('link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1');
    await ns.ip('link', 'set', 'd0', 'up');
    assert.equal(await s.run(['route replace 203.0.113.0/24 dev d0 proto 80', 'route replace blackhole 198.51.100.0/26 proto 80']), '');
    assert.match(await ns.ip('route', 'show', 'proto', '80'), /203\.0\.113\.0\/24 dev d0[\s\S]*198\.51\.100\.0\/26|blackhole 198\.51\.100\.0\/26[\s\S]*203\.0\.113\.0\/24/);
    const err = await s.run(['route del 192.0.2.0/24 proto 80 table main', 'route del 203.0.113.0/24 proto 80 table main']);
    assert.match(err, /Command failed -:\d+/); // line numbers count over the session
    assert.doesNotMatch(await ns.ip('route', 'show', 'proto', '80'), /203\.0\.113/, 'the line after the failing one still ran');
    assert.equal(await s.run(['link show dev lo']), '', 'still usable after a failure');
  } finally {
    await s.close();
    await ns.delete();
  }
  assert.match(await s.run(['link show dev lo']), /closed/);
});

test('bridge batch session: FDB entries of a VXLAN device, failures reported, reused', { skip: netnsUnsupportedReason() }, async () => {
  const ns = await Netns.create(uniquePrefix('brs'));
  const s = new IpBatchSession(ns.name, 5000, 'bridge');
  try {
    await ns.ip('link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'nolearning');
    assert.equal(await s.run(['fdb replace 66:00:00:00:00:02 dev vx0 dst 198.51.100.2 self permanent']), '');
    assert.match(await ns.exec('bridge', ['fdb', 'show', 'dev', 'vx0']), /66:00:00:00:00:02 dst 198\.51\.100\.2 self permanent/);
    const err = await s.run(['fdb del 66:00:00:00:00:09 dev vx0 self', 'fdb del 66:00:00:00:00:02 dev vx0 self']);
    assert.match(err, /Command failed -:\d+/);
    assert.doesNotMatch(await ns.exec('bridge', ['fdb', 'show', 'dev', 'vx0']), /66:00:00:00:00:02/, 'the line after the failing one still ran');
    assert.equal(await s.run(['fdb replace 66:00:00:00:00:03 dev vx0 dst 198.51.100.3 self permanent']), '', 'still usable after a failure');
  } finally {
    await s.close();
    await ns.delete();
  }
});
