/**
 * Adj-RIB-In per source and the Loc-RIB, with incremental best-path selection. Every change to
 * an Adj-RIB-In re-decides only its prefix; prefixes whose best path changed are collected and
 * handed out in one batch by `takeChanges()` (the caller flushes per UPDATE). Pure: no sockets,
 * no timers, no events.
 */
import type { Family } from '../types.js';
import { comparePaths } from './decision.js';
import { Path, type AttrSet, type PrefixKey, type Source } from './path.js';
import { prefixMap, type PrefixMap } from './prefix-map.js';

export const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];

export type FamilyMap<T> = Record<Family, T>;
const perFamily = <T>(make: (f: Family) => T): FamilyMap<T> => ({ ipv4: make('ipv4'), ipv6: make('ipv6') });

/** One source's routes (an Adj-RIB-In per family) and its interned paths. */
export class SourceRib {
  readonly adjIn: FamilyMap<PrefixMap<Path>> = perFamily((f) => prefixMap<Path>(f));
  private paths = new Map<AttrSet, Path>();

  constructor(readonly source: Source) {}

  /** the Path of this source for `attrs` (one object per attribute set, not per prefix) */
  path(attrs: AttrSet): Path {
    let p = this.paths.get(attrs);
    if (!p) {
      p = new Path(this.source, attrs);
      this.paths.set(attrs, p);
    }
    return p;
  }

  /** prefixes held for `family` (or all families) */
  count(family?: Family): number {
    return family ? this.adjIn[family].size : this.adjIn.ipv4.size + this.adjIn.ipv6.size;
  }

  /** routes per family still marked stale (kept up to date by the Rib) */
  readonly stale: FamilyMap<number> = perFamily(() => 0);

  /** Graceful restart: every current path becomes stale; the next session makes fresh ones. */
  markStale(): void {
    for (const p of this.paths.values()) p.stale = true;
    this.paths = new Map();
    for (const f of FAMILIES) this.stale[f] = this.adjIn[f].size;
  }

  staleCount(family: Family): number {
    return this.stale[family];
  }
}

export interface BestChanges {
  keys: PrefixKey[];
  paths: Array<Path | null>;
}

export class Rib {
  /** Loc-RIB: the best path per prefix */
  readonly best: FamilyMap<PrefixMap<Path>> = perFamily((f) => prefixMap<Path>(f));
  private readonly sources: SourceRib[] = [];
  /** prefixes whose best path changed since the last takeChanges (a prefix may repeat) */
  private changed: FamilyMap<PrefixKey[]> = perFamily(() => []);
  /** the path each change installed, while `firstOnly` holds */
  private changedPaths: FamilyMap<Path[]> = perFamily(() => []);
  /**
   * Every change of the batch so far was a prefix's first route: then no prefix repeats and the
   * recorded paths are current, so takeChanges needs no lookups (the bulk-load fast path).
   */
  private firstOnly: FamilyMap<boolean> = perFamily(() => true);

  addSource(source: Source): SourceRib {
    const s = new SourceRib(source);
    this.sources.push(s);
    return s;
  }

  /** Withdraw everything the source holds and forget it. */
  removeSource(s: SourceRib): void {
    for (const f of FAMILIES) this.clear(s, f);
    const i = this.sources.indexOf(s);
    if (i >= 0) this.sources.splice(i, 1);
  }

  /** Install or replace the route of `s` for `key`. */
  update(s: SourceRib, family: Family, key: PrefixKey, path: Path): void {
    const old = s.adjIn[family].swap(key, path);
    if (old === path) return;
    if (old !== undefined && old.stale) s.stale[family]--;
    const cur = this.best[family].getOrSet(key, path);
    if (cur === undefined) {
      this.changed[family].push(key); // first route for the prefix
      if (this.firstOnly[family]) this.changedPaths[family].push(path);
    } else if (cur === old) {
      // our own best was replaced: it may have got worse, so decide again
      this.redecide(family, key, cur);
    } else if (comparePaths(path, cur) < 0) {
      this.best[family].set(key, path);
      this.changed[family].push(key);
      this.firstOnly[family] = false;
    }
  }

  /** Remove the route of `s` for `key`; returns whether it had one. */
  withdraw(s: SourceRib, family: Family, key: PrefixKey): boolean {
    const table = s.adjIn[family];
    const old = table.get(key);
    if (old === undefined) return false;
    table.delete(key);
    if (old.stale) s.stale[family]--;
    if (this.best[family].get(key) === old) this.redecide(family, key, old);
    return true;
  }

  /** Remove every route of `s` in `family` (session down without graceful restart). */
  clear(s: SourceRib, family: Family): number {
    const table = s.adjIn[family];
    const n = table.size;
    const best = this.best[family];
    const keys: PrefixKey[] = [];
    table.forEach((_, key) => keys.push(key));
    table.clear();
    s.stale[family] = 0;
    for (const key of keys) {
      const cur = best.get(key);
      if (cur !== undefined && cur.source === s.source) this.redecide(family, key, cur);
    }
    return n;
  }

  /** Graceful restart: drop the routes of `s` still marked stale; returns how many. */
  sweepStale(s: SourceRib, family: Family): number {
    if (s.stale[family] === 0) return 0;
    const stale: PrefixKey[] = [];
    s.adjIn[family].forEach((p, key) => {
      if (p.stale) stale.push(key);
    });
    for (const key of stale) this.withdraw(s, family, key);
    return stale.length;
  }

  /**
   * The best-path changes since the last call: prefix keys whose Loc-RIB entry changed and, at
   * the same index, the current best path (null: no route left). A prefix that changed twice in
   * the batch appears twice with the same (current) path, so applying the list is idempotent.
   */
  takeChanges(family: Family): BestChanges {
    const keys = this.changed[family];
    if (keys.length === 0) return { keys, paths: [] };
    this.changed[family] = [];
    const recorded = this.changedPaths[family];
    this.changedPaths[family] = [];
    const exact = this.firstOnly[family];
    this.firstOnly[family] = true;
    if (exact) return { keys, paths: recorded };
    const best = this.best[family];
    const paths = new Array<Path | null>(keys.length);
    for (let i = 0; i < keys.length; i++) paths[i] = best.get(keys[i]!) ?? null;
    return { keys, paths };
  }

  hasChanges(): boolean {
    return this.changed.ipv4.length > 0 || this.changed.ipv6.length > 0;
  }

  /** Every candidate path for `key`, best first (for `show route` style views and tests). */
  candidates(family: Family, key: PrefixKey): Path[] {
    const out: Path[] = [];
    for (const s of this.sources) {
      const p = s.adjIn[family].get(key);
      if (p) out.push(p);
    }
    return out.sort(comparePaths);
  }

  private redecide(family: Family, key: PrefixKey, previous: Path): void {
    let winner: Path | undefined;
    for (const s of this.sources) {
      const p = s.adjIn[family].get(key);
      if (p !== undefined && (winner === undefined || comparePaths(p, winner) < 0)) winner = p;
    }
    const best = this.best[family];
    if (winner === undefined) best.delete(key);
    else best.set(key, winner);
    if (winner !== previous) {
      this.changed[family].push(key);
      this.firstOnly[family] = false;
    }
  }
}
