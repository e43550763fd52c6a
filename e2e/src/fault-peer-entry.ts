/**
 * A tiny scripted BGP speaker for the fault suite, run inside a namespace (ip netns exec), built
 * on the @bgp/ts-bgp codec only (no FSM, no RIB), so it can say things a correct speaker never
 * would. One JSON object per line on stdout for each thing that happens.
 *
 *   node fault-peer-entry.js serve '{"listen":IP,"port":P,"asn":N,"routerId":IP,"prefix":"A/L"}'
 *     accepts one session at a time (passive), answers OPEN with OPEN + KEEPALIVE, sends
 *     End-of-RIB once Established, keepalives every 10 s; stdin commands, one per line:
 *       announce      a valid UPDATE for `prefix` (ORIGIN IGP, AS_PATH [asn], NEXT_HOP listen)
 *       bad-origin    the same UPDATE with ORIGIN = 7 (RFC 7606 §7.1: treat-as-withdraw)
 *       bad-mp-reach  the valid UPDATE plus an MP_REACH_NLRI whose next-hop length overruns the
 *                     attribute (RFC 7606 §7.11: session reset)
 *     events: listening, connected, open, established, notification {code,subcode}, closed
 *   node fault-peer-entry.js probe '{"target":IP,"port":P,"asn":N,"routerId":IP}'
 *     connects, sends an OPEN, prints {"event":"probe","notification":{code,subcode}|null,
 *     "closed":bool,"ms":N} when the connection closes (or after 5 s), then exits.
 */
import { createServer, connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { FrameReader, buildOpen, decodeNotification, decodeOpen, encodeEndOfRib, encodeKeepalive, encodeOpen, encodeUpdate } from '@bgp/ts-bgp';

interface Opts {
  listen: string;
  target: string;
  port: number;
  asn: number;
  routerId: string;
  prefix: string;
}

const OPEN = 1;
const UPDATE = 2;
const NOTIFICATION = 3;
const KEEPALIVE = 4;
const ATTR_ORIGIN = 1;
const ATTR_MP_REACH = 14;

const emit = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
};

const myOpen = (o: Opts): Buffer =>
  encodeOpen(buildOpen({ asn: o.asn, holdTime: 30, bgpId: o.routerId, capabilities: { multiprotocol: ['ipv4'] } }));

/** A valid UPDATE announcing `prefix` with next hop `nextHop`, 4-octet AS_PATH [asn]. */
function goodUpdate(o: Opts): Buffer {
  const [addr, len] = o.prefix.split('/');
  return encodeUpdate(
    {
      attributes: { origin: 0, asPath: [{ type: 2, asns: [o.asn] }], nextHop: o.listen },
      nlri: [{ family: 'ipv4', addr: addr!, len: Number(len) }],
    },
    { fourOctetAs: true, ebgp: true },
  );
}

/** The attribute block of an UPDATE frame: [start, end) offsets. */
function attrBlock(frame: Buffer): [number, number] {
  const wEnd = 21 + frame.readUInt16BE(19);
  return [wEnd + 2, wEnd + 2 + frame.readUInt16BE(wEnd)];
}

/** Sets the one-byte value of attribute `type` in a copy of `frame`. */
function patchAttrByte(frame: Buffer, type: number, value: number): Buffer {
  const buf = Buffer.from(frame);
  const [start, end] = attrBlock(buf);
  for (let p = start; p < end; ) {
    const flags = buf[p]!;
    const ext = (flags & 0x10) !== 0;
    const len = ext ? buf.readUInt16BE(p + 2) : buf[p + 2]!;
    const v = p + (ext ? 4 : 3);
    if (buf[p + 1] === type) {
      buf[v] = value;
      return buf;
    }
    p = v + len;
  }
  throw new Error(`attribute ${type} not in the UPDATE`);
}

/** `frame` with one more raw attribute appended to its attribute block (lengths fixed up). */
function withExtraAttr(frame: Buffer, attr: Buffer): Buffer {
  const [start, end] = attrBlock(frame);
  const out = Buffer.concat([frame.subarray(0, end), attr, frame.subarray(end)]);
  out.writeUInt16BE(out.length, 16);
  out.writeUInt16BE(end - start + attr.length, start - 2);
  return out;
}

