/**
 * A hash map from int32 to object values, built for a million prefixes: open addressing with
 * linear probing and backward-shift deletion over ONE Int32Array of [key, ref] pairs (one cache
 * line per probe, nothing for the GC to scan). `ref` indexes a small registry of the distinct
 * values (a few hundred Paths), so storing a value is an integer write; 0 marks a free slot.
 * The registry drops values no slot refers to any more when it has doubled since the last sweep.
 */
const MIN_CAPACITY = 32;
/** keys are placed in blocks of 16 slots: neighbouring keys land side by side (one cache miss for many) */
const BLOCK_BITS = 4;

/**
 * Home slot of a key: `n = key >>> lowShift` (for prefixes of length L, lowShift = 32 - L turns the
 * address into the prefix's index), its block `n >> 4` hashed with a per-table seed (multiply,
 * xor-shift, multiply, top bits), its place in the block `n & 15`. Hashing the block keeps runs of
 * neighbouring prefixes (the common case in a table dump) in one or two cache lines; the seed per
 * table keeps keys inserted in another table's slot order from piling into one long probe run.
 */
const slot = (key: number, lowShift: number, seed: number, shift: number): number => {
  const n = key >>> lowShift;
  let h = Math.imul((n >>> BLOCK_BITS) ^ seed, 0x9e3779b1);
  h ^= h >>> 15;
  return ((Math.imul(h, 0x85ebca6b) >>> shift) << BLOCK_BITS) | (n & ((1 << BLOCK_BITS) - 1));
};
const shiftFor = (capacity: number): number => 32 - Math.log2(capacity) + BLOCK_BITS;

export class IntTable<V> {
  /** [key, ref] per slot; ref 0 = free */
  private slots = new Int32Array(MIN_CAPACITY * 2);
  private capacity = MIN_CAPACITY;
  private shift = shiftFor(MIN_CAPACITY);
  private readonly seed = (Math.random() * 0x100000000) | 0;
  private values: Array<V | undefined> = [undefined];
  private refs = new Map<V, number>();
  private lastValue: V | undefined;
  private lastRef = 0;
  private sweepAt = 1024;
  size = 0;

  /**
   * `lowShift`: bits of the key below its significant part (32 - prefix length). The low bits of
   * `key >>> lowShift` must vary between keys, or every key takes the first slot of its block.
   */
  constructor(private readonly lowShift = 0) {}

  private refOf(value: V): number {
    if (value === this.lastValue) return this.lastRef;
    let ref = this.refs.get(value);
    if (ref === undefined) {
      if (this.values.length >= this.sweepAt) this.sweepRegistry();
      ref = this.values.length;
      this.values.push(value);
      this.refs.set(value, ref);
    }
    this.lastValue = value;
    this.lastRef = ref;
    return ref;
  }

  /** Index of `key`'s pair in `slots`, or of the free slot where it would go (negative: -(i+1)). */
  private find(key: number): number {
    const s = this.slots;
    const mask = this.capacity * 2 - 1;
    for (let i = slot(key, this.lowShift, this.seed, this.shift) * 2; ; i = (i + 2) & mask) {
      if (s[i + 1] === 0) return -(i + 1);
      if (s[i] === key) return i;
    }
  }

  get(key: number): V | undefined {
    const s = this.slots;
    const mask = this.capacity * 2 - 1;
    for (let i = slot(key, this.lowShift, this.seed, this.shift) * 2; ; i = (i + 2) & mask) {
      const ref = s[i + 1]!;
      if (ref === 0) return undefined;
      if (s[i] === key) return this.values[ref];
    }
  }

  has(key: number): boolean {
    return this.find(key) >= 0;
  }

  set(key: number, value: V): this {
    this.swap(key, value);
    return this;
  }

  /** Set `key` to `value`; returns the previous value (one probe instead of get + set). */
  swap(key: number, value: V): V | undefined {
    const ref = this.refOf(value);
    const i = this.find(key);
    if (i >= 0) {
      const old = this.values[this.slots[i + 1]!];
      this.slots[i + 1] = ref;
      return old;
    }
    this.insertAt(-i - 1, key, ref);
    return undefined;
  }

