/**
 * The ingest benchmark's traffic: one pre-encoded stream of UPDATEs carrying N distinct IPv4 /24s
 * with a few hundred attribute sets, then End-of-RIB; and a minimal BGP speaker that opens an
 * iBGP session and writes the stream in one go (the same bytes for every target).
 */
import { connect, type Socket } from 'node:net';
import {
  FrameReader,
  buildOpen,
  encodeEndOfRib,
  encodeKeepalive,
  encodeOpen,
  encodeUpdatesByKey,
  ipv4Key,
  type PathAttributes,
} from '@bgp/ts-bgp';

/** The i-th prefix: /24s counted up from 16.0.0.0 (1 M of them end at 31.255.255.0). */
export const prefixText = (i: number): string => `${16 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.0/24`;

export function buildStream(prefixes: number, attrSets: number, nextHop: string): { stream: Buffer; updates: number } {
  const sets: PathAttributes[] = Array.from({ length: attrSets }, (_, k) => ({
    origin: 0,
    asPath: [{ type: 2, asns: [65001 + (k % 7), 65100 + (k % 31), 65200 + k] }],
    nextHop,
    localPref: 100,
    med: k,
    communities: [(65000 * 65536 + k) >>> 0],
  }));
  const opts = { fourOctetAs: true };
  const parts: Buffer[] = [];
  const perCall = 900;
  for (let start = 0, j = 0; start < prefixes; start += perCall, j++) {
    const keys: number[] = [];
    for (let i = start; i < Math.min(start + perCall, prefixes); i++) keys.push(ipv4Key(((16 << 24) + (i << 8)) >>> 0, 24));
    parts.push(...encodeUpdatesByKey('ipv4', sets[j % attrSets]!, keys, opts));
  }
  const updates = parts.length;
  parts.push(encodeEndOfRib('ipv4'));
  return { stream: Buffer.concat(parts), updates };
}

export interface FeedSession {
  socket: Socket;
  /** ms timestamp (performance.now) just before the first UPDATE byte was written */
  firstUpdateAt: number;
  close(): void;
}

/**
 * Open an iBGP session to host:port from localAddress (AS `asn`, id `routerId`), wait for
 * Established, then write `stream`. Keepalives keep the session up until close().
 */
export async function feed(o: Parameters<typeof feedOnce>[0], attempts = 20): Promise<FeedSession> {
  for (let i = 1; ; i++) {
    try {
      return await feedOnce({ ...o, timeoutMs: o.timeoutMs ?? 5000 });
    } catch (err) {
      // the target may still be starting its protocol: try again shortly
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function feedOnce(o: { host: string; port?: number; localAddress: string; asn: number; routerId: string; stream: Buffer; timeoutMs?: number }): Promise<FeedSession> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: o.host, port: o.port ?? 179, localAddress: o.localAddress });
    const reader = new FrameReader();
    let state: 'open' | 'confirm' | 'up' = 'open';
    let keepalive: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => fail(new Error(`no BGP session with ${o.host} within ${o.timeoutMs ?? 20_000} ms`)), o.timeoutMs ?? 20_000);
    const close = (): void => {
      clearInterval(keepalive);
      socket.destroy();
    };
    const fail = (err: Error): void => {
      clearTimeout(timer);
      close();
      reject(err);
    };
    socket.on('error', (err) => fail(err));
    socket.on('close', () => {
      if (state !== 'up') fail(new Error(`${o.host} closed the connection before the session came up`));
    });
    socket.on('connect', () => {
      const open = buildOpen({ asn: o.asn, holdTime: 240, bgpId: o.routerId, capabilities: { multiprotocol: ['ipv4'], routeRefresh: true } });
      socket.write(encodeOpen(open));
    });
    socket.on('data', (chunk: Buffer) => {
      const err = reader.feed(chunk, (frame) => {
        const type = frame[18];
        if (type === 3) return fail(new Error(`${o.host} sent NOTIFICATION ${frame[19]}/${frame[20]}`));
        if (state === 'open' && type === 1) {
          state = 'confirm';
          socket.write(encodeKeepalive());
        } else if (state === 'confirm' && type === 4) {
          state = 'up';
          clearTimeout(timer);
          keepalive = setInterval(() => socket.write(encodeKeepalive()), 30_000);
          const firstUpdateAt = performance.now();
          socket.write(o.stream);
          resolve({ socket, firstUpdateAt, close });
        }
      });
      if (err) fail(err);
    });
  });
}
