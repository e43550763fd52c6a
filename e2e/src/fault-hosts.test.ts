/**
 * Fault suite, hosts: three hosts in a full mesh.
 * - A host "reboots" (agent killed, namespace destroyed and recreated with the same name and IP,
 *   run dir gone): it rejoins, keeps the blocks affine to it (nothing in the datastore is wiped or
 *   re-claimed), rebuilds its kernel routes, and the other hosts end with exactly the routes they
 *   had — one per block, nothing duplicated or stale.
 * - A host removed for good (`tsctl node stop`, then `tsctl node remove --name X
 *   --remove-endpoints`): its routes disappear everywhere and its addresses are free.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cidrContainsIp, parseCidr, parseIp } from '@tsnet/ipam';
import { netnsUnsupportedReason, sleep, uniquePrefix, waitFor } from '@tsnet/testkit';
import { AgentLab, type LabWorkload } from './agent-lab.js';
import { stopStrays, tsctl, type CmdResult, bounded } from './fault-harness.js';

const skip = netnsUnsupportedReason();
const GW = '198.51.100.254';
const HOSTS = ['h1', 'h2', 'h3'];
const ipOf = (h: string): string => `198.51.100.${h.slice(1)}`;

describe('fault: a host reboots, then is removed for good', { skip, timeout: 240_000 }, () => {
  let lab: AgentLab;
  const w: Record<string, LabWorkload> = {};
  /** the first `tsctl node remove` after `tsctl node stop` (see the last case) */
  let firstRemove: CmdResult | undefined;
  const blocks = async (): Promise<{ cidr: string; affinity: string | null; used: number }[]> =>
    (await lab.ds.list('block')).items
      .map((b) => ({ cidr: b.value.cidr, affinity: b.value.affinity, used: b.value.allocations.filter((a) => a !== null).length }))
      .sort((a, b) => a.cidr.localeCompare(b.cidr));
  const blocksOf = async (node: string): Promise<string[]> => (await blocks()).filter((b) => b.affinity === node).map((b) => b.cidr);
  const noDuplicates = (routes: string[]): boolean => new Set(routes.map((l) => l.split(' ')[0])).size === routes.length;

  before(async () => {
    lab = await AgentLab.create(uniquePrefix('fh'));
    for (const h of HOSTS) await lab.addHost(h, `${ipOf(h)}/24`, GW);
    await lab.startEtcd(GW);
    await Promise.all(HOSTS.map((h) => lab.startAgent(h)));
    for (const h of HOSTS) w[h] = await lab.addWorkload(h, `f${h}`, await lab.allocate(h, `f${h}`));
    for (const h of HOSTS) {
      await lab.waitEstablished(h, 2);
      for (const b of await blocksOf(h))
        for (const o of HOSTS.filter((x) => x !== h))
          await lab.waitRoutes(o, `route ${b} via ${h}`, (r) => r.some((l) => l.startsWith(`${b} via ${ipOf(h)}`)));
    }
    await waitFor('h1\u2019s workload to reach h3\u2019s', () => lab.ping(w.h1!.ns, w.h3!.ip), { timeoutMs: 10_000 });
  });
  after(async () => {
    stopStrays();
    await bounded('lab teardown', async () => lab?.destroy());
  });

  test('a host reboots (netns + agent destroyed, same name and IP): it rejoins with the same blocks, no wipe, no stale or duplicate routes elsewhere', async () => {
    const blocksBefore = await blocks();
    const ownBefore = await blocksOf('h3');
    const nodesBefore = (await lab.ds.listNodes()).map((n) => `${n.name}/${n.ipv4}/${n.ipv4Network}`).sort();
    const poolsBefore = (await lab.ds.list('pool')).items.map((p) => p.value.cidr).sort();
    const routesBefore: Record<string, string[]> = {};
    for (const h of HOSTS) routesBefore[h] = (await lab.routes(h)).sort();

    // power loss: the agent dies with its namespace; /run (the run dir) does not survive a reboot
    const t0 = Date.now();
    const agent = lab.agent('h3');
    agent.proc.signal('SIGKILL');
    await agent.proc.exited;
    await lab.host('h3').ns.delete();
    lab.underlay.hosts.delete('h3');
    await rm(join(lab.dir.path, 'run-h3'), { recursive: true, force: true });
    // the peers keep h3's routes as stale meanwhile (graceful restart)
    await sleep(1000);
    for (const h of ['h1', 'h2']) {
      const r = await lab.routes(h);
      for (const b of ownBefore) assert.ok(r.some((l) => l.startsWith(`${b} via ${ipOf('h3')}`)), `${h} keeps ${b} while h3 is down`);
    }
    await lab.addHost('h3', `${ipOf('h3')}/24`, GW);
    await lab.startAgent('h3');
    for (const h of HOSTS) await lab.waitEstablished(h, 2, 30_000);
    const rejoinedMs = Date.now() - t0;

    // same blocks, nothing wiped or re-claimed
    assert.deepEqual(await blocksOf('h3'), ownBefore, 'h3 keeps the blocks affine to it');
    assert.deepEqual(await blocks(), blocksBefore, 'no block claimed, released or emptied');
    assert.deepEqual((await lab.ds.listNodes()).map((n) => `${n.name}/${n.ipv4}/${n.ipv4Network}`).sort(), nodesBefore);
    assert.deepEqual((await lab.ds.list('pool')).items.map((p) => p.value.cidr).sort(), poolsBefore);

    // h3 rebuilt its kernel: blackholes for its blocks, routes to the others' blocks
    const remote = [...(await blocksOf('h1')).map((b) => `${b} via ${ipOf('h1')}`), ...(await blocksOf('h2')).map((b) => `${b} via ${ipOf('h2')}`)];
    const r3 = await lab.waitRoutes('h3', 'its blackholes and the remote blocks', (r) =>
      ownBefore.every((b) => r.some((l) => l.startsWith(`blackhole ${b}`))) && remote.every((x) => r.some((l) => l.startsWith(x))),
      20_000,
    );
    assert.ok(noDuplicates(r3), `no duplicate destination on h3: ${r3.join(' | ')}`);
    // the others: exactly the routes they had (one per block of h3, via h3), none duplicated
    for (const h of ['h1', 'h2']) {
      const now = await waitFor(`${h}: routes as before the reboot`, async () => {
        const r = (await lab.routes(h)).sort();
        return JSON.stringify(r) === JSON.stringify(routesBefore[h]) ? r : undefined;
      }, { timeoutMs: 20_000 });
      assert.ok(noDuplicates(now), `${h}: ${now.join(' | ')}`);
      for (const b of ownBefore) assert.equal(now.filter((l) => l.startsWith(`${b} `)).length, 1, `${h}: one route for ${b}`);
    }
    // its container comes back with its address; a new one gets an address from the same block
    await lab.ds.delete('dockerEndpoint', 'fh3');
    w.h3 = await lab.addWorkload('h3', 'fh3b', w.h3!.ip);
    await waitFor('h1\u2019s workload to reach h3\u2019s again', () => lab.ping(w.h1!.ns, w.h3!.ip), { timeoutMs: 15_000 });
    const fresh = await lab.allocate('h3', 'fh3c');
    assert.ok(ownBefore.some((b) => cidrContainsIp(parseCidr(b)!, parseIp(fresh)!)), `new address ${fresh} from h3's old blocks ${ownBefore.join(', ')}`);
    console.log(`host reboot: rejoined (all sessions Established) ${rejoinedMs} ms after the power loss; blocks kept: ${ownBefore.join(', ')}`);
  });

  test('a host removed for good (tsctl node stop, node remove --remove-endpoints): its routes vanish everywhere, its addresses are free', async () => {
    const own = await blocksOf('h3');
    assert.ok(own.length > 0);
    const addrs = [w.h3!.ip];
    const stop = await tsctl(lab, 'h3', ['node', 'stop'], [lab.etcdUrl]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(lab.agent('h3').proc.running, false, 'tsctl node stop ended the agent');
    // a stopped agent must not count as running: the next case asserts that the first attempt
    // succeeds; retried here (as an operator would) only so the rest of this case is still checked
    const t0 = Date.now();
    const removed = await waitFor('tsctl node remove to succeed', async () => {
      const r = await tsctl(lab, 'h1', ['node', 'remove', '--name', 'h3', '--remove-endpoints'], [lab.etcdUrl]);
      firstRemove ??= r;
      if (r.code !== 0) {
        assert.match(r.stderr, /node h3 is running .*stop its agent first/, `a refusal says why: ${r.stderr}`);
        return undefined;
      }
      return r;
    }, { timeoutMs: 45_000, intervalMs: 2000 });
    const removeMs = Date.now() - t0;
    assert.match(removed.stdout, /Removed node h3 \(released \d+ address/);
    for (const h of ['h1', 'h2']) {
      await lab.waitEstablished(h, 1, 20_000);
      const r = await lab.waitRoutes(h, 'h3\u2019s routes gone', (rs) => !rs.some((l) => l.includes(`via ${ipOf('h3')}`)), 20_000);
      for (const b of own) assert.ok(!r.some((l) => l.startsWith(`${b} `)), `${h}: no route for ${b}`);
    }
    for (const ip of addrs) {
      const show = await tsctl(lab, 'h1', ['ipam', 'show', '--ip', ip], [lab.etcdUrl]);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, new RegExp(`IP ${ip.replaceAll('.', '\\.')} is not assigned`));
    }
    const left = await blocks();
    assert.ok(!left.some((b) => b.affinity === 'h3'), 'no block affine to h3');
    for (const b of left.filter((x) => own.includes(x.cidr))) assert.equal(b.used, 0, `${b.cidr} holds no address of h3`);
    const nodes = await tsctl(lab, 'h1', ['node', 'show'], [lab.etcdUrl]);
    assert.doesNotMatch(nodes.stdout, /\bh3\b/);
    assert.ok(await lab.ping(w.h1!.ns, w.h2!.ip), 'h1 and h2 still reach each other');
    console.log(`host removal: first tsctl node remove exit ${firstRemove?.code} (${firstRemove?.stderr.trim() || 'ok'}); removed after ${removeMs} ms`);
  });

  // regression: a cleanly stopped agent once left a fresh heartbeat, and node remove refused for 30 s
  test('tsctl node remove is accepted right after tsctl node stop (the stopped agent no longer counts as running)', () => {
    assert.ok(firstRemove, 'the removal case ran');
    assert.equal(firstRemove.code, 0, `first attempt: ${firstRemove.stderr.trim()}`);
  });
});
