/**
 * Message framing (RFC 4271 §4.1): the header check and a stateful reassembler that turns a TCP
 * byte stream into whole BGP messages.
 */
import {
  BGP_HEADER_LEN,
  BGP_MARKER_LEN,
  BGP_MAX_MESSAGE_LEN,
  HeaderSubcode,
  MessageType,
} from '../types.js';
import { BgpError, headerError, u16Data } from './errors.js';

/** Smallest legal total length per message type (RFC 4271 §4.2–4.5, RFC 2918). */
const MIN_LENGTH: Record<number, number> = {
  [MessageType.OPEN]: 29,
  [MessageType.UPDATE]: 23,
  [MessageType.NOTIFICATION]: 21,
  [MessageType.KEEPALIVE]: 19,
  [MessageType.ROUTE_REFRESH]: 23,
};

/**
 * Validate the 19-byte header at `at` (caller guarantees 19 bytes are there). Returns the
 * message's total length, or the BgpError to send as NOTIFICATION (the session must then close).
 */
export function checkHeader(buf: Uint8Array, at: number): number | BgpError {
  for (let i = 0; i < BGP_MARKER_LEN; i++) {
    if (buf[at + i] !== 0xff) {
      return headerError(HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED, 'message header marker is not all ones');
    }
  }
  const length = (buf[at + 16]! << 8) | buf[at + 17]!;
  const type = buf[at + 18]!;
  if (length < BGP_HEADER_LEN || length > BGP_MAX_MESSAGE_LEN) {
    return headerError(HeaderSubcode.BAD_MESSAGE_LENGTH, `bad message length ${length}`, u16Data(length));
  }
  const min = MIN_LENGTH[type];
  if (min === undefined) {
    return headerError(HeaderSubcode.BAD_MESSAGE_TYPE, `unknown message type ${type}`, Buffer.from([type]));
  }
  if (length < min || (type === MessageType.KEEPALIVE && length !== BGP_HEADER_LEN)) {
    return headerError(
      HeaderSubcode.BAD_MESSAGE_LENGTH,
      `bad length ${length} for message type ${type}`,
      u16Data(length),
    );
  }
  return length;
}

/**
 * Reassembles BGP messages from stream chunks. Whole messages inside a chunk are handed out as
 * views of that chunk (no copy); only a message split across chunks is collected in one fixed
 * 4096-byte buffer (the largest legal message) and handed out as its own copy, so every frame
 * given to `onFrame` stays valid after the call. After a header error the reader stays failed.
 */
export class FrameReader {
  private readonly partial = Buffer.allocUnsafe(BGP_MAX_MESSAGE_LEN);
  private partialLen = 0;
  private failed: BgpError | undefined;

  /** Bytes held back waiting for the rest of a message. */
  get pending(): number {
    return this.partialLen;
  }

  /**
   * Feed one chunk; calls `onFrame(frame)` for each complete message (header included), in order.
   * Returns the header error that stops the stream, if any (frames before it were delivered).
   */
  feed(chunk: Buffer, onFrame: (frame: Buffer) => void): BgpError | undefined {
    if (this.failed) return this.failed;
    let off = 0;
    if (this.partialLen > 0) {
      off = this.fillPartial(chunk);
      if (this.failed) return this.failed;
      if (this.partialLen > 0) return undefined; // still incomplete, chunk fully consumed
      const done = this.completed;
      this.completed = undefined;
      if (done) onFrame(done);
    }
    while (off < chunk.length) {
      const avail = chunk.length - off;
      if (avail < BGP_HEADER_LEN) {
        this.keep(chunk, off, avail);
        return undefined;
      }
      const length = checkHeader(chunk, off);
      if (typeof length !== 'number') return (this.failed = length);
      if (avail < length) {
        this.keep(chunk, off, avail);
        return undefined;
      }
      onFrame(chunk.subarray(off, off + length));
      off += length;
    }
    return undefined;
  }

  private completed: Buffer | undefined;

  private keep(chunk: Buffer, off: number, n: number): void {
    chunk.copy(this.partial, 0, off, off + n);
    this.partialLen = n;
  }

  /** Top up the partial message from `chunk`; returns how many bytes of the chunk were used. */
  private fillPartial(chunk: Buffer): number {
    let used = 0;
    if (this.partialLen < BGP_HEADER_LEN) {
      const n = Math.min(BGP_HEADER_LEN - this.partialLen, chunk.length);
      chunk.copy(this.partial, this.partialLen, 0, n);
      this.partialLen += n;
      used = n;
      if (this.partialLen < BGP_HEADER_LEN) return used;
    }
    const length = checkHeader(this.partial, 0);
    if (typeof length !== 'number') {
      this.failed = length;
      return used;
    }
    const n = Math.min(length - this.partialLen, chunk.length - used);
    chunk.copy(this.partial, this.partialLen, used, used + n);
    this.partialLen += n;
    used += n;
    if (this.partialLen === length) {
      this.completed = Buffer.from(this.partial.subarray(0, length));
      this.partialLen = 0;
    }
    return used;
  }
}
