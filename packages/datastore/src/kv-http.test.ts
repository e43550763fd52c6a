// The JSON gateway client against a real etcd: KV semantics, watches (order, compaction, a killed
// member), endpoint failover, and the fallback to gRPC when the gateway is off.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EtcdCluster, freePort, sleep, waitFor } from '@tsnet/testkit';
import { Datastore } from './client.js';
import { GatewayMissingError, prefixEnd, type KvEvent, type KvWatchHandlers } from './kv.js';
import { HttpKv } from './kv-http.js';
import { kvClientKind } from './kv-select.js';

function watchRecorder() {
  const seen: string[] = [];
  const events: KvEvent[] = [];
  const errors: Error[] = [];
  const handlers: KvWatchHandlers = {
    onConnected: () => void seen.push('connected'),
    onEvents: (evs) => {
      events.push(...evs);
      seen.push(...evs.map((e) => `${e.type} ${e.key}`));
    },
    onDisconnected: (err) => {
      errors.push(err);
      seen.push('disconnected');
    },
    onCanceled: (err) => {
      errors.push(err);
      seen.push('canceled');
    },
  };
  return { seen, events, errors, handlers };
}

describe('HttpKv on a real etcd', () => {
  let etcd: EtcdCluster;
  let kv: HttpKv;
  before(async () => {
    etcd = await EtcdCluster.start(1);
    kv = new HttpKv({ endpoints: etcd.endpoints, timeoutMs: 3000 });
  });
  after(async () => {
    kv?.close();
    await etcd?.stop();
  });

  test('range, put, deleteRange: prefixes, counts, keys only, revisions', async () => {
    const p1 = await kv.put('/k/a', '{"v":1}');
    const p2 = await kv.put('/k/b', 'ünïcode');
    await kv.put('/k0', 'outside the prefix');
    assert.ok(p2.revision === p1.revision + 1);
    const all = await kv.range('/k/', { prefix: true });
    assert.deepEqual(all.kvs.map((x) => [x.key, x.value]), [['/k/a', '{"v":1}'], ['/k/b', 'ünïcode']]);
    assert.equal(all.count, 2);
    assert.equal(all.kvs[0]!.modRevision, p1.revision);
    assert.equal(all.kvs[0]!.createRevision, p1.revision);
    assert.ok(all.revision >= p2.revision + 1);
    assert.deepEqual(await kv.range('/k/', { prefix: true, countOnly: true }), { revision: all.revision, kvs: [], count: 2 });
    assert.deepEqual((await kv.range('/k/', { prefix: true, keysOnly: true })).kvs.map((x) => [x.key, x.value]), [['/k/a', ''], ['/k/b', '']]);
    const missing = await kv.range('/k/none');
    assert.deepEqual([missing.kvs, missing.count], [[], 0]);
    assert.deepEqual(await kv.deleteRange('/k/none'), { deleted: 0, revision: all.revision });
    const del = await kv.deleteRange('/k/', { prefix: true });
    assert.equal(del.deleted, 2);
    assert.equal((await kv.range('/k0')).kvs[0]?.value, 'outside the prefix');
  });

  test('txn: all compares hold → puts and deletes applied; a failed compare applies nothing', async () => {
    const a = await kv.put('/t/a', '1');
    await kv.put('/t/gone', 'x');
    const ok = await kv.txn({
      compares: [{ key: '/t/a', modRevision: a.revision, op: '==' }, { key: '/t/absent', modRevision: 0, op: '==' }],
      puts: [{ key: '/t/a', value: '2' }, { key: '/t/b', value: '3' }],
      deletes: ['/t/gone'],
    });
    assert.equal(ok.succeeded, true);
    const after1 = await kv.range('/t/', { prefix: true });
    assert.deepEqual(after1.kvs.map((x) => [x.key, x.value, x.modRevision]), [['/t/a', '2', ok.revision], ['/t/b', '3', ok.revision]]);
    const stale = await kv.txn({ compares: [{ key: '/t/a', modRevision: a.revision, op: '==' }], puts: [{ key: '/t/c', value: 'no' }], deletes: ['/t/b'] });
    assert.deepEqual(stale, { succeeded: false, revision: ok.revision });
    assert.equal((await kv.range('/t/', { prefix: true })).count, 2, 'nothing of the failed txn applied');
    const newer = await kv.txn({ compares: [{ key: '/t/a', modRevision: a.revision, op: '>' }], puts: [], deletes: [] });
    assert.equal(newer.succeeded, true);
    await assert.rejects(kv.compact(ok.revision + 100), /future revision/, 'an etcd refusal is an error with its reason');
  });

  test('a watch sees puts and deletes in order, from its start revision', async () => {
    const first = await kv.put('/w/a', 'a1');
    const rec = watchRecorder();
    const w = kv.watch('/w/', first.revision, rec.handlers);
    try {
      await kv.put('/w/b', 'b1');
      await kv.put('/wx', 'not under /w/');
      await kv.deleteRange('/w/a');
      await kv.txn({ compares: [], puts: [{ key: '/w/c', value: 'c1' }], deletes: ['/w/b'] });
      await waitFor('5 events', () => rec.events.length >= 5, { timeoutMs: 5000 });
      await sleep(100);
      assert.deepEqual(rec.seen, ['connected', 'put /w/a', 'put /w/b', 'delete /w/a', 'put /w/c', 'delete /w/b']);
      assert.equal(rec.events[0]!.value, 'a1');
      assert.equal(rec.events[2]!.value, '');
      const revs = rec.events.map((e) => e.modRevision);
      assert.equal(revs[0], first.revision);
      assert.equal(revs[3], revs[4], 'one txn, one revision');
    } finally {
      w.cancel();
    }
    await kv.put('/w/after-cancel', 'x');
    await sleep(200);
    assert.equal(rec.seen.at(-1), 'delete /w/b', 'nothing after cancel');
  });

  test('a watch of a key range [key, end) sees the keys in it only', async () => {
    const first = await kv.put('/range/a/1', 'x');
    const rec = watchRecorder();
    const w = kv.watch('/range/a', first.revision, rec.handlers, prefixEnd('/range/b'));
    try {
      await kv.put('/range/b/2', 'y');
      await kv.put('/range/c/3', 'outside');
      await kv.put('/range/a/4', 'z');
      await waitFor('3 events', () => rec.events.length >= 3, { timeoutMs: 5000 });
      await sleep(100);
      assert.deepEqual(rec.seen, ['connected', 'put /range/a/1', 'put /range/b/2', 'put /range/a/4']);
    } finally {
      w.cancel();
    }
  });

  test('a watch from a compacted revision is cancelled with the reason', async () => {
    const a = await kv.put('/c/a', '1');
    const b = await kv.put('/c/a', '2');
    await kv.compact(b.revision);
    const rec = watchRecorder();
    const w = kv.watch('/c/', a.revision, rec.handlers);
    try {
      await waitFor('cancel', () => rec.seen.includes('canceled'), { timeoutMs: 5000 });
      assert.deepEqual(rec.seen, ['connected', 'canceled']);
      assert.match(rec.errors[0]!.message, new RegExp(`revision ${a.revision} was compacted \\(now at ${b.revision}\\)`));
    } finally {
      w.cancel();
    }
  });

  test('a dead first endpoint: calls go to the next at once, and stay there', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const multi = new HttpKv({ endpoints: [dead, ...etcd.endpoints], timeoutMs: 3000 });
    try {
      const start = Date.now();
      const put = await multi.put('/f/a', '1');
      assert.equal((await multi.range('/f/a')).kvs[0]?.value, '1');
      assert.ok(Date.now() - start < 1000, 'no waiting on the dead endpoint');
      const rec = watchRecorder();
      const w = multi.watch('/f/', put.revision, rec.handlers);
      await waitFor('the watch on the live endpoint', () => rec.events.length === 1, { timeoutMs: 5000 });
      w.cancel();
    } finally {
      multi.close();
    }
    // A watch that is the first thing a client does: the dead endpoint ends it as disconnected,
    // and the watch opened again (as DatastoreWatch does) uses the next endpoint.
    const fresh = new HttpKv({ endpoints: [dead, ...etcd.endpoints], timeoutMs: 3000 });
    try {
      const r1 = watchRecorder();
      fresh.watch('/f/', 1, r1.handlers);
      await waitFor('the first watch ends', () => r1.seen.length > 0, { timeoutMs: 5000 });
      assert.deepEqual(r1.seen, ['disconnected']);
      assert.match(r1.errors[0]!.message, /ECONNREFUSED/);
      const r2 = watchRecorder();
      const w2 = fresh.watch('/f/', (await fresh.range('/f/a')).kvs[0]!.modRevision, r2.handlers);
      await waitFor('the second watch', () => r2.events.length === 1, { timeoutMs: 5000 });
      w2.cancel();
    } finally {
      fresh.close();
    }
  });
});

