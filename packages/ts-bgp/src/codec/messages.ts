/**
 * OPEN (RFC 4271 §4.2), NOTIFICATION (§4.5), KEEPALIVE (§4.4) and ROUTE-REFRESH (RFC 2918,
 * RFC 7313): decode from a whole frame (header already checked by checkHeader) and encode to one.
 */
import {
  AS_TRANS,
  BGP_HEADER_LEN,
  BGP_MARKER_LEN,
  ErrorCode,
  MessageType,
  OpenSubcode,
  type Capabilities,
  type Family,
  type KeepaliveMessage,
  type NotificationMessage,
  type OpenMessage,
  type RouteRefreshMessage,
} from '../types.js';
import { ipv4ToUint, readIpv4 } from './bytes.js';
import { afiOfFamily, decodeCapabilities, emptyCapabilities, encodeCapabilities, unicastFamily } from './capabilities.js';
import { BgpError, openError, u16Data } from './errors.js';

export const BGP_VERSION = 4;
const OPT_PARAM_CAPABILITIES = 2;
const OPT_PARAM_EXTENDED = 255; // RFC 9072

/** A message buffer of `bodyLen` bytes after the header, header filled in. */
export function allocMessage(type: MessageType, bodyLen: number): Buffer {
  const buf = Buffer.allocUnsafe(BGP_HEADER_LEN + bodyLen);
  writeHeader(buf, 0, type, BGP_HEADER_LEN + bodyLen);
  return buf;
}

export function writeHeader(buf: Buffer, at: number, type: MessageType, length: number): void {
  buf.fill(0xff, at, at + BGP_MARKER_LEN);
  buf.writeUInt16BE(length, at + 16);
  buf[at + 18] = type;
}

export function decodeOpen(frame: Buffer): OpenMessage {
  const b = BGP_HEADER_LEN;
  const version = frame[b]!;
  if (version !== BGP_VERSION) {
    return fail(openError(OpenSubcode.UNSUPPORTED_VERSION, `unsupported BGP version ${version}`, u16Data(BGP_VERSION)));
  }
  const myAs = frame.readUInt16BE(b + 1);
  const holdTime = frame.readUInt16BE(b + 3);
  const bgpIdRaw = frame.readUInt32BE(b + 5);
  const optLen = frame[b + 9]!;
  if (holdTime === 1 || holdTime === 2) {
    return fail(openError(OpenSubcode.UNACCEPTABLE_HOLD_TIME, `unacceptable hold time ${holdTime}s (must be 0 or >= 3)`));
  }
  if (bgpIdRaw === 0) return fail(openError(OpenSubcode.BAD_BGP_IDENTIFIER, 'BGP identifier 0.0.0.0 is invalid'));
  if (myAs === 0) return fail(openError(OpenSubcode.BAD_PEER_AS, 'peer AS 0 is invalid (RFC 7607)'));
  const capabilities = emptyCapabilities();
  let p = b + 10;
  let end = p + optLen;
  let extended = false;
  if (optLen === 255 && frame[p] === OPT_PARAM_EXTENDED) {
    // RFC 9072: non-extended length 255 and type 255, then a 2-byte length and 2-byte parameter lengths
    if (p + 3 > frame.length) return fail(openError(0, 'truncated extended optional parameters'));
    extended = true;
    end = p + 3 + frame.readUInt16BE(p + 1);
    p += 3;
  }
  if (end !== frame.length) {
    return fail(openError(0, `optional parameters length ${end - b - 10} does not match the message`));
  }
  const headLen = extended ? 3 : 2;
  while (p < end) {
    if (p + headLen > end) return fail(openError(0, 'truncated optional parameter'));
    const type = frame[p]!;
    const len = extended ? frame.readUInt16BE(p + 1) : frame[p + 1]!;
    const v = p + headLen;
    p = v + len;
    if (p > end) return fail(openError(0, `optional parameter ${type} overruns the message`));
    if (type !== OPT_PARAM_CAPABILITIES) {
      return fail(openError(OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER, `unsupported optional parameter type ${type}`));
    }
    decodeCapabilities(frame, v, p, capabilities);
  }
  if (capabilities.fourOctetAs === 0) return fail(openError(OpenSubcode.BAD_PEER_AS, 'peer 4-octet AS 0 is invalid'));
  return { type: MessageType.OPEN, version, myAs, holdTime, bgpId: readIpv4(frame, b + 5), capabilities };
}

const fail = (e: BgpError): never => {
  throw e;
};

/** The peer's real AS: the 4-octet AS capability when present, else the My AS field. */
export const peerAsOf = (open: OpenMessage): number => open.capabilities.fourOctetAs ?? open.myAs;

