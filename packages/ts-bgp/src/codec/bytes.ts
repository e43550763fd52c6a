/**
 * Byte-level helpers shared by the encoders and decoders: one growable Writer (the mirror of
 * reading with plain index arithmetic) and IPv4/IPv6 text ⇄ binary conversions.
 */

/** Append-only writer over one growable buffer; length fields are back-patched. */
export class Writer {
  private buf: Buffer;
  private pos = 0;
  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }
  get length(): number {
    return this.pos;
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  /** Reserve `size` bytes (1, 2 or 4) for a length written later with patch(). */
  reserve(size: number): number {
    this.ensure(size);
    const at = this.pos;
    this.pos += size;
    return at;
  }
  patchU8(at: number, v: number): void {
    this.buf[at] = v & 0xff;
  }
  patchU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v & 0xffff, at);
  }
  /** A copy of the written bytes. */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Dotted quad → uint32; throws on anything else (callers validate user input with it). */
export function ipv4ToUint(text: string): number {
  const m = IPV4_RE.exec(text);
  if (!m) throw new Error(`invalid IPv4 address "${text}": expected a.b.c.d`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) throw new Error(`invalid IPv4 address "${text}": octet ${o} > 255`);
    v = v * 256 + o;
  }
  return v;
}

export const uintToIpv4 = (v: number): string =>
  `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;

export const readIpv4 = (buf: Uint8Array, at: number): string =>
  `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;

/** IPv6 text (RFC 4291 forms incl. "::" and a trailing dotted quad) → 16 bytes; throws if invalid. */
export function ipv6ToBytes(text: string): Buffer {
  const bad = (): Error => new Error(`invalid IPv6 address "${text}"`);
  let s = text;
  const out = Buffer.alloc(16);
  const tail: number[] = [];
  const dot = s.lastIndexOf('.');
  if (dot >= 0) {
    const colon = s.lastIndexOf(':');
    if (colon < 0) throw bad();
    const v4 = ipv4ToUint(s.slice(colon + 1));
    s = `${s.slice(0, colon + 1)}${((v4 >>> 16) & 0xffff).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) throw bad();
  const parse = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').map((g) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
          return parseInt(g, 16);
        });
  const head = parse(halves[0]!);
  if (halves.length === 2) tail.push(...parse(halves[1]!));
  const groups = halves.length === 2 ? head.length + tail.length : head.length;
  if (halves.length === 2 ? groups > 7 : groups !== 8) throw bad();
  head.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  tail.forEach((g, i) => out.writeUInt16BE(g, 16 - (tail.length - i) * 2));
  return out;
}

/** 16 bytes at `at` → canonical RFC 5952 text (lower case, longest zero run compressed). */
export function readIpv6(buf: Uint8Array, at: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((buf[at + 2 * i]! << 8) | buf[at + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}
