// BGP ingest benchmark (not a test): the same pre-encoded stream of 1 M distinct IPv4 prefixes
// (few hundred attribute sets, then End-of-RIB) is fed over one iBGP session to BIRD 2, GoBGP and
// ts-bgp; then the other direction, ts-bgp vs BIRD announcing 1 M prefixes to a BIRD.
// Prints time from first UPDATE (or session up) to all prefixes held, and peak RSS (VmHWM).
//
// Run: e2e/bench/bgp-ingest [--prefixes N] [--attr-sets K] [--gobgp-timeout SEC] [--only NAME,...]
// (root). Everything runs in two namespaces on a testkit Underlay; the measuring process runs
// inside host "a" (re-executed there with --inner), the targets in host "b".
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Underlay, netnsUnsupportedReason, sleep, tempDir, uniquePrefix, waitFor } from '@tsnet/testkit';
import { birdConfigFor, BirdControl } from './bgp-targets.js';
import { buildStream, feed, prefixText } from './bgp-feed.js';
import { TS_BGP_BIN } from '../bgp-lab.js';

const A = '198.51.100.1';
const B = '198.51.100.2';
const AS = 64511;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

interface Row {
  direction: string;
  target: string;
  seconds: number | undefined;
  rssMb: number | undefined;
  note: string;
}

const hwmMb = (pid: number | undefined): number | undefined => {
  if (!pid) return undefined;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(+m[1]! / 1024) : undefined;
  } catch {
    return undefined;
  }
};

class Procs {
  private readonly all: ChildProcess[] = [];
  spawn(ns: string, cmd: string, args: string[], opts: { stdout?: boolean } = {}): ChildProcess {
    // ns '' = here (the measuring process already runs in host a)
    const [file, argv] = ns ? ['ip', ['netns', 'exec', ns, cmd, ...args]] : [cmd, args];
    const c = spawn(file, argv, { stdio: ['ignore', opts.stdout ? 'pipe' : 'ignore', 'ignore'] });
    c.on('error', () => undefined);
    this.all.push(c);
    return c;
  }
  async stop(c: ChildProcess): Promise<void> {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGCONT');
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  }
  async stopAll(): Promise<void> {
    for (const c of this.all) await this.stop(c);
  }
}

/** JSON lines of a ts-bgp child, with a waiter. */
function jsonLines(c: ChildProcess): { wait: (pred: (e: Record<string, unknown>) => boolean, ms: number) => Promise<number> } {
  const seen: Array<{ at: number; e: Record<string, unknown> }> = [];
  // readline emits a chunk's lines as it arrives, so `at` is the time of arrival
  createInterface({ input: c.stdout! }).on('line', (line) => {
    try {
      seen.push({ at: performance.now(), e: JSON.parse(line) as Record<string, unknown> });
    } catch {
      /* not JSON */
    }
  });
  return {
    wait: (pred, ms) => waitFor('ts-bgp event', () => seen.find((x) => pred(x.e))?.at, { timeoutMs: ms, intervalMs: 2 }),
  };
}

