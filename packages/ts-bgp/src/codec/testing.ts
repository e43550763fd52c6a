/**
 * A tiny buffer builder for the codec tests, so each case reads like the RFC figure:
 *   msg(UPDATE, u16(0), u16(attrs.length), attrs, nlri)
 * Not part of the public surface.
 */
import { ipv4ToUint, ipv6ToBytes } from './bytes.js';

export type Bytes = number | number[] | Uint8Array;

export const bytes = (...parts: Bytes[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : Buffer.from(p as number[]))));

export const u16 = (v: number): number[] => [(v >> 8) & 255, v & 255];
export const u32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
export const ip4 = (a: string): number[] => u32(ipv4ToUint(a));
export const ip6 = (a: string): number[] => [...ipv6ToBytes(a)];

export const MARKER = new Array<number>(16).fill(0xff);

/** A whole message: marker, length, type, body. */
export function msg(type: number, ...body: Bytes[]): Buffer {
  const b = bytes(...body);
  return bytes(MARKER, u16(19 + b.length), type, b);
}

/** A path attribute: flags, type, length (2 bytes when flags has Extended Length), value. */
export function attr(flags: number, type: number, ...value: Bytes[]): Buffer {
  const v = bytes(...value);
  return bytes(flags, type, flags & 0x10 ? u16(v.length) : [v.length], v);
}

/** UPDATE: withdrawn routes length, withdrawn, total path attribute length, attributes, NLRI. */
export function update(withdrawn: Bytes[] = [], attrs: Bytes[] = [], nlri: Bytes[] = []): Buffer {
  const w = bytes(...withdrawn);
  const a = bytes(...attrs);
  return msg(2, u16(w.length), w, u16(a.length), a, ...nlri);
}

/** One NLRI prefix as on the wire: length byte + significant octets. */
export function pfx(addr: number[], len: number): number[] {
  return [len, ...addr.slice(0, (len + 7) >> 3)];
}

/** OPEN: version, My AS, hold time, BGP identifier, optional parameters. */
export function open(o: { version?: number; as: number; hold: number; id: string; params?: Bytes[] }): Buffer {
  const p = bytes(...(o.params ?? []));
  return msg(1, o.version ?? 4, u16(o.as), u16(o.hold), ip4(o.id), p.length, p);
}

/** Capabilities optional parameter (type 2) holding the given capability TLVs. */
export function capParam(...caps: Bytes[]): Buffer {
  const c = bytes(...caps);
  return bytes(2, c.length, c);
}

export const cap = (code: number, ...value: Bytes[]): Buffer => {
  const v = bytes(...value);
  return bytes(code, v.length, v);
};