  /** The value of `key`; when there is none, store `value` and return undefined. */
  getOrSet(key: number, value: V): V | undefined {
    const i = this.find(key);
    if (i >= 0) return this.values[this.slots[i + 1]!];
    const ref = this.refOf(value);
    // refOf may have swept the registry, which never moves slots: the free slot is still free
    this.insertAt(-i - 1, key, ref);
    return undefined;
  }

  private insertAt(i: number, key: number, ref: number): void {
    this.slots[i] = key;
    this.slots[i + 1] = ref;
    if (++this.size * 2 > this.capacity) this.resize(this.capacity * 2);
  }

  delete(key: number): boolean {
    let i = this.find(key);
    if (i < 0) return false;
    const s = this.slots;
    const mask = this.capacity * 2 - 1;
    // backward shift: move later members of the probe run into the hole
    for (let j = (i + 2) & mask; s[j + 1] !== 0; j = (j + 2) & mask) {
      const home = slot(s[j]!, this.lowShift, this.seed, this.shift) * 2;
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (between) continue;
      s[i] = s[j]!;
      s[i + 1] = s[j + 1]!;
      i = j;
    }
    s[i + 1] = 0;
    this.size--;
    return true;
  }

  /** Empty the table; small tables keep their capacity (they are reused per batch). */
  clear(): void {
    if (this.capacity > 4096) {
      this.slots = new Int32Array(MIN_CAPACITY * 2);
      this.capacity = MIN_CAPACITY;
      this.shift = shiftFor(MIN_CAPACITY);
    } else if (this.size > 0) {
      this.slots.fill(0);
    }
    this.values = [undefined];
    this.refs = new Map();
    this.lastValue = undefined;
    this.lastRef = 0;
    this.size = 0;
  }

  forEach(cb: (value: V, key: number) => void): void {
    const s = this.slots;
    const values = this.values;
    for (let i = 0; i < s.length; i += 2) {
      const ref = s[i + 1]!;
      if (ref !== 0) cb(values[ref]!, s[i]!);
    }
  }

  *keys(): IterableIterator<number> {
    for (let i = 0; i < this.slots.length; i += 2) if (this.slots[i + 1] !== 0) yield this.slots[i]!;
  }

  *[Symbol.iterator](): IterableIterator<[number, V]> {
    for (let i = 0; i < this.slots.length; i += 2) {
      const ref = this.slots[i + 1]!;
      if (ref !== 0) yield [this.slots[i]!, this.values[ref]!];
    }
  }

  private resize(capacity: number): void {
    const old = this.slots;
    this.slots = new Int32Array(capacity * 2);
    this.capacity = capacity;
    this.shift = shiftFor(capacity);
    const s = this.slots;
    const mask = capacity * 2 - 1;
    for (let j = 0; j < old.length; j += 2) {
      const ref = old[j + 1]!;
      if (ref === 0) continue;
      const key = old[j]!;
      let i = slot(key, this.lowShift, this.seed, this.shift) * 2;
      while (s[i + 1] !== 0) i = (i + 2) & mask;
      s[i] = key;
      s[i + 1] = ref;
    }
  }

  /** Forget registry values no slot refers to (they would otherwise be kept alive forever). */
  private sweepRegistry(): void {
    const live = new Int32Array(this.values.length);
    const s = this.slots;
    for (let i = 1; i < s.length; i += 2) live[s[i]!] = 1;
    const values: Array<V | undefined> = [undefined];
    const refs = new Map<V, number>();
    for (let r = 1; r < live.length; r++) {
      if (live[r] === 0) continue;
      live[r] = values.length;
      refs.set(this.values[r]!, values.length);
      values.push(this.values[r]);
    }
    for (let i = 1; i < s.length; i += 2) if (s[i] !== 0) s[i] = live[s[i]!]!;
    this.values = values;
    this.refs = refs;
    this.lastValue = undefined;
    this.lastRef = 0;
    this.sweepAt = Math.max(1024, values.length * 2);
  }
}
