/**
 * A full iBGP mesh started at once over loopback: every speaker dials every other at the same
 * moment (connection collisions, RFC 4271 §6.8), and some learn of their peers late (Connection
 * Rejected first, then the late side dials in while the early side waits out its idle hold).
 * Before the collision fixes this produced FSM errors (5/2) and idle holds of >= 0.75 x
 * connectRetrySec; the bound below is shorter than one such wait.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpSpeaker } from './speaker.js';
import { freePort } from './loopback.test-util.js';
import type { NotificationEvent } from './types.js';

const N = 16;
const CONNECT_RETRY_SEC = 5;
/** one failure costs at least 0.75 x 5 s of idle hold; a clean mesh takes well under a second */
const MESH_BOUND_MS = 3000;
const STOP_BOUND_MS = 4000;

/** deterministic delays (a small LCG), so a failure can be rerun */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

const tcpHandles = (): number =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;

describe('full mesh over loopback', () => {
  test(`${N} speakers started at once reach a full mesh without FSM errors or backoff`, async (t) => {
    const addrs = Array.from({ length: N }, (_, i) => `127.0.3.${i + 1}`);
    const ports: number[] = [];
    for (const a of addrs) ports.push(await freePort(a));
    const notes: string[] = [];
    const speakers = addrs.map((a, i) => {
      const s = new BgpSpeaker({
        asn: 65000,
        routerId: `10.0.0.${N - i}`, // identifiers in the opposite order of addresses
        listen: { host: a, port: ports[i]! },
        holdTimeSec: 30,
        connectRetrySec: CONNECT_RETRY_SEC,
        gracefulRestart: { restartTimeSec: 120, restarting: true, forwardingPreserved: true },
      });
      s.on('notification', (n: NotificationEvent) => notes.push(`${a} ${n.direction} ${n.code}/${n.subcode} ${n.peer}`));
      return s;
    });
    const timers: NodeJS.Timeout[] = [];
    const random = lcg(Number(process.env.TSBGP_MESH_SEED ?? 7));
    const t0 = Date.now();
    let meshMs = -1;
    try {
      await Promise.all(speakers.map((s) => s.start()));
      speakers.forEach((s, i) => {
        // half add their peers at once, half up to 300 ms later (like agents learning of hosts)
        const delay = random() < 0.5 ? 0 : Math.floor(random() * 300);
        const add = () =>
          addrs.forEach((a, j) => {
            if (j !== i) s.addPeer({ address: a, asn: 65000, port: ports[j]!, localAddress: addrs[i] });
          });
        if (delay === 0) add();
        else timers.push(setTimeout(add, delay));
      });
      const full = () => speakers.every((s) => s.peers().length === N - 1 && s.peers().every((p) => p.state === 'Established'));
      while (!full() && Date.now() - t0 < MESH_BOUND_MS + 2000) await new Promise((r) => setTimeout(r, 10));
      meshMs = full() ? Date.now() - t0 : -1;
    } finally {
      timers.forEach(clearTimeout);
      const stopped = Promise.all(speakers.map((s) => s.stop()));
      let bound: NodeJS.Timeout | undefined;
      const late = new Promise<'timeout'>((r) => (bound = setTimeout(() => r('timeout'), STOP_BOUND_MS)));
      const outcome = await Promise.race([stopped, late]);
      clearTimeout(bound);
      assert.notEqual(outcome, 'timeout', 'every speaker stops (no socket left half-open)');
    }
    t.diagnostic(`full mesh in ${meshMs} ms; ${notes.length} NOTIFICATIONs (${notes.filter((n) => / 6\/7 /.test(n)).length} collision)`);
    const fsmErrors = notes.filter((n) => / 5\/\d+ /.test(n));
    assert.deepEqual(fsmErrors, [], 'no FSM Error NOTIFICATION, sent or received');
    assert.ok(meshMs >= 0, `full mesh not reached in ${MESH_BOUND_MS + 2000} ms`);
    assert.ok(meshMs < MESH_BOUND_MS, `full mesh took ${meshMs} ms (bound ${MESH_BOUND_MS} ms)`);
    for (const s of speakers) {
      for (const p of s.peers()) assert.equal(p.establishedCount, 1, `${p.address} came up once (no session flapped)`);
    }
    // nothing left running: no listener, no socket
    for (let i = 0; i < 50 && tcpHandles() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(tcpHandles(), 0, 'no TCP socket or listener left');
  });
});
