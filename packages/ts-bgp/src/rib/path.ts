/**
 * The values the RIB is made of. One AttrSet per distinct attribute set (interned by its wire
 * bytes, so a million prefixes sharing a few hundred attribute sets cost a few hundred objects),
 * one Path per (source, AttrSet), and the tables map prefix keys straight to Paths: no object per
 * prefix. IPv4 keys are numbers (address * 64 + length), IPv6 keys strings.
 */
import type { Family, PathAttributes } from '../types.js';

export type PrefixKey = number | string;

/** An interned attribute set with the fields the decision process reads, precomputed. */
export class AttrSet {
  readonly localPref: number | undefined;
  readonly asPathLen: number;
  readonly neighborAs: number | undefined;
  readonly med: number;
  readonly originatorId: number | undefined;
  readonly clusterListLen: number;

  constructor(
    readonly id: number,
    readonly attrs: Readonly<PathAttributes>,
  ) {
    this.localPref = attrs.localPref;
    let len = 0;
    let first: number | undefined;
    for (const seg of attrs.asPath) {
      len += seg.type === 2 ? seg.asns.length : 1; // AS_SET counts as one (RFC 4271 §9.1.2.2)
      if (first === undefined && seg.type === 2 && seg.asns.length > 0) first = seg.asns[0];
    }
    this.asPathLen = len;
    this.neighborAs = first;
    this.med = attrs.med ?? 0;
    this.originatorId = attrs.originatorId === undefined ? undefined : ipv4ToNumber(attrs.originatorId);
    this.clusterListLen = attrs.clusterList?.length ?? 0;
  }
}

/** Where a route came from, with what the decision process and export rules need to know. */
export interface Source {
  /** stable small integer, 0 = locally originated */
  readonly id: number;
  /** peer address (text) or 'local' */
  readonly address: string;
  /** numeric form of the address for the last tie-breaker (IPv6: compared as text) */
  readonly addressOrder: number | string;
  readonly asn: number;
  readonly local: boolean;
  readonly ibgp: boolean;
  readonly routeReflectorClient: boolean;
  /** BGP identifier of the peer as a number (set when the session comes up) */
  routerId: number;
}

/** One route's provenance: a source and an attribute set. Shared by every prefix it carries. */
export class Path {
  stale = false;
  constructor(
    readonly source: Source,
    readonly attrs: AttrSet,
  ) {}
}

/** Interns attribute sets by a byte/text key chosen by the caller (the raw attribute bytes). */
export class AttrInterner {
  private readonly byKey = new Map<string, AttrSet>();
  private seq = 0;

  intern(key: string, decode: () => PathAttributes): AttrSet {
    let set = this.byKey.get(key);
    if (!set) {
      set = new AttrSet(++this.seq, decode());
      this.byKey.set(key, set);
    }
    return set;
  }

  /** an AttrSet that is not shared (locally originated routes, policy output) */
  make(attrs: PathAttributes): AttrSet {
    return new AttrSet(++this.seq, attrs);
  }

  /**
   * Distinct attribute sets seen. They are kept for the life of the speaker (a known limit: a
   * peer that keeps inventing new attribute sets grows this; prefixes themselves are not kept).
   */
  get size(): number {
    return this.byKey.size;
  }
}

export function ipv4ToNumber(addr: string): number {
  const p = addr.split('.');
  return ((+p[0]! << 24) >>> 0) + (+p[1]! << 16) + (+p[2]! << 8) + +p[3]!;
}

export function numberToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export type { Family };
