/** One entry point for a whole frame from FrameReader: check the header, dispatch on the type. */
import { BGP_HEADER_LEN, HeaderSubcode, MessageType, type BgpMessage } from '../types.js';
import { headerError, u16Data } from './errors.js';
import { checkHeader } from './frame.js';
import { decodeNotification, decodeOpen, decodeRouteRefresh, KEEPALIVE } from './messages.js';
import { decodeUpdate, type UpdateDecodeOptions } from './update.js';

/**
 * Decode one message. Throws only BgpError (header, OPEN, ROUTE-REFRESH errors: send its
 * NOTIFICATION and close). UPDATE errors never throw: read `action`/`errors` of the UpdateMessage.
 * Returns undefined for a valid message to ignore (ROUTE-REFRESH for a family we do not route).
 */
export function decodeMessage(frame: Buffer, opts: UpdateDecodeOptions): BgpMessage | undefined {
  if (frame.length < BGP_HEADER_LEN) {
    throw headerError(HeaderSubcode.BAD_MESSAGE_LENGTH, `message of ${frame.length} bytes is shorter than a header`, u16Data(frame.length));
  }
  const length = checkHeader(frame, 0);
  if (typeof length !== 'number') throw length;
  if (length !== frame.length) {
    throw headerError(HeaderSubcode.BAD_MESSAGE_LENGTH, `length field ${length} but ${frame.length} bytes given`, u16Data(length));
  }
  switch (frame[18]) {
    case MessageType.OPEN:
      return decodeOpen(frame);
    case MessageType.UPDATE:
      return decodeUpdate(frame, opts);
    case MessageType.NOTIFICATION:
      return decodeNotification(frame);
    case MessageType.KEEPALIVE:
      return KEEPALIVE;
    default:
      return decodeRouteRefresh(frame);
  }
}