describe('HttpKv and an etcd restart', () => {
  test('a killed member ends the watch as disconnected; calls fail as unreachable, then recover', async () => {
    const etcd = await EtcdCluster.start(1);
    const kv = new HttpKv({ endpoints: etcd.endpoints, timeoutMs: 1000 });
    try {
      const rec = watchRecorder();
      const w = kv.watch('/r/', 1, rec.handlers);
      await kv.put('/r/a', '1');
      await waitFor('one event', () => rec.events.length === 1, { timeoutMs: 5000 });
      await etcd.kill(0);
      await waitFor('disconnected', () => rec.seen.includes('disconnected'), { timeoutMs: 5000 });
      assert.deepEqual(rec.seen, ['connected', 'put /r/a', 'disconnected']);
      await assert.rejects(kv.range('/r/a'), (err: Error) => err.name === 'KvUnavailableError' && /ECONNREFUSED/.test(err.message));
      await etcd.start(0);
      await etcd.waitHealthy(0);
      assert.equal((await kv.range('/r/a')).kvs[0]?.value, '1', 'the same client works again');
      w.cancel();
    } finally {
      kv.close();
      await etcd.stop();
    }
  });
});

describe('HttpKv and a member without quorum', () => {
  test('a watch on a member that lost its leader ends as disconnected, not silent', async () => {
    const etcd = await EtcdCluster.start(3);
    const kv = new HttpKv({ endpoints: [etcd.endpoints[0]!], timeoutMs: 1000 });
    try {
      const rec = watchRecorder();
      const put = await kv.put('/q/a', '1');
      const w = kv.watch('/q/', put.revision, rec.handlers);
      await waitFor('one event', () => rec.events.length === 1, { timeoutMs: 5000 });
      await etcd.kill(1);
      await etcd.kill(2);
      await waitFor('disconnected', () => rec.seen.includes('disconnected'), { timeoutMs: 10_000 });
      assert.match(rec.errors[0]!.message, /no leader/);
      w.cancel();
    } finally {
      kv.close();
      await etcd.stop();
    }
  });
});

