// The agent's dataplane driver against a real kernel (a test namespace on a testkit Underlay):
// what takes the fast path (a batch of changes, no reading of the kernel) and what a full pass.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecaRunner, type CommandRunner, type CommandResult, type RunOptions } from '@tsnet/dataplane';
import { Underlay, netnsUnsupportedReason, uniquePrefix, type UnderlayHost } from '@tsnet/testkit';
import { MIN_FULL_GAP_MS, ReconcilerDriver } from './dataplane-driver.js';
import { pino } from 'pino';
import { createLogger } from './log.js';
import type { ClusterSnapshot, LearnedRoute, NodeRecord } from './model.js';

const skip = netnsUnsupportedReason();

/** Runs in the namespace and records each command's tool and first argument. */
class RecordingRunner implements CommandRunner {
  readonly commands: string[] = [];
  private readonly inner: ExecaRunner;
  constructor(netns: string) {
    this.inner = new ExecaRunner({ netns });
  }
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<CommandResult> {
    this.commands.push(`${cmd} ${args.join(' ')}`);
    return this.inner.run(cmd, args, opts);
  }
  take(): string[] {
    return this.commands.splice(0);
  }
}

const node = (name: string, ip: string, vtep: string, mac: string): NodeRecord => ({
  name,
  ipv4: ip,
  ipv6: null,
  vtep: { ip: vtep, mac },
});

function snapshot(nodes: NodeRecord[], natOutgoing = false): ClusterSnapshot {
  return {
    config: { defaultAsn: 64511, nodeMesh: true },
    nodes,
    pools: [{ cidr: '10.2.0.0/16', ipipMode: 'never', vxlanMode: 'always', natOutgoing, disabled: false, blockSize: 26 }],
    peers: [],
    blocks: [{ cidr: '10.2.0.0/26', affinity: 'h1' }],
    borrowed: [],
    endpoints: [],
  };
}

