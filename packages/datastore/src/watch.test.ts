// Watches against a real etcd: snapshot + events, resume across an etcd restart with nothing
// lost or doubled, resync after compaction, bad values reported as events.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster, sleep, waitFor } from '@tsnet/testkit';
import { Datastore } from './client.js';
import { KV_CLIENT_KINDS } from './options.js';
import type { Snapshot, WatchEvent, WatchStatus } from './watch.js';

function recorder() {
  const events: WatchEvent[] = [];
  const snapshots: Snapshot[] = [];
  const statuses: WatchStatus[] = [];
  return {
    events,
    snapshots,
    statuses,
    handlers: {
      onSnapshot: (s: Snapshot) => void snapshots.push(s),
      onEvent: (e: WatchEvent) => void events.push(e),
      onStatus: (s: WatchStatus) => void statuses.push(s),
    },
  };
}

const nodeNames = (events: WatchEvent[]): string[] =>
  events.flatMap((e) => (e.type === 'put' && e.kind === 'node' ? [e.value.name] : []));

for (const client of KV_CLIENT_KINDS) describe(`watch on a real etcd (${client} client)`, () => {
  test('snapshot, then puts, deletes and bad values in order; kinds filter', async () => {
    const etcd = await EtcdCluster.start(1);
    const ds = await Datastore.connect({ client, endpoints: etcd.endpoints, prefix: '/w1' });
    try {
      await ds.putNode({ name: 'before' });
      const rec = recorder();
      const w = await ds.watch(rec.handlers, { kinds: ['node', 'pool'] });
      assert.equal(rec.snapshots.length, 1);
      assert.deepEqual(rec.snapshots[0]!.records.map((r) => r.kind === 'node' && r.value.name), ['before']);
      await ds.addGlobalPeer({ ip: '192.0.2.1', asn: 65000 }); // filtered out
      await ds.putNode({ name: 'a' });
      await ds.kv.put('/w1/v1/nodes/broken', '][');
      await ds.deleteNode('a');
      await waitFor('4 events', () => rec.events.length >= 3, { timeoutMs: 5000 });
      await sleep(200);
      assert.deepEqual(rec.events.map((e) => e.type), ['put', 'bad', 'delete']);
      const bad = rec.events[1]!;
      assert.ok(bad.type === 'bad' && bad.key === '/w1/v1/nodes/broken' && /not JSON/.test(bad.reason));
      assert.ok(rec.events[0]!.modRevision < rec.events[2]!.modRevision);
      await w.close();
    } finally {
      await ds.close();
      await etcd.stop();
    }
  });

  test('resume across an etcd restart (same data dir): no event lost or doubled', async () => {
    const etcd = await EtcdCluster.start(1);
    const reader = await Datastore.connect({ client, endpoints: etcd.endpoints, prefix: '/w2' });
    // The writer keeps retrying through the outage (its calls are bounded by 30 s).
    const writer = await Datastore.connect({ client, endpoints: etcd.endpoints, prefix: '/w2', timeoutMs: 30_000 });
    try {
      const rec = recorder();
      const w = await reader.watch(rec.handlers, { kinds: ['node'] });
      const total = 60;
      const writing = (async () => {
        for (let i = 0; i < total; i++) {
          // Create-only: a write retried after the kill cannot produce a second event.
          const name = `n${String(i).padStart(3, '0')}`;
          await writer.put('node', name, { name }, { expectModRevision: 0 });
          await sleep(10);
        }
      })();
      await waitFor('20 events before the kill', () => rec.events.length >= 20, { timeoutMs: 10_000 });
      await etcd.kill(0);
      await sleep(1500);
      await etcd.start(0);
      await etcd.waitHealthy(0);
      await writing;
      await waitFor(`all ${total} events`, () => rec.events.length >= total, { timeoutMs: 20_000 });
      await sleep(500);
      const expected = Array.from({ length: total }, (_, i) => `n${String(i).padStart(3, '0')}`);
      assert.deepEqual(nodeNames(rec.events), expected, 'every write exactly once, in order');
      const revs = rec.events.map((e) => e.modRevision);
      assert.ok(revs.every((r, i) => i === 0 || r > revs[i - 1]!), 'revisions strictly increasing');
      assert.ok(rec.statuses.includes('disconnected'), 'the outage was seen');
      assert.equal(rec.snapshots.length, 1, 'resumed, not resynced');
      await w.close();
    } finally {
      await reader.close();
      await writer.close();
      await etcd.stop();
    }
  });

  test('resumeAfter a revision; compacted revision → full resync snapshot', async () => {
    const etcd = await EtcdCluster.start(1);
    const ds = await Datastore.connect({ client, endpoints: etcd.endpoints, prefix: '/w3' });
    try {
      const first = recorder();
      const w1 = await ds.watch(first.handlers);
      await ds.putNode({ name: 'x1' });
      await waitFor('x1', () => first.events.length === 1, { timeoutMs: 5000 });
      await w1.close();
      const resumePoint = w1.revision;
      await ds.putNode({ name: 'x2' });
      await ds.putNode({ name: 'x3' });

      const second = recorder();
      const w2 = await ds.watch(second.handlers, { resumeAfter: resumePoint });
      await waitFor('x2, x3', () => second.events.length === 2, { timeoutMs: 5000 });
      assert.deepEqual(nodeNames(second.events), ['x2', 'x3']);
      assert.equal(second.snapshots.length, 0);
      await w2.close();

      await ds.putNode({ name: 'x4' });
      const rev = await ds.revision();
      await ds.kv.compact(rev);
      const third = recorder();
      const w3 = await ds.watch(third.handlers, { resumeAfter: resumePoint });
      await waitFor('a resync snapshot', () => third.snapshots.length === 1, { timeoutMs: 5000 });
      assert.deepEqual(
        third.snapshots[0]!.records.flatMap((r) => (r.kind === 'node' ? [r.value.name] : [])).sort(),
        ['x1', 'x2', 'x3', 'x4'],
      );
      assert.ok(third.statuses.includes('resync'));
      await ds.putNode({ name: 'x5' });
      await waitFor('x5 after the resync', () => nodeNames(third.events).includes('x5'), { timeoutMs: 5000 });
      await w3.close();
    } finally {
      await ds.close();
      await etcd.stop();
    }
  });
});
