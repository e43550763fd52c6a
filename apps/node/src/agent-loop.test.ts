import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, waitFor } from '@tsnet/testkit';
import { AgentLoop } from './agent-loop.js';
import { createLogger } from './log.js';
import { AgentMetrics } from './metrics.js';
import type { Announcement, ClusterSnapshot, DesiredPeer, LearnedRoute } from './model.js';
import type { ClusterStore, DataplaneDriver, ReconcileResult, RouteSpeaker, SpeakerEvents, SpeakerIdentity } from './ports.js';
import type { PeerRuntime } from './status.js';

// In-memory stand-ins for the three edges: plain values, so the loop's ordering and its
// restart grace can be checked without etcd, sockets or a kernel.
class MemoryStore implements ClusterStore {
  onChange: () => void = () => undefined;
  constructor(public snap: ClusterSnapshot) {}
  async register(): Promise<void> {}
  async follow(onChange: () => void): Promise<void> {
    this.onChange = onChange;
  }
  current(): ClusterSnapshot {
    return this.snap;
  }
  set(snap: ClusterSnapshot): void {
    this.snap = snap;
    this.onChange();
  }
  /** VTEPs to hand out: ensureVtep writes the next one into the snapshot (as the watch would) */
  vteps: Array<{ ip: string; mac: string }> = [];
  async ensureVtep(name: string): Promise<boolean> {
    const vtep = this.vteps.shift();
    if (!vtep) return false;
    const nodes = this.snap.nodes.map((n) => (n.name === name ? { ...n, vtep } : n));
    setTimeout(() => this.set({ ...this.snap, nodes }), 5);
    return true;
  }
  async heartbeat(): Promise<void> {}
  heartbeatCleared = false;
  async clearHeartbeat(): Promise<void> {
    this.heartbeatCleared = true;
  }
  problems(): string[] {
    return [];
  }
  async close(): Promise<void> {}
}

class RecordingSpeaker implements RouteSpeaker {
  readonly log: string[] = [];
  id: SpeakerIdentity = { asn: 64511 };
  /** reconfigure fails while this is set (e.g. the port taken) */
  failReconfigure = false;
  identity(): SpeakerIdentity {
    return this.id;
  }
  async reconfigure(id: SpeakerIdentity): Promise<void> {
    if (this.failReconfigure) throw new Error('listen EADDRINUSE');
    this.log.push(`reconfigure AS ${id.asn}${id.clusterId ? ` cluster ${id.clusterId}` : ''}`);
    this.id = id;
    this.states.clear();
    this.eor.clear();
    this.routes = [];
  }
  readonly states = new Map<string, PeerRuntime>();
  readonly eor = new Set<string>();
  routes: LearnedRoute[] = [];
  async start(_events: SpeakerEvents): Promise<void> {}
  /** the import policy the loop gave with each peer */
  readonly accept = new Map<string, (prefix: string) => boolean>();
  addPeer(peer: DesiredPeer, accept: (prefix: string) => boolean): void {
    this.log.push(`add ${peer.address}`);
    this.accept.set(peer.address, accept);
  }
  removePeer(address: string): void {
    this.log.push(`remove ${address}`);
  }
  announce(routes: Announcement[]): void {
    this.log.push(...routes.map((r) => `announce ${r.prefix} via ${r.nextHop}`));
  }
  refreshIn(address: string): void {
    this.log.push(`refresh ${address}`);
  }
  withdraw(prefixes: string[]): void {
    this.log.push(...prefixes.map((p) => `withdraw ${p}`));
  }
  learned(): LearnedRoute[] {
    return this.routes;
  }
  runtime(address: string): PeerRuntime | undefined {
    return this.states.get(address);
  }
  endOfRibReceived(address: string): boolean {
    return this.eor.has(address);
  }
  async stop(): Promise<void> {}
  establish(address: string): void {
    this.states.set(address, { fsmState: 'Established', since: new Date(), prefixesReceived: 0, prefixesAccepted: 0, prefixesAdvertised: 0 });
    this.eor.add(address);
  }
}

