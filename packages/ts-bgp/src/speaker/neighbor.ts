/**
 * A configured neighbour as the speaker sees it: its session (Peer), its Adj-RIB-In (SourceRib),
 * its Adj-RIB-Out, and graceful-restart bookkeeping.
 */
import { isIPv4 } from 'node:net';
import { keyToPrefix, prefixKey } from '../codec/prefix.js';
import type { LocalIdentity } from '../rib/export.js';
import { ipv4ToNumber, type AttrSet, type Path, type Source } from '../rib/path.js';
import type { SourceRib } from '../rib/rib.js';
import type { Peer } from '../session/peer.js';
import type { Family } from '../types.js';
import { AdjRibOut, type AdvertisedCount } from './adj-out.js';
import { formatKey, type IngestTarget } from './ingest.js';
import type { PeerOptions, RoutePolicy } from './types.js';

/** Canonical text of an address ("2001:DB8:0::1" → "2001:db8::1"); throws a one-line Error if invalid. */
export function canonicalAddress(address: string): string {
  if (isIPv4(address)) return address;
  if (!address.includes(':')) throw new Error(`invalid peer address "${address}": expected an IPv4 or IPv6 address`);
  return keyToPrefix(prefixKey({ family: 'ipv6', addr: address, len: 128 })).addr;
}

export class Neighbor implements IngestTarget {
  readonly address: string;
  readonly source: Source;
  readonly out: AdjRibOut;
  readonly accepted = new Map<AttrSet, Path | null>();
  readonly families: Family[];
  readonly importPolicy: RoutePolicy | undefined;
  peer!: Peer;
  /** graceful restart: sweeps stale routes when the peer does not come back (or send End-of-RIB) in time */
  staleTimer: unknown;
  /** our restart is announced to this peer (R bit) until its first session after the restart */
  restartPending: boolean;

  constructor(
    readonly options: PeerOptions,
    readonly src: SourceRib,
    local: LocalIdentity,
    defaultFamilies: Family[],
    restarting: boolean,
    advertised?: AdvertisedCount,
  ) {
    this.address = canonicalAddress(options.address);
    this.families = options.families ?? defaultFamilies;
    this.importPolicy = options.importPolicy;
    this.restartPending = restarting;
    this.source = src.source;
    this.out = new AdjRibOut(
      { source: this.source, nextHopSelf: options.nextHopSelf ?? false, selfNextHop: {} },
      local,
      this.address,
      options.exportPolicy,
      formatKey,
      advertised,
    );
  }

  /** The Source record of a neighbour (what the decision process and export rules read). */
  static sourceFor(options: PeerOptions, id: number, localAsn: number): Source {
    const address = canonicalAddress(options.address);
    return {
      id,
      address,
      addressOrder: isIPv4(address) ? ipv4ToNumber(address) : address,
      asn: options.asn,
      local: false,
      ibgp: options.asn === localAsn,
      routeReflectorClient: options.routeReflectorClient ?? false,
      routerId: 0,
    };
  }

  /** Families both sides agreed on for the current session. */
  get sessionFamilies(): Family[] {
    return this.peer.negotiated?.families ?? [];
  }

  /** Our next hop per family on this session: configured, else our address on the connection. */
  setSelfNextHop(localAddress: string | undefined): void {
    const self = this.out.target.selfNextHop;
    self.ipv4 = this.options.nextHop?.ipv4 ?? (localAddress && isIPv4(localAddress) ? localAddress : undefined);
    self.ipv6 = this.options.nextHop?.ipv6 ?? (localAddress && !isIPv4(localAddress) ? localAddress : undefined);
  }
}
