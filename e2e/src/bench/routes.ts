// Kernel-programming benchmark: the reconciler programs 10 k remote-block routes into a fresh
// network namespace, then a no-op pass, a drift repair and the removal of everything are timed.
// Run: e2e/bench/routes [--routes N] [--rounds R]   (root; everything happens in a namespace).
import { Reconciler, ExecaRunner, computeDesiredState, type DataplaneInput } from '@tsnet/dataplane';
import { Underlay, netnsUnsupportedReason, uniquePrefix } from '@tsnet/testkit';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** The i-th /26 in 10.0.0.0/8. */
function block(i: number): string {
  return `10.${(i >> 10) & 255}.${(i >> 2) & 255}.${(i & 3) << 6}/26`;
}

function inputWith(routes: number): DataplaneInput {
  return {
    node: { name: 'bench', ipv4: '198.51.100.1', underlay: { interface: 'eth0', cidr: '198.51.100.1/24' } },
    pools: [
      { cidr: '10.0.0.0/8', ipipMode: 'never', vxlanMode: 'never', natOutgoing: true, disabled: false },
    ],
    localBlocks: [],
    remoteRoutes: Array.from({ length: routes }, (_, i) => ({
      prefix: block(i),
      nextHop: `198.51.100.${2 + (i % 100)}`,
    })),
    remoteVteps: [],
    workloads: [],
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${x.toFixed(1)} ms`;

async function main(): Promise<void> {
  const skip = netnsUnsupportedReason();
  if (skip) {
    console.error(`routes benchmark skipped: ${skip}`);
    process.exit(1);
  }
  const n = arg('routes', 10_000);
  const rounds = arg('rounds', 3);
  const underlay = await Underlay.create(uniquePrefix('bench'));
  try {
    const host = await underlay.addHost('h', '198.51.100.1/24', '198.51.100.254');
    const runner = new ExecaRunner({ netns: host.ns.name, timeoutMs: 60_000 });
    const rec = new Reconciler({ runner, rtProtosFile: null });
    const full = inputWith(n);
    const empty = inputWith(0);
    const times: Record<string, number[]> = { compute: [], program: [], noop: [], repair: [], remove: [] };
    for (let r = 0; r < rounds; r++) {
      let t = performance.now();
      computeDesiredState(full);
      times.compute!.push(performance.now() - t);

      const prog = await rec.reconcile(full);
      if (prog.errors.length > 0)
        throw new Error(`programming failed: ${prog.errors[0]!.command}: ${prog.errors[0]!.error}`);
      times.program!.push(prog.durationMs);
      const count = (await host.ns.ip('route', 'show', 'proto', '80')).trim().split('\n').length;
      if (count !== n) throw new Error(`expected ${n} routes in the namespace, found ${count}`);

      const noop = await rec.reconcile(full);
      if (noop.applied.length !== 0) throw new Error(`no-op pass applied ${noop.applied.length} changes`);
      times.noop!.push(noop.durationMs);

      const drop = Array.from({ length: 100 }, (_, i) => `route del ${block(i * 37)}`).join('\n') + '\n';
      await runner.run('ip', ['-batch', '-'], { input: drop });
      t = performance.now();
      const repair = await rec.reconcile(full);
      if (repair.applied.length !== 100)
        throw new Error(`repair applied ${repair.applied.length}, expected 100`);
      times.repair!.push(performance.now() - t);

      const removed = await rec.reconcile(empty);
      times.remove!.push(removed.durationMs);
    }
    const rows: [string, string, string][] = [
      ['compute desired state (pure)', ms(median(times.compute!)), ''],
      [`program ${n} routes from empty`, ms(median(times.program!)), 'target <= 500 ms'],
      ['no-op pass (read + diff)', ms(median(times.noop!)), ''],
      ['repair 100 hand-deleted routes', ms(median(times.repair!)), ''],
      [`remove ${n} stale routes`, ms(median(times.remove!)), ''],
    ];
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length));
    console.log(`routes benchmark: ${n} routes, median of ${rounds} rounds, in a network namespace`);
    console.log(`${'step'.padEnd(w0)} | ${'time'.padStart(w1)} | note`);
    console.log(`${'-'.repeat(w0)}-|-${'-'.repeat(w1)}-|-----`);
    for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)} | ${b.padStart(w1)} | ${c}`);
  } finally {
    await underlay.destroy();
  }
}

main().catch((err: Error) => {
  console.error(`routes benchmark failed: ${err.message}`);
  process.exit(1);
});