class RecordingDataplane implements DataplaneDriver {
  readonly passes: Array<{ full: boolean; learned: LearnedRoute[]; vtep?: string }> = [];
  async reconcile(s: ClusterSnapshot, self: string, learned: LearnedRoute[], full: boolean): Promise<ReconcileResult> {
    const vtep = s.nodes.find((n) => n.name === self)?.vtep?.ip;
    this.passes.push({ full, learned: [...learned], ...(vtep ? { vtep } : {}) });
    return { problems: [], routes: { remote: learned.length, blackhole: 0, workload: 0 } };
  }
}

const snapshot = (nodes: string[], blocks: Array<[string, string]>): ClusterSnapshot => ({
  config: { defaultAsn: 64511, nodeMesh: true },
  nodes: nodes.map((n, i) => ({ name: n, ipv4: `10.0.0.${i + 1}`, ipv6: null })),
  pools: [{ cidr: '192.168.0.0/16', ipipMode: 'never', vxlanMode: 'never', natOutgoing: false, disabled: false, blockSize: 26 }],
  peers: [],
  blocks: blocks.map(([cidr, affinity]) => ({ cidr, affinity })),
  borrowed: [],
  endpoints: [],
});

function setup(snap: ClusterSnapshot, startupGraceMs = 10_000) {
  const store = new MemoryStore(snap);
  const speaker = new RecordingSpeaker();
  const dataplane = new RecordingDataplane();
  const metrics = new AgentMetrics(false);
  const loop = new AgentLoop({
    name: 'a',
    version: 'test',
    store,
    speaker,
    dataplane,
    log: createLogger('a', undefined, 'silent'),
    metrics,
    timings: { startupGraceMs, resyncMs: 60_000, heartbeatMs: 60_000 },
  });
  return { store, speaker, dataplane, loop, metrics };
}

test('announcements go out before sessions are added; nodes leaving are dropped', async () => {
  const { store, speaker, loop } = setup(snapshot(['a', 'b', 'c'], [['192.168.1.0/26', 'a']]));
  await loop.start();
  try {
    await waitFor('first sync', () => speaker.log.length >= 3);
    assert.deepEqual(speaker.log, ['announce 192.168.1.0/26 via 10.0.0.1', 'add 10.0.0.2', 'add 10.0.0.3']);
    store.set(snapshot(['a', 'b'], []));
    await waitFor('second sync', () => speaker.log.length >= 5);
    assert.deepEqual(speaker.log.slice(3), ['withdraw 192.168.1.0/26', 'remove 10.0.0.3']);
  } finally {
    await loop.stop();
  }
});

test('a VTEP this start writes is in the first dataplane pass: no pass without the VXLAN device before it', async () => {
  const { store, dataplane, loop } = setup(snapshot(['a', 'b'], []), 0);
  store.vteps.push({ ip: '192.168.0.1', mac: '66:00:00:00:00:01' });
  await loop.start();
  try {
    await waitFor('first dataplane pass', () => dataplane.passes.length >= 1);
    await sleep(50);
    assert.equal(dataplane.passes[0]!.vtep, '192.168.0.1');
    assert.equal(dataplane.passes[0]!.full, true, 'the first pass reads the kernel');
  } finally {
    await loop.stop();
  }
});

test('a change of pools asks every peer to resend its routes (import policy judged again)', async () => {
  const { store, speaker, loop } = setup(snapshot(['a', 'b', 'c'], []));
  await loop.start();
  try {
    await waitFor('peers added', () => speaker.log.length >= 2);
    const before = speaker.log.length;
    store.set(snapshot(['a', 'b', 'c'], [])); // same pools: nothing to re-judge
    await sleep(30);
    assert.deepEqual(speaker.log.slice(before), []);
    const snap = snapshot(['a', 'b', 'c'], []);
    snap.pools = [...snap.pools, { ...snap.pools[0]!, cidr: '10.253.0.0/16' }];
    store.set(snap);
    await waitFor('refreshes', () => speaker.log.length >= before + 2);
    assert.deepEqual(speaker.log.slice(before), ['refresh 10.0.0.2', 'refresh 10.0.0.3']);
  } finally {
    await loop.stop();
  }
});

