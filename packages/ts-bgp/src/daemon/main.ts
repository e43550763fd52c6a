/**
 * The ts-bgp daemon: a BgpSpeaker configured from the command line, reporting one JSON object
 * per line on stdout. Reads optional commands on stdin ("announce CIDR... [next-hop IP]",
 * "withdraw CIDR...", "stats"). SIGTERM/SIGINT: Cease to all peers, a final stats line, exit 0.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { BgpSpeaker } from '../speaker/speaker.js';
import { parseDaemonArgs, UsageError, USAGE, type DaemonConfig } from './args.js';

const out = (obj: object): void => {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
};

async function announceFile(speaker: BgpSpeaker, path: string, cfg: DaemonConfig): Promise<number> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let batch: string[] = [];
  let n = 0;
  const flush = (): void => {
    for (const nh of nextHopsFor(cfg)) speaker.announce(batch, nh);
    n += batch.length;
    batch = [];
  };
  for await (const line of lines) {
    const t = line.trim();
    if (t && !t.startsWith('#')) batch.push(t);
    if (batch.length >= 65536) flush();
  }
  flush();
  return n;
}

/** One announce per configured next hop (each applies to prefixes of its own family). */
function nextHopsFor(cfg: DaemonConfig): Array<{ nextHop?: string }> {
  const hops = [cfg.nextHop.ipv4, cfg.nextHop.ipv6].filter((x): x is string => !!x);
  return hops.length > 0 ? hops.map((nextHop) => ({ nextHop })) : [{}];
}

function stats(speaker: BgpSpeaker): object {
  return {
    event: 'stats',
    routes: { ipv4: speaker.routeCount('ipv4'), ipv6: speaker.routeCount('ipv6') },
    peers: speaker.peers(),
    rssBytes: process.memoryUsage.rss(),
  };
}

function commands(speaker: BgpSpeaker, cfg: DaemonConfig): void {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    const [cmd, ...rest] = line.trim().split(/\s+/);
    try {
      if (cmd === 'announce') {
        const i = rest.indexOf('next-hop');
        const prefixes = i >= 0 ? rest.slice(0, i) : rest;
        if (i >= 0) speaker.announce(prefixes, { nextHop: rest[i + 1] });
        else for (const nh of nextHopsFor(cfg)) speaker.announce(prefixes, nh);
      } else if (cmd === 'withdraw') speaker.withdraw(rest);
      else if (cmd === 'stats') out(stats(speaker));
      else if (cmd) out({ event: 'error', message: `unknown command "${cmd}": expected announce, withdraw or stats` });
    } catch (err) {
      out({ event: 'error', message: (err as Error).message });
    }
  });
  rl.on('error', () => undefined);
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  let cfg: DaemonConfig;
  try {
    cfg = parseDaemonArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ts-bgp: ${err.message} (see ts-bgp --help)\n`);
      process.exit(2);
    }
    throw err;
  }
  const speaker = new BgpSpeaker({
    asn: cfg.asn,
    routerId: cfg.routerId,
    listen: cfg.listen,
    holdTimeSec: cfg.holdTimeSec,
    connectRetrySec: cfg.connectRetrySec,
    gracefulRestart: cfg.gracefulRestart,
  });
  for (const p of cfg.peers) speaker.addPeer({ ...p, nextHop: { ...cfg.nextHop } });
  speaker.on('peerState', (e) => out({ event: 'state', peer: e.address, state: e.state, ...(e.info ? { info: e.info } : {}) }));
  speaker.on('endOfRib', (e) => out({ event: 'eor', peer: e.peer, afi: e.family, prefixes: e.prefixes }));
  speaker.on('notification', (n) => out({ event: 'notification', ...n }));
  if (cfg.logRoutes) {
    speaker.on('bestPathChanges', (changes) => {
      for (const c of changes) {
        const b = c.best;
        const asPath = b?.attrs.asPath.flatMap((s) => s.asns);
        out({ event: 'route', prefix: c.prefix, ...(b ? { peer: b.peer ?? 'local', nextHop: b.nextHop, asPath } : { withdrawn: true }) });
      }
    });
  }
  for (const nh of nextHopsFor(cfg)) if (cfg.announce.length > 0) speaker.announce(cfg.announce, nh);
  if (cfg.announceFile) {
    const n = await announceFile(speaker, cfg.announceFile, cfg);
    out({ event: 'announced', prefixes: n });
  }
  let stopping = false;
  const shutdown = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await speaker.stop();
    out(stats(speaker));
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  try {
    await speaker.start();
  } catch (err) {
    process.stderr.write(`ts-bgp: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (cfg.listen) out({ event: 'listening', host: cfg.listen.host, port: speaker.listenPort });
  commands(speaker, cfg);
}

void main().catch((err: unknown) => {
  process.stderr.write(`ts-bgp: ${(err as Error).message}\n`);
  process.exit(1);
});
