/**
 * BgpError: every protocol error the codec detects carries the NOTIFICATION it maps to
 * (RFC 4271 §6), so the session can answer with exactly that code/subcode/data and close.
 */
import {
  ErrorCode,
  MessageType,
  type NotificationMessage,
  type UpdateAction,
  type UpdateError,
} from '../types.js';

export class BgpError extends Error implements UpdateError {
  override readonly name = 'BgpError';
  constructor(
    readonly code: number,
    readonly subcode: number,
    message: string,
    readonly data: Buffer = Buffer.alloc(0),
    /** RFC 7606 handling; anything outside an UPDATE is a session reset */
    readonly action: UpdateAction = 'session-reset',
    readonly attrType?: number,
  ) {
    super(message);
  }

  /** The NOTIFICATION to send before closing the session. */
  toNotification(): NotificationMessage {
    return { type: MessageType.NOTIFICATION, code: this.code, subcode: this.subcode, data: this.data };
  }
}

export const headerError = (subcode: number, message: string, data?: Buffer): BgpError =>
  new BgpError(ErrorCode.MESSAGE_HEADER, subcode, message, data);

export const openError = (subcode: number, message: string, data?: Buffer): BgpError =>
  new BgpError(ErrorCode.OPEN_MESSAGE, subcode, message, data);

export const updateError = (
  subcode: number,
  action: UpdateAction,
  message: string,
  data?: Buffer,
  attrType?: number,
): BgpError => new BgpError(ErrorCode.UPDATE_MESSAGE, subcode, message, data, action, attrType);

const SEVERITY: Record<UpdateAction, number> = {
  none: 0,
  'attribute-discard': 1,
  'treat-as-withdraw': 2,
  'session-reset': 3,
};

/** The more severe of two RFC 7606 actions. */
export const worseAction = (a: UpdateAction, b: UpdateAction): UpdateAction =>
  SEVERITY[a] >= SEVERITY[b] ? a : b;

/** 2-byte big-endian data field, as several NOTIFICATIONs carry (bad length, unsupported version). */
export const u16Data = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v & 0xffff, 0);
  return b;
};
