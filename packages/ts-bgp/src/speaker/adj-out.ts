/**
 * Adj-RIB-Out of one peer: what we advertised to it, per prefix, and the diff against the Loc-RIB
 * that becomes the next UPDATEs. Outgoing attributes are computed once per (best Path) and
 * shared, so a million prefixes with a few hundred attribute sets stay a few hundred objects.
 */
import type { Family, PathAttributes } from '../types.js';
import { exportAttributes, mayAdvertise, type ExportTarget, type LocalIdentity } from '../rib/export.js';
import type { Path, PrefixKey } from '../rib/path.js';
import type { FamilyMap } from '../rib/rib.js';
import { prefixMap, type PrefixMap } from '../rib/prefix-map.js';
import type { RoutePolicy } from './types.js';

/** One outgoing attribute set; `wire` caches its encoding for the session. */
export interface OutRoute {
  attrs: PathAttributes;
  wire?: Buffer;
}

export interface OutBatch {
  announce: Map<OutRoute, PrefixKey[]>;
  withdraw: PrefixKey[];
}

/**
 * How many peers' Adj-RIBs-Out hold each prefix, shared by all of a speaker's peers: a best-path
 * change that no peer may receive (an iBGP route in a mesh) and that no peer holds needs no visit
 * of every peer.
 */
export class AdvertisedCount {
  private readonly counts: FamilyMap<PrefixMap<number>> = { ipv4: prefixMap('ipv4'), ipv6: prefixMap('ipv6') };

  add(family: Family, key: PrefixKey, delta: number): void {
    const map = this.counts[family];
    const n = (map.get(key) ?? 0) + delta;
    if (n > 0) map.set(key, n);
    else map.delete(key);
  }

  has(family: Family, key: PrefixKey): boolean {
    return this.counts[family].has(key);
  }
}

export class AdjRibOut {
  readonly routes: FamilyMap<PrefixMap<OutRoute>> = { ipv4: prefixMap('ipv4'), ipv6: prefixMap('ipv6') };
  private byPath: FamilyMap<Map<Path, OutRoute | null>> = { ipv4: new Map(), ipv6: new Map() };
  private byAttrs = new Map<string, OutRoute>();

  constructor(
    readonly target: ExportTarget,
    private readonly local: LocalIdentity,
    private readonly peerAddress: string,
    private readonly policy: RoutePolicy | undefined,
    private readonly formatKey: (key: PrefixKey) => string,
    private readonly counts?: AdvertisedCount,
  ) {}

  /** Session went down (or the peer is removed): nothing is advertised any more. */
  reset(): void {
    const counts = this.counts;
    if (counts) {
      this.routes.ipv4.forEach((_, key) => counts.add('ipv4', key, -1));
      this.routes.ipv6.forEach((_, key) => counts.add('ipv6', key, -1));
    }
    this.routes.ipv4.clear();
    this.routes.ipv6.clear();
    this.byPath = { ipv4: new Map(), ipv6: new Map() };
    this.byAttrs = new Map();
  }

  count(family: Family): number {
    return this.routes[family].size;
  }

  /** What to send so the peer's view matches the new best paths (`paths[i]` for `keys[i]`, null: gone). */
  diff(family: Family, keys: readonly PrefixKey[], paths: ReadonlyArray<Path | null>): OutBatch {
    const batch: OutBatch = { announce: new Map(), withdraw: [] };
    for (let i = 0; i < keys.length; i++) this.consider(family, keys[i]!, paths[i]!, batch);
    return batch;
  }

  /** What to send to bring a fresh session up to the whole Loc-RIB. */
  full(family: Family, best: PrefixMap<Path>): OutBatch {
    const batch: OutBatch = { announce: new Map(), withdraw: [] };
    best.forEach((path, key) => this.consider(family, key, path, batch));
    return batch;
  }

  private consider(family: Family, key: PrefixKey, path: Path | null, batch: OutBatch): void {
    const out = this.routes[family];
    const route = path === null ? null : this.routeFor(family, key, path);
    if (route === null) {
      if (out.size > 0 && out.delete(key)) {
        batch.withdraw.push(key);
        this.counts?.add(family, key, -1);
      }
      return;
    }
    if (out.get(key) === route) return;
    if (out.swap(key, route) === undefined) this.counts?.add(family, key, 1);
    const list = batch.announce.get(route);
    if (list) list.push(key);
    else batch.announce.set(route, [key]);
  }

  /** Everything currently advertised, grouped by attribute set (route refresh, RFC 2918). */
  current(family: Family): OutBatch {
    const batch: OutBatch = { announce: new Map(), withdraw: [] };
    this.routes[family].forEach((route, key) => {
      const list = batch.announce.get(route);
      if (list) list.push(key);
      else batch.announce.set(route, [key]);
    });
    return batch;
  }

  private routeFor(family: Family, key: PrefixKey, path: Path): OutRoute | null {
    const cache = this.byPath[family];
    let route = cache.get(path);
    if (route === undefined) {
      const attrs = mayAdvertise(path, this.target.source)
        ? exportAttributes(path, this.target, this.local, family)
        : undefined;
      // identical outgoing attributes share one OutRoute, so a path replaced by an equal one
      // (e.g. refreshed after a peer's graceful restart) is not sent again
      route = attrs ? this.shared(family, attrs) : null;
      cache.set(path, route);
    }
    if (route === null || !this.policy) return route;
    const result = this.policy({ prefix: this.formatKey(key), family, peer: this.peerAddress, attrs: route.attrs });
    if (!result) return null;
    if (result === route.attrs) return route;
    return this.shared(family, result);
  }

  private shared(family: Family, attrs: PathAttributes): OutRoute {
    const id = `${family}|${JSON.stringify(attrs)}`;
    let route = this.byAttrs.get(id);
    if (!route) {
      route = { attrs };
      this.byAttrs.set(id, route);
    }
    return route;
  }
}
