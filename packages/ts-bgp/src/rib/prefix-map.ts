/**
 * Maps keyed by prefix. IPv4 keys (address * 64 + length) exceed V8's small-integer range, so a
 * plain Map would box every key in a heap number; Ipv4Map keeps one open-addressing IntTable per
 * prefix length keyed by the address as an int32 (keys in an Int32Array, values in a flat array:
 * no allocation per entry). IPv6 keys are strings and use a plain Map.
 */
import type { Family } from '../types.js';
import type { PrefixKey } from './path.js';
import { IntTable } from './int-table.js';

export interface PrefixMap<V> {
  readonly size: number;
  get(key: PrefixKey): V | undefined;
  has(key: PrefixKey): boolean;
  set(key: PrefixKey, value: V): unknown;
  delete(key: PrefixKey): boolean;
  /** set and return the previous value */
  swap(key: PrefixKey, value: V): V | undefined;
  /** the value, or (when absent) store `value` and return undefined */
  getOrSet(key: PrefixKey, value: V): V | undefined;
  clear(): void;
  forEach(cb: (value: V, key: PrefixKey) => void): void;
  keys(): IterableIterator<PrefixKey>;
  [Symbol.iterator](): IterableIterator<[PrefixKey, V]>;
}

export class Ipv4Map<V> implements PrefixMap<V> {
  private readonly byLen: Array<IntTable<V> | undefined> = new Array<IntTable<V> | undefined>(33).fill(undefined);
  private n = 0;

  get size(): number {
    return this.n;
  }

  get(key: PrefixKey): V | undefined {
    const len = (key as number) % 64;
    const m = this.byLen[len];
    return m === undefined ? undefined : m.get((((key as number) - len) / 64) | 0);
  }

  has(key: PrefixKey): boolean {
    const len = (key as number) % 64;
    const m = this.byLen[len];
    return m !== undefined && m.has((((key as number) - len) / 64) | 0);
  }

  set(key: PrefixKey, value: V): this {
    this.swap(key, value);
    return this;
  }

  swap(key: PrefixKey, value: V): V | undefined {
    const len = (key as number) % 64;
    let m = this.byLen[len];
    if (m === undefined) m = this.byLen[len] = new IntTable<V>(len > 0 ? 32 - len : 0);
    const old = m.swap((((key as number) - len) / 64) | 0, value);
    if (old === undefined) this.n++;
    return old;
  }

  getOrSet(key: PrefixKey, value: V): V | undefined {
    const len = (key as number) % 64;
    let m = this.byLen[len];
    if (m === undefined) m = this.byLen[len] = new IntTable<V>(len > 0 ? 32 - len : 0);
    const cur = m.getOrSet((((key as number) - len) / 64) | 0, value);
    if (cur === undefined) this.n++;
    return cur;
  }

  delete(key: PrefixKey): boolean {
    const len = (key as number) % 64;
    const m = this.byLen[len];
    if (m === undefined || !m.delete((((key as number) - len) / 64) | 0)) return false;
    this.n--;
    return true;
  }

  clear(): void {
    for (const m of this.byLen) m?.clear();
    this.n = 0;
  }

  forEach(cb: (value: V, key: PrefixKey) => void): void {
    for (let len = 0; len <= 32; len++) {
      const m = this.byLen[len];
      if (m !== undefined) m.forEach((v, a) => cb(v, (a >>> 0) * 64 + len));
    }
  }

  *keys(): IterableIterator<PrefixKey> {
    for (let len = 0; len <= 32; len++) {
      const m = this.byLen[len];
      if (m !== undefined) for (const a of m.keys()) yield (a >>> 0) * 64 + len;
    }
  }

  *[Symbol.iterator](): IterableIterator<[PrefixKey, V]> {
    for (let len = 0; len <= 32; len++) {
      const m = this.byLen[len];
      if (m !== undefined) for (const [a, v] of m) yield [(a >>> 0) * 64 + len, v];
    }
  }
}

/** A Map<string, V> with the two combined operations (IPv6). */
class StringPrefixMap<V> extends Map<PrefixKey, V> implements PrefixMap<V> {
  swap(key: PrefixKey, value: V): V | undefined {
    const old = this.get(key);
    this.set(key, value);
    return old;
  }
  getOrSet(key: PrefixKey, value: V): V | undefined {
    const cur = this.get(key);
    if (cur === undefined) this.set(key, value);
    return cur;
  }
}

export function prefixMap<V>(family: Family): PrefixMap<V> {
  return family === 'ipv4' ? new Ipv4Map<V>() : new StringPrefixMap<V>();
}