// MP_REACH_NLRI (optional, type 14, length 9): AFI 1, SAFI 1, next-hop length 200 — longer than
// the 5 bytes that follow, so the attribute cannot be parsed at all
const BAD_MP_REACH = Buffer.from([0x80, ATTR_MP_REACH, 9, 0, 1, 1, 200, 198, 51, 100, 9, 0, 0]);

function serve(o: Opts): void {
  let current: Socket | undefined;
  const server = createServer((sock) => {
    if (current) {
      emit('refused-second', { from: sock.remoteAddress });
      sock.destroy();
      return;
    }
    current = sock;
    emit('connected', { from: sock.remoteAddress });
    const reader = new FrameReader();
    let established = false;
    const ka = setInterval(() => sock.write(encodeKeepalive()), 10_000);
    sock.write(myOpen(o));
    sock.on('data', (chunk: Buffer) => {
      const err = reader.feed(chunk, (frame) => {
        const type = frame[18];
        if (type === OPEN) {
          const open = decodeOpen(frame);
          emit('open', { asn: open.capabilities.fourOctetAs ?? open.myAs, holdTime: open.holdTime });
          sock.write(encodeKeepalive());
        } else if (type === KEEPALIVE && !established) {
          established = true;
          emit('established');
          sock.write(encodeEndOfRib('ipv4'));
        } else if (type === NOTIFICATION) {
          const n = decodeNotification(frame);
          emit('notification', { code: n.code, subcode: n.subcode, data: n.data.toString('hex') });
        } else if (type === UPDATE) {
          emit('update', { bytes: frame.length });
        }
      });
      if (err) {
        emit('frame-error', { message: err.message });
        sock.destroy();
      }
    });
    const done = (): void => {
      clearInterval(ka);
      if (current === sock) {
        current = undefined;
        emit('closed');
      }
    };
    sock.on('close', done);
    sock.on('error', done);
  });
  server.listen(o.port, o.listen, () => emit('listening'));
  createInterface({ input: process.stdin }).on('line', (line) => {
    const cmd = line.trim();
    const sock = current;
    if (!sock) return emit('no-session', { cmd });
    if (cmd === 'announce') sock.write(goodUpdate(o));
    else if (cmd === 'bad-origin') sock.write(patchAttrByte(goodUpdate(o), ATTR_ORIGIN, 7));
    else if (cmd === 'bad-mp-reach') sock.write(withExtraAttr(goodUpdate(o), BAD_MP_REACH));
    else return emit('unknown-command', { cmd });
    emit('sent', { cmd });
  });
  process.on('SIGTERM', () => process.exit(0));
}

function probe(o: Opts): void {
  const t0 = Date.now();
  const chunks: Buffer[] = [];
  const sock = connect(o.port, o.target, () => sock.write(myOpen(o)));
  let printed = false;
  const report = (closed: boolean): void => {
    if (printed) return;
    printed = true;
    const all = Buffer.concat(chunks);
    let notification: { code: number; subcode: number } | null = null;
    const reader = new FrameReader();
    reader.feed(all, (frame) => {
      if (frame[18] === NOTIFICATION) {
        const n = decodeNotification(frame);
        notification = { code: n.code, subcode: n.subcode };
      }
    });
    emit('probe', { notification, closed, ms: Date.now() - t0, bytes: all.toString('hex') });
    process.exit(0);
  };
  sock.on('data', (c: Buffer) => chunks.push(c));
  sock.on('close', () => report(true));
  sock.on('error', () => undefined);
  setTimeout(() => report(false), 5000);
}

const [mode, json] = process.argv.slice(2);
const opts = JSON.parse(json ?? '{}') as Opts;
if (mode === 'serve') serve(opts);
else if (mode === 'probe') probe(opts);
else {
  console.error('usage: fault-peer-entry serve|probe JSON');
  process.exit(2);
}
