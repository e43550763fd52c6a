/**
 * One TCP connection carrying BGP: a read path (socket chunks → FrameReader → whole frames) and a
 * write path (encoded messages, corked per batch). Knows nothing about the FSM or the RIB.
 */
import type { Socket } from 'node:net';
import { FrameReader } from '../codec/frame.js';
import type { BgpError } from '../codec/errors.js';

export interface ConnectionHandlers {
  /** one whole message (header included); valid after the call returns */
  frame(frame: Buffer): void;
  /** all frames of one socket read were delivered (the place to flush batched work) */
  batchEnd(): void;
  /** the byte stream is broken (header error): answer with its NOTIFICATION and close */
  streamError(err: BgpError): void;
  /** the connection is gone (closed by either side or failed) */
  closed(reason: string): void;
}

export class Connection {
  private readonly reader = new FrameReader();
  private handlers: ConnectionHandlers | undefined;
  private ended = false;
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    readonly socket: Socket,
    /** true when we initiated it (decides connection collisions, RFC 4271 §6.8) */
    readonly outgoing: boolean,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.finish(err.message));
    socket.on('close', () => this.finish('connection closed'));
  }

  get localAddress(): string | undefined {
    return stripMapped(this.socket.localAddress);
  }
  get remoteAddress(): string | undefined {
    return stripMapped(this.socket.remoteAddress);
  }
  get open(): boolean {
    return !this.ended;
  }

  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
  }

  /** Stop delivering events (the owner is done with this connection). */
  detach(): void {
    this.handlers = undefined;
  }

  send(message: Buffer): void {
    if (this.ended) return;
    this.bytesOut += message.length;
    this.socket.write(message);
  }

  /** Several messages in one write burst. */
  sendAll(messages: readonly Buffer[]): void {
    if (this.ended || messages.length === 0) return;
    this.socket.cork();
    for (const m of messages) this.send(m);
    process.nextTick(() => this.socket.uncork());
  }

  /** Flush what is queued (e.g. a NOTIFICATION), then close; forced after a short grace. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 1000);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }

  /** Drop without flushing (process is dying, or the peer vanished). */
  destroy(): void {
    this.ended = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.ended || !this.handlers) return;
    this.bytesIn += chunk.length;
    // the handlers are read per frame: a frame may hand the connection to a new owner (the OPEN
    // that wins a collision), and the frames read with it (its KEEPALIVE) belong to that owner
    const err = this.reader.feed(chunk, (frame) => {
      if (!this.ended) this.handlers?.frame(frame);
    });
    if (err && !this.ended) this.handlers?.streamError(err);
    this.handlers?.batchEnd();
  }

  private finish(reason: string): void {
    const wasOpen = !this.ended;
    this.ended = true;
    const h = this.handlers;
    this.handlers = undefined;
    if (h) h.closed(wasOpen ? reason : 'connection closed');
  }
}

/** "::ffff:192.0.2.1" (dual-stack listener) → "192.0.2.1" */
export const stripMapped = (a: string | undefined): string | undefined => (a?.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a);