test('a changed import list of a global peer: same session, the new list decides, routes resent', async () => {
  const withPeer = (acceptPrefixes?: string[]): ClusterSnapshot => ({
    ...snapshot(['a'], []),
    peers: [{ address: '10.0.0.9', asn: 65100, ...(acceptPrefixes ? { acceptPrefixes } : {}) }],
  });
  const { store, speaker, loop } = setup(withPeer(['10.50.0.0/16']));
  await loop.start();
  try {
    await waitFor('peer added', () => speaker.log.includes('add 10.0.0.9'));
    const accept = speaker.accept.get('10.0.0.9')!;
    assert.deepEqual([accept('10.50.0.0/16'), accept('10.60.0.0/16'), accept('0.0.0.0/0'), accept('192.168.1.0/26')], [true, false, false, false]);
    const before = speaker.log.length;
    store.set(withPeer(['10.50.0.0/16'])); // same list: nothing to do
    await sleep(30);
    assert.deepEqual(speaker.log.slice(before), []);
    store.set(withPeer(['0.0.0.0/0']));
    await waitFor('refresh', () => speaker.log.length > before);
    assert.deepEqual(speaker.log.slice(before), ['refresh 10.0.0.9'], 'no remove/add: the session stays');
    assert.deepEqual([accept('10.50.0.0/16'), accept('10.60.0.0/16'), accept('0.0.0.0/0')], [true, true, true], 'the policy given at add reads the new list');
    store.set(withPeer());
    await waitFor('second refresh', () => speaker.log.length > before + 1);
    assert.deepEqual(speaker.log.slice(before + 1), ['refresh 10.0.0.9']);
    assert.deepEqual([accept('10.50.0.0/16'), accept('192.168.1.0/26')], [false, true], 'no list: the pools');
  } finally {
    await loop.stop();
  }
});

test('a clean stop clears the heartbeat, so the node reads as stopped at once', async () => {
  const { store, loop } = setup(snapshot(['a', 'b'], []));
  await loop.start();
  assert.equal(store.heartbeatCleared, false);
  await loop.stop();
  assert.equal(store.heartbeatCleared, true);
});

test('after a restart the dataplane waits for every peer\u2019s End-of-RIB, then does a full pass', async () => {
  const { speaker, dataplane, loop } = setup(snapshot(['a', 'b', 'c'], []));
  await loop.start();
  try {
    await waitFor('peers added', () => speaker.log.length === 2);
    speaker.establish('10.0.0.2');
    speaker.routes = [{ prefix: '192.168.2.0/26', nextHop: '10.0.0.2' }];
    loop.onPeerState('10.0.0.2', 'Established');
    await sleep(30);
    assert.equal(dataplane.passes.length, 0, 'no pass while 10.0.0.3 has not sent End-of-RIB');
    speaker.establish('10.0.0.3');
    loop.onPeerState('10.0.0.3', 'Established');
    await waitFor('first pass', () => dataplane.passes.length === 1);
    assert.equal(dataplane.passes[0]!.full, true);
    // later route changes are route-only passes
    speaker.routes = [...speaker.routes, { prefix: '192.168.3.0/26', nextHop: '10.0.0.3' }];
    loop.onRoutesChanged();
    await waitFor('second pass', () => dataplane.passes.length === 2);
    assert.equal(dataplane.passes[1]!.full, false);
    assert.equal(dataplane.passes[1]!.learned.length, 2);
  } finally {
    await loop.stop();
  }
});