/** An OPEN for local AS `asn` (AS_TRANS in My AS when it needs 4 octets; 4-octet AS capability set). */
export function buildOpen(o: { asn: number; holdTime: number; bgpId: string; capabilities?: Partial<Capabilities> }): OpenMessage {
  const capabilities: Capabilities = { ...emptyCapabilities(), ...o.capabilities };
  capabilities.fourOctetAs ??= o.asn;
  return {
    type: MessageType.OPEN,
    version: BGP_VERSION,
    myAs: o.asn > 0xffff ? AS_TRANS : o.asn,
    holdTime: o.holdTime,
    bgpId: o.bgpId,
    capabilities,
  };
}

export function encodeOpen(open: Omit<OpenMessage, 'type' | 'version'> & { version?: number }): Buffer {
  const caps = encodeCapabilities(open.capabilities);
  // one Capabilities parameter per ≤255 bytes of TLVs
  const params: Buffer[] = [];
  let group: Buffer[] = [];
  let groupLen = 0;
  for (const c of caps) {
    if (groupLen + c.length > 255 && group.length > 0) {
      params.push(Buffer.concat([Buffer.from([OPT_PARAM_CAPABILITIES, groupLen]), ...group]));
      group = [];
      groupLen = 0;
    }
    group.push(c);
    groupLen += c.length;
  }
  if (group.length > 0) params.push(Buffer.concat([Buffer.from([OPT_PARAM_CAPABILITIES, groupLen]), ...group]));
  const opt = Buffer.concat(params);
  if (opt.length > 255) throw new Error(`OPEN optional parameters too long (${opt.length} bytes): announce fewer capabilities`);
  const buf = allocMessage(MessageType.OPEN, 10 + opt.length);
  const b = BGP_HEADER_LEN;
  buf[b] = open.version ?? BGP_VERSION;
  buf.writeUInt16BE(open.myAs & 0xffff, b + 1);
  buf.writeUInt16BE(open.holdTime, b + 3);
  buf.writeUInt32BE(ipv4ToUint(open.bgpId), b + 5);
  buf[b + 9] = opt.length;
  opt.copy(buf, b + 10);
  return buf;
}

export function decodeNotification(frame: Buffer): NotificationMessage {
  const b = BGP_HEADER_LEN;
  return {
    type: MessageType.NOTIFICATION,
    code: frame[b]!,
    subcode: frame[b + 1]!,
    data: Buffer.from(frame.subarray(b + 2)),
  };
}

/** Encode a NOTIFICATION from its fields or from a BgpError. */
export function encodeNotification(n: { code: number; subcode: number; data?: Buffer }): Buffer {
  const data = n.data ?? Buffer.alloc(0);
  const len = Math.min(data.length, 4096 - 21);
  const buf = allocMessage(MessageType.NOTIFICATION, 2 + len);
  buf[BGP_HEADER_LEN] = n.code;
  buf[BGP_HEADER_LEN + 1] = n.subcode;
  data.copy(buf, BGP_HEADER_LEN + 2, 0, len);
  return buf;
}

export const KEEPALIVE: KeepaliveMessage = { type: MessageType.KEEPALIVE };
export const encodeKeepalive = (): Buffer => allocMessage(MessageType.KEEPALIVE, 0);

/**
 * ROUTE-REFRESH; undefined for an AFI/SAFI we do not route (RFC 2918 §4: ignore it).
 * A length other than 23 is a ROUTE-REFRESH Message Error / Invalid Message Length (RFC 7313 §5).
 */
export function decodeRouteRefresh(frame: Buffer): RouteRefreshMessage | undefined {
  if (frame.length !== BGP_HEADER_LEN + 4) {
    throw new BgpError(ErrorCode.ROUTE_REFRESH, 1, `ROUTE-REFRESH of invalid length ${frame.length}`, Buffer.from(frame));
  }
  const b = BGP_HEADER_LEN;
  const family = unicastFamily(frame.readUInt16BE(b), frame[b + 3]!);
  if (family === undefined) return undefined;
  return { type: MessageType.ROUTE_REFRESH, family, subtype: frame[b + 2]! };
}

export function encodeRouteRefresh(family: Family, subtype = 0): Buffer {
  const buf = allocMessage(MessageType.ROUTE_REFRESH, 4);
  buf.writeUInt16BE(afiOfFamily(family), BGP_HEADER_LEN);
  buf[BGP_HEADER_LEN + 2] = subtype;
  buf[BGP_HEADER_LEN + 3] = 1;
  return buf;
}