async function inner(): Promise<void> {
  const nsB = arg('ns-b', '');
  const dir = arg('dir', '/tmp');
  const n = Number(arg('prefixes', '1000000'));
  const sets = Number(arg('attr-sets', '250'));
  const gobgpTimeout = Number(arg('gobgp-timeout', '45'));
  const only = arg('only', 'bird,gobgp,ts-bgp,ts-bgp-out,bird-out').split(',');
  const procs = new Procs();
  const rows: Row[] = [];
  const { stream, updates } = buildStream(n, sets, A);
  console.error(`stream: ${n} prefixes, ${sets} attribute sets, ${updates} UPDATEs, ${(stream.length / 1e6).toFixed(1)} MB`);
  const feedArgs = { host: B, localAddress: A, asn: AS, routerId: A, stream };
  try {
    if (only.includes('bird')) {
      const conf = join(dir, 'bird-in.conf');
      await writeFile(conf, birdConfigFor({ routerId: B, local: B, peer: A, passive: true }));
      const sock = join(dir, 'bird-in.ctl');
      const bird = procs.spawn(nsB, 'bird', ['-c', conf, '-s', sock, '-P', join(dir, 'bird-in.pid'), '-f']);
      const ctl = await BirdControl.connect(sock);
      const session = await feed(feedArgs);
      const done = await ctl.waitImported('peer', n, 120_000);
      rows.push({ direction: 'receive 1 M', target: 'BIRD 2', seconds: (done - session.firstUpdateAt) / 1000, rssMb: hwmMb(bird.pid), note: '' });
      session.close();
      ctl.close();
      await procs.stop(bird);
    }
    if (only.includes('gobgp')) {
      const conf = join(dir, 'gobgp.toml');
      await writeFile(conf, gobgpConf());
      const g = procs.spawn(nsB, 'gobgpd', ['-f', conf, '-t', 'toml', '--api-hosts', '127.0.0.1:50099', '--pprof-disable', '-l', 'warn']);
      await sleep(1500);
      const session = await feed(feedArgs);
      let seconds: number | undefined;
      let note = '';
      const deadline = performance.now() + gobgpTimeout * 1000;
      for (;;) {
        const accepted = await gobgpAccepted(nsB).catch(() => 0);
        if (accepted >= n) {
          seconds = (performance.now() - session.firstUpdateAt) / 1000;
          break;
        }
        if (performance.now() > deadline) {
          note = `stopped after ${gobgpTimeout} s with ${accepted} prefixes held`;
          break;
        }
        await sleep(200);
      }
      rows.push({ direction: 'receive 1 M', target: 'GoBGP', seconds, rssMb: hwmMb(g.pid), note });
      session.close();
      await procs.stop(g);
    }
    if (only.includes('ts-bgp')) {
      const ts = procs.spawn(nsB, process.execPath, [TS_BGP_BIN, '--as', String(AS), '--router-id', B, '--listen', `${B}:179`, '--peer', `${A},passive`], { stdout: true });
      const events = jsonLines(ts);
      await events.wait((e) => e.event === 'listening', 10_000);
      const session = await feed(feedArgs);
      const done = await events.wait((e) => e.event === 'eor' && e.prefixes === n, 120_000);
      rows.push({ direction: 'receive 1 M', target: 'ts-bgp', seconds: (done - session.firstUpdateAt) / 1000, rssMb: hwmMb(ts.pid), note: 'End-of-RIB event with all prefixes held' });
      session.close();
      await procs.stop(ts);
    }
    if (only.includes('ts-bgp-out') || only.includes('bird-out')) {
      const list = join(dir, 'prefixes.txt');
      await writeFile(list, Array.from({ length: n }, (_, i) => prefixText(i)).join('\n'));
      const rconf = join(dir, 'bird-rx.conf');
      await writeFile(rconf, birdConfigFor({ routerId: B, local: B, peer: A, passive: true }));
      for (const sender of ['ts-bgp', 'BIRD 2'] as const) {
        if (!only.includes(sender === 'ts-bgp' ? 'ts-bgp-out' : 'bird-out')) continue;
        const sock = join(dir, `bird-rx-${sender.length}.ctl`);
        const rx = procs.spawn(nsB, 'bird', ['-c', rconf, '-s', sock, '-P', join(dir, 'bird-rx.pid'), '-f']);
        const ctl = await BirdControl.connect(sock);
        let tx: ChildProcess;
        if (sender === 'ts-bgp') {
          tx = procs.spawn('', process.execPath, [TS_BGP_BIN, '--as', String(AS), '--router-id', A, '--listen', 'none', '--peer', B, '--connect-retry', '1', '--next-hop', A, '--announce-file', list], { stdout: true });
        } else {
          const conf = join(dir, 'bird-tx.conf');
          await writeFile(conf, birdConfigFor({ routerId: A, local: A, peer: B, passive: false, statics: Array.from({ length: n }, (_, i) => prefixText(i)) }));
          tx = procs.spawn('', 'bird', ['-c', conf, '-s', join(dir, 'bird-tx.ctl'), '-P', join(dir, 'bird-tx.pid'), '-f']);
        }
        const up = await ctl.waitEstablished('peer', 120_000);
        const done = await ctl.waitImported('peer', n, 120_000);
        rows.push({ direction: 'send 1 M to BIRD', target: sender, seconds: (done - up) / 1000, rssMb: hwmMb(tx.pid), note: 'from session up to all imported by the receiving BIRD' });
        ctl.close();
        await procs.stop(tx);
        await procs.stop(rx);
      }
    }
  } finally {
    await procs.stopAll();
  }
  console.log(JSON.stringify(rows));
}

function gobgpConf(): string {
  return `[global.config]
  as = ${AS}
  router-id = "${B}"
  local-address-list = ["${B}"]
  port = 179
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${A}"
    peer-as = ${AS}
  [neighbors.transport.config]
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`;
}

async function gobgpAccepted(ns: string): Promise<number> {
  const out = await new Promise<string>((resolve, reject) => {
    const c = spawn('ip', ['netns', 'exec', ns, 'gobgp', '-p', '50099', 'neighbor', A, '-j'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let s = '';
    c.stdout.on('data', (d: Buffer) => (s += d.toString()));
    c.on('exit', () => resolve(s));
    c.on('error', reject);
  });
  const j = JSON.parse(out) as { afi_safis?: Array<{ state?: { accepted?: number } }> };
  return j.afi_safis?.[0]?.state?.accepted ?? 0;
}

async function outer(): Promise<void> {
  const skip = netnsUnsupportedReason();
  if (skip) {
    console.error(`bgp-ingest benchmark skipped: ${skip}`);
    process.exit(1);
  }
  const underlay = await Underlay.create(uniquePrefix('bi'));
  const dir = await tempDir('bgp-ingest');
  try {
    const a = await underlay.addHost('a', `${A}/24`, '198.51.100.254');
    const b = await underlay.addHost('b', `${B}/24`, '198.51.100.254');
    const self = fileURLToPath(import.meta.url);
    const child = spawn('ip', ['netns', 'exec', a.ns.name, process.execPath, self, '--inner', '--ns-b', b.ns.name, '--dir', dir.path, ...process.argv.slice(2)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    if (code !== 0) throw new Error(`benchmark run failed (exit ${code})`);
    const rows = JSON.parse(out.trim().split('\n').pop()!) as Row[];
    const n = Number(arg('prefixes', '1000000'));
    console.log(`\nBGP ingest: ${n} IPv4 prefixes over one iBGP session (${arg('attr-sets', '250')} attribute sets)\n`);
    console.log('| direction | implementation | time to all held | peak RSS | note |');
    console.log('|---|---|---|---|---|');
    for (const r of rows) {
      console.log(`| ${r.direction} | ${r.target} | ${r.seconds === undefined ? '—' : `${r.seconds.toFixed(2)} s`} | ${r.rssMb ?? '?'} MB | ${r.note} |`);
    }
  } finally {
    await underlay.destroy();
    await dir.remove();
  }
}

await (process.argv.includes('--inner') ? inner() : outer());
