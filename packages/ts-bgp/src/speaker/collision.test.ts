/**
 * Connection collisions (RFC 4271 §6.8) against a scripted peer on raw sockets, so each ordering
 * of messages is exact: our speaker (lower BGP identifier) dials the peer (connection X) while the
 * peer dials us (connection Y, the one both must keep).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { FrameReader } from '../codec/frame.js';
import { buildOpen, decodeNotification, encodeKeepalive, encodeNotification, encodeOpen } from '../codec/messages.js';
import { MessageType } from '../types.js';
import { BgpSpeaker } from './speaker.js';
import { freePort, next } from './loopback.test-util.js';

const US = '127.0.0.4';
const PEER = '127.0.0.5';
const peerOpen = (): Buffer => encodeOpen(buildOpen({ asn: 65000, holdTime: 9, bgpId: '10.0.0.9', capabilities: { routeRefresh: true } }));

/** A socket's messages by type, awaited one at a time. */
class Wire {
  private readonly reader = new FrameReader();
  private readonly frames: Buffer[] = [];
  private wake: (() => void) | undefined;
  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.reader.feed(chunk, (f) => this.frames.push(Buffer.from(f)));
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }
  async nextOf(type: MessageType, ms = 3000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.frames.findIndex((f) => f[18] === type);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`no message of type ${type} within ${ms} ms`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
  }
}

async function setup() {
  const [pUs, pPeer] = [await freePort(US), await freePort(PEER)];
  const accepted: Socket[] = [];
  const server: Server = createServer((s) => accepted.push(s));
  await new Promise<void>((r) => server.listen(pPeer, PEER, () => r()));
  const speaker = new BgpSpeaker({ asn: 65000, routerId: '10.0.0.1', listen: { host: US, port: pUs }, holdTimeSec: 9, connectRetrySec: 5 });
  speaker.addPeer({ address: PEER, asn: 65000, port: pPeer, localAddress: US });
  const states: string[] = [];
  speaker.on('peerState', (e) => states.push(`${e.previous}->${e.state}`));
  await speaker.start();
  // X: our dial, accepted by the scripted peer; our OPEN arrives on it
  for (let i = 0; i < 100 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(accepted.length, 1, 'the speaker dialled the peer');
  const x = new Wire(accepted[0]!);
  await x.nextOf(MessageType.OPEN);
  // Y: the peer's own dial; the speaker answers it with its OPEN too (a collision candidate)
  const ySocket = connect({ host: US, port: pUs, localAddress: PEER });
  const y = new Wire(ySocket);
  await y.nextOf(MessageType.OPEN);
  const close = async () => {
    await speaker.stop();
    for (const s of [...accepted, ySocket]) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { speaker, x, y, states, close };
}

describe('connection collisions against a scripted peer', () => {
  test('OPEN and KEEPALIVE in one read on the winning connection: the KEEPALIVE reaches the session', async () => {
    const { speaker, x, y, states, close } = await setup();
    try {
      const up = next(speaker, 'peerState', (e) => e.state === 'Established', 3000);
      // the peer (higher identifier) keeps its own connection Y: OPEN + KEEPALIVE in one write
      y.socket.write(Buffer.concat([peerOpen(), encodeKeepalive()]));
      const lost = decodeNotification(await x.nextOf(MessageType.NOTIFICATION));
      assert.deepEqual([lost.code, lost.subcode], [6, 7], 'our connection X gets Cease / Connection Collision Resolution');
      await y.nextOf(MessageType.KEEPALIVE);
      await up;
      assert.ok(!states.includes('OpenConfirm->Idle') && !states.includes('OpenSent->Idle'), states.join(' '));
      assert.equal(speaker.peerStats(PEER)!.establishedCount, 1);
    } finally {
      await close();
    }
  });

  for (const [subcode, what] of [
    [7, 'the peer resolved the collision before its OPEN on Y arrived (Cease 6/7 on X)'],
    [5, 'the peer rejected X before it knew us and dialled us itself (Cease 6/5 on X)'],
  ] as const) {
    test(`${what}: the session goes on over Y without a failure`, async () => {
      const { speaker, x, y, states, close } = await setup();
      try {
        x.socket.end(encodeNotification({ code: 6, subcode }));
        await new Promise((r) => setTimeout(r, 100));
        assert.notEqual(speaker.peerStats(PEER)!.state, 'Idle', 'no idle hold: Y carries the session');
        const up = next(speaker, 'peerState', (e) => e.state === 'Established', 3000);
        y.socket.write(peerOpen());
        await y.nextOf(MessageType.KEEPALIVE);
        y.socket.write(encodeKeepalive());
        await up;
        assert.ok(!states.some((s) => s.endsWith('->Idle')), states.join(' '));
      } finally {
        await close();
      }
    });
  }
});
