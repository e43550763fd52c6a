import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IntTable } from './int-table.js';
import { Ipv4Map } from './prefix-map.js';

/** A small deterministic PRNG so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('IntTable', () => {
  for (const lowShift of [8, 0]) test(`matches a Map under random set/swap/getOrSet/delete, through growth and registry sweeps (lowShift ${lowShift})`, () => {
    const r = rng(7 + lowShift);
    const values = Array.from({ length: 3000 }, (_, i) => ({ i }));
    const t = new IntTable<{ i: number }>(lowShift);
    const m = new Map<number, { i: number }>();
    for (let step = 0; step < 60_000; step++) {
      // keys with zero low bits and negative ones, like masked addresses
      const key = ((Math.floor(r() * 5000) << 8) ^ (r() < 0.5 ? 0x80000000 : 0)) | 0;
      const v = values[Math.floor(r() * (step < 30_000 ? 50 : values.length))]!;
      const op = r();
      if (op < 0.35) {
        assert.equal(t.swap(key, v), m.get(key));
        m.set(key, v);
      } else if (op < 0.5) {
        const cur = m.get(key);
        assert.equal(t.getOrSet(key, v), cur);
        if (cur === undefined) m.set(key, v);
      } else if (op < 0.8) assert.equal(t.delete(key), m.delete(key));
      else assert.equal(t.get(key), m.get(key));
      assert.equal(t.size, m.size);
    }
    const seen = new Map<number, { i: number }>();
    t.forEach((v, k) => seen.set(k, v));
    assert.deepEqual(seen, m);
    assert.deepEqual(new Map(t), m);
    t.clear();
    assert.equal(t.size, 0);
    assert.equal(t.get([...m.keys()][0]!), undefined);
  });

  test('Ipv4Map keeps prefixes of different lengths apart and gives keys back', () => {
    const m = new Ipv4Map<string>();
    const k8 = 0x0a000000 * 64 + 8;
    const k24 = 0x0a000000 * 64 + 24;
    const top = 0xff000000 * 64 + 8; // an address above 2^31
    m.set(k8, 'a').set(k24, 'b').set(top, 'c');
    assert.equal(m.size, 3);
    assert.deepEqual([m.get(k8), m.get(k24), m.get(top)], ['a', 'b', 'c']);
    assert.deepEqual([...m.keys()].sort((x, y) => (x as number) - (y as number)), [k8, k24, top]);
    assert.equal(m.swap(k8, 'z'), 'a');
    assert.equal(m.getOrSet(k8, 'q'), 'z');
    assert.equal(m.delete(k24), true);
    assert.equal(m.delete(k24), false);
    assert.equal(m.size, 2);
  });
});