test('a peer that never answers delays the first pass only until the grace ends', async () => {
  const { dataplane, loop } = setup(snapshot(['a', 'b'], []), 100);
  await loop.start();
  try {
    await sleep(40);
    assert.equal(dataplane.passes.length, 0);
    await waitFor('pass after the grace', () => dataplane.passes.length >= 1, { timeoutMs: 2000 });
    assert.equal(dataplane.passes[0]!.full, true);
  } finally {
    await loop.stop();
  }
});

test('session, prefix and IPAM gauges are filled when /metrics is scraped, from the state then', async () => {
  const { speaker, loop, metrics } = setup(snapshot(['a', 'b', 'c'], [['192.168.1.0/26', 'a']]));
  await loop.start();
  try {
    await waitFor('peers added', () => speaker.log.length >= 3);
    let text = await metrics.render();
    assert.match(text, /tsnet_bgp_sessions\{state="Idle"\} 2/);
    assert.match(text, /tsnet_ipam_blocks_affine 1/);
    speaker.establish('10.0.0.2');
    loop.onPeerState('10.0.0.2', 'Established');
    text = await metrics.render();
    assert.match(text, /tsnet_bgp_sessions\{state="Established"\} 1/);
    assert.match(text, /tsnet_bgp_sessions\{state="Idle"\} 1/);
  } finally {
    await loop.stop();
  }
});

test('a new AS (cluster default or the node\u2019s own) restarts BGP with it; peers and routes are added again, kernel routes kept', async () => {
  const { store, speaker, dataplane, loop } = setup(snapshot(['a', 'b'], [['192.168.1.0/26', 'a']]), 0);
  await loop.start();
  try {
    await waitFor('peers added', () => speaker.log.includes('add 10.0.0.2'));
    speaker.establish('10.0.0.2');
    speaker.routes = [{ prefix: '192.168.2.0/26', nextHop: '10.0.0.2' }];
    loop.onPeerState('10.0.0.2', 'Established');
    await waitFor('a pass with the route', () => dataplane.passes.some((p) => p.learned.length === 1));
    const before = speaker.log.length;
    const passes = dataplane.passes.length;

    const changed = snapshot(['a', 'b'], [['192.168.1.0/26', 'a']]);
    changed.config = { ...changed.config, defaultAsn: 65010 };
    store.set(changed);
    await waitFor('peers added again', () => speaker.log.slice(before).includes('add 10.0.0.2'));
    assert.deepEqual(speaker.log.slice(before), ['reconfigure AS 65010', 'announce 192.168.1.0/26 via 10.0.0.1', 'add 10.0.0.2']);
    // nothing learned yet from the new sessions: no pass that would remove the kernel's routes
    loop.onRoutesChanged();
    await sleep(30);
    assert.equal(dataplane.passes.length, passes, 'no pass until the peers resent their routes');
    speaker.establish('10.0.0.2');
    speaker.routes = [{ prefix: '192.168.2.0/26', nextHop: '10.0.0.2' }];
    loop.onPeerState('10.0.0.2', 'Established');
    await waitFor('pass after End-of-RIB', () => dataplane.passes.length > passes);
    assert.equal(dataplane.passes.at(-1)!.learned.length, 1);
    assert.equal(loop.status().node.asn, 65010);

    // the node's own AS and a cluster id (route reflector) are identity too; a failed restart
    // is in the status errors and is tried again at the next change
    speaker.failReconfigure = true;
    const own = snapshot(['a', 'b'], [['192.168.1.0/26', 'a']]);
    own.nodes[0] = { ...own.nodes[0]!, asn: 65020, routeReflectorClusterId: '10.0.0.1' };
    store.set(own);
    await waitFor('error in the status', () => loop.errors().some((e) => e.includes('BGP restart for AS 65020 failed: listen EADDRINUSE')));
    speaker.failReconfigure = false;
    store.set({ ...own });
    await waitFor('second restart', () => speaker.log.includes('reconfigure AS 65020 cluster 10.0.0.1'));
    await waitFor('error gone', () => !loop.errors().some((e) => e.includes('BGP restart')));
  } finally {
    await loop.stop();
  }
});