const indexJs = fileURLToPath(new URL('./index.js', import.meta.url));

/** Runs a Datastore in a fresh process; reports which client it chose and whether etcd3 got loaded. */
function probeClient(endpoint: string, clientEnv?: string): Promise<{ kind: string; etcd3Loaded: boolean; node: string }> {
  const script = `
    import { createRequire } from 'node:module';
    const m = await import(${JSON.stringify(indexJs)});
    const ds = await m.Datastore.connect(m.datastoreOptionsFromEnv({}, process.env));
    await ds.putNode({ name: 'probe' });
    const node = (await ds.getNode('probe')).name;
    const kind = await m.kvClientKind(ds.kv);
    await ds.close();
    const etcd3Loaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/etcd3/'));
    console.log(JSON.stringify({ kind, etcd3Loaded, node }));`;
  const env = { ...process.env, ETCD_ENDPOINTS: endpoint, TSNET_ETCD_CLIENT: clientEnv ?? '' };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as { kind: string; etcd3Loaded: boolean; node: string });
    });
  });
}

describe('client selection', () => {
  test('the gateway client is the default and never loads etcd3; TSNET_ETCD_CLIENT=grpc does', async () => {
    const etcd = await EtcdCluster.start(1);
    try {
      assert.deepEqual(await probeClient(etcd.endpoints[0]!), { kind: 'http', etcd3Loaded: false, node: 'probe' });
      assert.deepEqual(await probeClient(etcd.endpoints[0]!, 'grpc'), { kind: 'grpc', etcd3Loaded: true, node: 'probe' });
    } finally {
      await etcd.stop();
    }
  });

  test('an etcd without the JSON gateway (404): falls back to gRPC; forcing http says what to do', async () => {
    const etcd = await EtcdCluster.start(1, { extraArgs: ['--enable-grpc-gateway=false'] });
    try {
      assert.deepEqual(await probeClient(etcd.endpoints[0]!), { kind: 'grpc', etcd3Loaded: true, node: 'probe' });
      const ds = Datastore.create({ endpoints: etcd.endpoints, prefix: '/fb' });
      try {
        // A watch as the first call decides too, and sees the writes (of its kinds: a key range).
        const seen: string[] = [];
        const w = await ds.watch({ onEvent: (e) => void (e.type === 'put' && e.kind === 'node' && seen.push(e.value.name)) }, { resumeAfter: 1, kinds: ['node'] });
        await ds.putNode({ name: 'over-grpc' });
        await waitFor('the event over gRPC', () => seen.includes('over-grpc'), { timeoutMs: 5000 });
        assert.equal(await kvClientKind(ds.kv), 'grpc');
        await w.close();
      } finally {
        await ds.close();
      }
      const forced = Datastore.create({ client: 'http', endpoints: etcd.endpoints, timeoutMs: 1000 });
      try {
        await assert.rejects(forced.revision(), (err: Error) => {
          assert.ok(err instanceof GatewayMissingError);
          assert.equal(err.message, `etcd at ${etcd.endpoints[0]} has no JSON gateway (/v3 answered 404): set TSNET_ETCD_CLIENT=grpc or leave it unset`);
          return true;
        });
      } finally {
        await forced.close();
      }
    } finally {
      await etcd.stop();
    }
  });
});