describe('dataplane driver in a network namespace', { skip }, () => {
  let underlay: Underlay;
  let h1: UnderlayHost;
  let h2: UnderlayHost;
  let h3: UnderlayHost;
  before(async () => {
    underlay = await Underlay.create(uniquePrefix('drv'));
    h1 = await underlay.addHost('h1', '198.51.100.1/24', '198.51.100.254');
    h2 = await underlay.addHost('h2', '198.51.100.2/24', '198.51.100.254');
    h3 = await underlay.addHost('h3', '198.51.100.3/24', '198.51.100.254');
  });
  after(async () => {
    await underlay?.destroy();
  });

  test('joining and leaving nodes and their routes take the fast path; a pool change a full pass', async () => {
    const runner = new RecordingRunner(h1.ns.name);
    const driver = new ReconcilerDriver({ interface: 'eth0', cidr: h1.cidr }, createLogger('h1', undefined, 'silent'), {
      runner,
      rtProtosFile: null,
    });
    const self = node('h1', h1.ip, '10.2.0.0', '66:00:00:00:00:01');
    const n2 = node('n2', '198.51.100.2', '10.2.1.0', '66:00:00:00:00:02');
    const n3 = node('n3', '198.51.100.3', '10.2.2.0', '66:00:00:00:00:03');
    const via = (prefix: string, nextHop: string): LearnedRoute => ({ prefix, nextHop });
    const readsKernel = (cmds: string[]): boolean => cmds.some((c) => c.startsWith('iptables-save') || c.includes('route show'));
    try {
      // first pass: full (reads the kernel, makes vxlan.tsnet)
      await driver.reconcile(snapshot([self, n2]), 'h1', [via('10.2.1.0/26', n2.ipv4!)], false);
      assert.ok(readsKernel(runner.take()), 'the first pass reads the kernel');

      // a node joins with a block: neighbour, FDB entry and route, in two batches, no reads
      await driver.reconcile(snapshot([self, n2, n3]), 'h1', [via('10.2.1.0/26', n2.ipv4!), via('10.2.2.0/26', n3.ipv4!)], false);
      assert.deepEqual(runner.take(), ['ip -force -batch -', 'bridge -force -batch -']);
      const neigh = await h1.ns.ip('neigh', 'show', 'dev', 'vxlan.tsnet');
      assert.match(neigh, /10\.2\.2\.0 lladdr 66:00:00:00:00:03 PERMANENT/);
      assert.match(await h1.ns.exec('bridge', ['fdb', 'show', 'dev', 'vxlan.tsnet']), /66:00:00:00:00:03 dst 198\.51\.100\.3 self permanent/);
      assert.match(await h1.ns.ip('route', 'show', '10.2.2.0/26'), /via 10\.2\.2\.0 dev vxlan\.tsnet proto (80|tsnet) onlink/);

      // nothing changed: nothing runs
      await driver.reconcile(snapshot([self, n2, n3]), 'h1', [via('10.2.1.0/26', n2.ipv4!), via('10.2.2.0/26', n3.ipv4!)], false);
      assert.deepEqual(runner.take(), []);

      // it leaves: all three gone, again without reads
      await driver.reconcile(snapshot([self, n2]), 'h1', [via('10.2.1.0/26', n2.ipv4!)], false);
      assert.deepEqual(runner.take(), ['ip -force -batch -', 'bridge -force -batch -']);
      assert.doesNotMatch(await h1.ns.ip('neigh', 'show', 'dev', 'vxlan.tsnet'), /10\.2\.2\.0/);
      assert.doesNotMatch(await h1.ns.exec('bridge', ['fdb', 'show', 'dev', 'vxlan.tsnet']), /66:00:00:00:00:03/);
      assert.equal((await h1.ns.ip('route', 'show', '10.2.2.0/26')).trim(), '');
      assert.match(await h1.ns.ip('route', 'show', '10.2.1.0/26'), /via 10\.2\.1\.0 dev vxlan\.tsnet/);

      // nat-outgoing on the pool needs a full pass: at once, or (within the gap after the last
      // one, at least MIN_FULL_GAP_MS) when the driver says to come back, as the agent loop does
      const natSnap = snapshot([self, n2], true);
      const res = await driver.reconcile(natSnap, 'h1', [via('10.2.1.0/26', n2.ipv4!)], false);
      if (res.retryInMs !== undefined) {
        assert.ok(res.retryInMs <= Math.max(MIN_FULL_GAP_MS, 10_000), `retry in ${res.retryInMs} ms`);
        await new Promise((r) => setTimeout(r, res.retryInMs! + 20));
        await driver.reconcile(natSnap, 'h1', [via('10.2.1.0/26', n2.ipv4!)], false);
      }
      assert.ok(readsKernel(runner.take()), 'a pool change is a full pass');
      assert.match(await h1.ns.exec('iptables-save', ['-t', 'nat']), /TSNET-NAT-OUTGOING/);
    } finally {
      await driver.close();
    }
  });

  test('the VXLAN device arriving (this node\u2019s VTEP recorded) is a full pass at once, no fast lines through a missing device', async () => {
    const runner = new RecordingRunner(h2.ns.name);
    const driver = new ReconcilerDriver({ interface: 'eth0', cidr: h2.cidr }, createLogger('h2', undefined, 'silent'), {
      runner,
      rtProtosFile: null,
    });
    const other = node('h1', '198.51.100.1', '10.2.0.0', '66:00:00:00:00:01');
    const self: NodeRecord = { name: 'h2', ipv4: h2.ip, ipv6: null };
    const route: LearnedRoute = { prefix: '10.2.0.0/26', nextHop: other.ipv4! };
    try {
      await driver.reconcile(snapshot([other, self]), 'h2', [route], false);
      runner.take();
      assert.equal((await h2.ns.ip('link', 'show', 'vxlan.tsnet').catch(() => '')).trim(), '', 'no VTEP, no device yet');
      // well within the gap after the first full pass
      await driver.reconcile(snapshot([other, { ...self, vtep: { ip: '10.2.1.0', mac: '66:00:00:00:00:02' } }]), 'h2', [route], false);
      const cmds = runner.take();
      assert.ok(!cmds[0]!.includes('-batch'), `first command ${cmds[0]}: no fast batch before the device exists`);
      assert.ok(cmds.some((c) => c.includes('route show')), 'a full pass');
      assert.match(await h2.ns.ip('neigh', 'show', 'dev', 'vxlan.tsnet'), /10\.2\.0\.0 lladdr 66:00:00:00:00:01 PERMANENT/);
      assert.match(await h2.ns.ip('route', 'show', '10.2.0.0/26'), /via 10\.2\.0\.0 dev vxlan\.tsnet/);
    } finally {
      await driver.close();
    }
  });

  test('an UPDATE on an unchanged cluster writes its routes only; a failed line makes the next pass full', async () => {
    const runner = new RecordingRunner(h3.ns.name);
    // the debug records say which path each pass took ('routes updated': only BGP's changes computed)
    const logged: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void logged.push((JSON.parse(line) as { msg: string }).msg) });
    const driver = new ReconcilerDriver({ interface: 'eth0', cidr: h3.cidr }, log, {
      runner,
      rtProtosFile: null,
    });
    const self = node('h3', h3.ip, '10.2.2.0', '66:00:00:00:00:03');
    const n1 = node('n1', '198.51.100.1', '10.2.0.0', '66:00:00:00:00:01');
    const n2 = node('n2', '198.51.100.2', '10.2.1.0', '66:00:00:00:00:02');
    // one snapshot object throughout: the store hands out the same one until the cluster changes
    const snap = snapshot([n1, n2, self]);
    const a = { prefix: '10.2.0.0/26', nextHop: n1.ipv4! };
    const b = { prefix: '10.2.1.0/26', nextHop: n2.ipv4! };
    const readsKernel = (cmds: string[]): boolean => cmds.some((c) => c.includes('route show'));
    try {
      await driver.reconcile(snap, 'h3', [a], false);
      assert.ok(readsKernel(runner.take()), 'the first pass is a full one');
      // the store's snapshot rebuilt with nothing new for this node (say a heartbeat's lastSeen):
      // nothing runs, and UPDATEs take the short way from the new snapshot
      const same = { ...snap };
      await driver.reconcile(same, 'h3', [a], false);
      assert.deepEqual(runner.take(), []);
      // a new route: one batch, no reads
      const res = await driver.reconcile(same, 'h3', [a, b], false);
      assert.deepEqual(runner.take(), ['ip -force -batch -']);
      assert.deepEqual(logged.splice(0).filter((m) => m.endsWith('updated')), ['routes updated']);
      assert.equal(res.routes.remote, 2);
      assert.match(await h3.ns.ip('route', 'show', '10.2.1.0/26'), /via 10\.2\.1\.0 dev vxlan\.tsnet proto (80|tsnet) onlink/);
      // one withdrawn, one moved to another node
      const moved = { prefix: b.prefix, nextHop: n1.ipv4! };
      assert.equal((await driver.reconcile(same, 'h3', [moved], false)).routes.remote, 1);
      assert.deepEqual(runner.take(), ['ip -force -batch -']);
      assert.deepEqual(logged.splice(0).filter((m) => m.endsWith('updated')), ['routes updated']);
      assert.equal((await h3.ns.ip('route', 'show', '10.2.0.0/26')).trim(), '');
      assert.match(await h3.ns.ip('route', 'show', '10.2.1.0/26'), /via 10\.2\.0\.0 dev vxlan\.tsnet/);
      // a route the gate keeps out of the kernel (outside the pools) and an unchanged one: nothing runs
      const outside = { prefix: '0.0.0.0/0', nextHop: n2.ipv4! };
      assert.equal((await driver.reconcile(same, 'h3', [moved, outside], false)).routes.remote, 1);
      assert.deepEqual(runner.take(), []);
      // the kernel lost the route behind our back: deleting it fails, and the same pass goes full
      await h3.ns.ip('route', 'del', '10.2.1.0/26');
      await driver.reconcile(same, 'h3', [outside], false);
      const cmds = runner.take();
      assert.equal(cmds[0], 'ip -force -batch -');
      assert.ok(readsKernel(cmds), `a full pass after the failed line: ${cmds.join(', ')}`);
      assert.equal((await h3.ns.ip('route', 'show', 'proto', '80')).trim(), '');
    } finally {
      await driver.close();
    }
  });
});
