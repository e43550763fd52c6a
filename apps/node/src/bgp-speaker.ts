/**
 * RouteSpeaker over @bgp/ts-bgp's BgpSpeaker: graceful restart toward every peer, import policy
 * from the controller, a max-prefix limit, and a best-route table kept from the batched
 * bestPathChanges events (routes learned from peers only).
 */
import { BgpSpeaker, type BestPathChange, type PeerStats } from '@bgp/ts-bgp';
import type { Logger } from './log.js';
import type { Announcement, DesiredPeer, Family, LearnedRoute } from './model.js';
import type { RouteSpeaker, SpeakerEvents, SpeakerIdentity } from './ports.js';
import type { PeerRuntime } from './status.js';

export interface SpeakerConfig {
  asn: number;
  routerId: string;
  /** this node's IPv4 address: where BGP listens, source of IPv4 sessions */
  listenAddress: string;
  /** this node's IPv6 address: source of IPv6 sessions; BGP then listens on both (`::`) */
  listenAddress6?: string;
  port: number;
  log: Logger;
  /** how long peers keep our routes while we restart (s) */
  restartTimeSec?: number;
  /** more prefixes than this from one peer ends the session (Cease) */
  maxPrefixes?: number;
  /** route reflector cluster id (mesh off, this node reflects) */
  clusterId?: string;
}

export const DEFAULT_MAX_PREFIXES = 100_000;

/**
 * One listener serves both families: with an IPv6 address the speaker listens dual-stack on `::`
 * (IPv4 peers arrive as mapped addresses), since IPv6 peers must reach us on that address; the
 * speaker refuses connections from addresses that are not configured peers either way.
 */
export const listenHost = (cfg: Pick<SpeakerConfig, 'listenAddress' | 'listenAddress6'>): string =>
  cfg.listenAddress6 ? '::' : cfg.listenAddress;

/** Source address of a session: the node's address of the peer's family. */
export const sessionSource = (cfg: Pick<SpeakerConfig, 'listenAddress' | 'listenAddress6'>, family: Family): string | undefined =>
  family === 'ipv4' ? cfg.listenAddress : cfg.listenAddress6;
const STOP_BOUND_MS = 1500;
/** Cease subcode 6, Other Configuration Change (RFC 4486) */
const CEASE_OTHER_CONFIG_CHANGE = 6;

export class BgpSpeakerAdapter implements RouteSpeaker {
  private speaker: BgpSpeaker;
  private events: SpeakerEvents | undefined;
  private readonly best = new Map<string, LearnedRoute>();
  private readonly eor = new Set<string>();
  private readonly ports = new Map<string, number>();

  constructor(private cfg: SpeakerConfig) {
    this.speaker = this.create();
  }

  private create(): BgpSpeaker {
    const cfg = this.cfg;
    return new BgpSpeaker({
      asn: cfg.asn,
      routerId: cfg.routerId,
      listen: { host: listenHost(cfg), port: cfg.port },
      // RFC 4271's suggested 90 s (keepalives every 30 s): a mesh of n nodes sends n(n-1)
      // keepalives per interval, at 50 nodes 245 a second with 30 s, a steady share of a small
      // host's CPU. A dead agent's sessions close at once (its kernel resets them); the hold time
      // only bounds a host that vanished, whose workloads are unreachable either way.
      holdTimeSec: 90,
      connectRetrySec: 1,
      ...(cfg.clusterId ? { clusterId: cfg.clusterId } : {}),
      // R bit: after a restart peers must not wait for our End-of-RIB; F bit: kernel routes kept
      gracefulRestart: { restartTimeSec: cfg.restartTimeSec ?? 120, restarting: true, forwardingPreserved: true },
    });
  }

  async start(events: SpeakerEvents): Promise<void> {
    this.events = events;
    this.attach(this.speaker, events);
    await this.speaker.start();
  }

  private attach(speaker: BgpSpeaker, events: SpeakerEvents): void {
    speaker.on('bestPathChanges', (changes: BestPathChange[]) => {
      let changed = false;
      for (const c of changes) {
        const b = c.best;
        if (b && b.peer !== undefined && b.nextHop) {
          const prev = this.best.get(c.prefix);
          if (prev?.nextHop !== b.nextHop) changed = true;
          this.best.set(c.prefix, { prefix: c.prefix, nextHop: b.nextHop });
        } else if (this.best.delete(c.prefix)) changed = true;
      }
      if (changed) {
        this.cfg.log.debug({ changes: changes.length }, 'best routes changed');
        events.onRoutesChanged();
      }
    });
    speaker.on('peerState', (ev) => {
      if (ev.state !== 'Established') this.eor.delete(ev.address);
      events.onPeerState(ev.address, ev.state);
    });
    speaker.on('endOfRib', (ev) => {
      this.eor.add(ev.peer);
      events.onPeerState(ev.peer, 'Established', true);
    });
    speaker.on('notification', (ev) => {
      // a forming mesh resolves collisions (6/7) and meets peers that do not know us yet (6/5)
      // all the time: expected, so at debug; any other NOTIFICATION is worth a line
      const routine = ev.code === 6 && (ev.subcode === 7 || ev.subcode === 5);
      this.cfg.log[routine ? 'debug' : 'info']({ peer: ev.peer, direction: ev.direction, reason: ev.reason }, 'BGP notification');
    });
  }

  identity(): SpeakerIdentity {
    return { asn: this.cfg.asn, ...(this.cfg.clusterId ? { clusterId: this.cfg.clusterId } : {}) };
  }

  /**
   * A new local AS or cluster id is a new BGP speaker: Cease 6/6 (Other Configuration Change) to
   * every peer, then the same listener with the new identity, no peers, nothing learned (the
   * caller adds its peers and announcements again). Throws when the new one cannot listen.
   */
  async reconfigure(identity: SpeakerIdentity): Promise<void> {
    const events = this.events;
    if (!events) throw new Error('the BGP speaker is not started');
    const old = this.speaker;
    await old.stop(CEASE_OTHER_CONFIG_CHANGE);
    old.removeAllListeners();
    this.best.clear();
    this.eor.clear();
    this.ports.clear();
    const previous = this.cfg;
    const { clusterId: _oldClusterId, ...rest } = previous;
    this.cfg = { ...rest, asn: identity.asn, ...(identity.clusterId ? { clusterId: identity.clusterId } : {}) };
    this.speaker = this.create();
    this.attach(this.speaker, events);
    try {
      await this.speaker.start();
    } catch (err) {
      // identity() then still differs from what is wanted: the next control sync tries again
      this.cfg = previous;
      throw err;
    } finally {
      events.onRoutesChanged();
    }
  }

  addPeer(peer: DesiredPeer, accept: (prefix: string) => boolean): void {
    this.speaker.addPeer({
      address: peer.address,
      asn: peer.asn,
      port: this.cfg.port,
      localAddress: sessionSource(this.cfg, peer.family),
      routeReflectorClient: peer.routeReflectorClient,
      maxPrefixes: this.cfg.maxPrefixes ?? DEFAULT_MAX_PREFIXES,
      families: [peer.family],
      importPolicy: (route) => (accept(route.prefix) ? route.attrs : null),
    });
    this.ports.set(peer.address, this.cfg.port);
  }

  removePeer(address: string): void {
    this.eor.delete(address);
    this.ports.delete(address);
    void Promise.resolve(this.speaker.removePeer(address)).catch((err: unknown) =>
      this.cfg.log.warn({ err, peer: address }, 'removing BGP peer failed'),
    );
  }

  announce(routes: Announcement[]): void {
    const byNextHop = new Map<string, string[]>();
    for (const r of routes) byNextHop.set(r.nextHop, [...(byNextHop.get(r.nextHop) ?? []), r.prefix]);
    for (const [nextHop, prefixes] of byNextHop) this.speaker.announce(prefixes, { nextHop });
    this.cfg.log.debug({ prefixes: routes.length }, 'announced');
  }

  withdraw(prefixes: string[]): void {
    this.speaker.withdraw(prefixes);
  }

  refreshIn(address: string): void {
    this.speaker.refreshIn(address);
  }

  learned(): LearnedRoute[] {
    return [...this.best.values()];
  }

  runtime(address: string): PeerRuntime | undefined {
    const s: PeerStats | undefined = this.speaker.peerStats(address);
    if (!s) return undefined;
    const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
    return {
      fsmState: s.state,
      since: s.stateSince ? new Date(s.stateSince) : null,
      ...(s.lastError ? { lastError: s.lastError } : {}),
      prefixesReceived: s.prefixesReceived,
      prefixesAccepted: sum(s.prefixesAccepted),
      prefixesAdvertised: sum(s.prefixesAdvertised),
    };
  }

  endOfRibReceived(address: string): boolean {
    return this.eor.has(address);
  }

  /** Cease to every peer; bounded, since sockets a peer keeps half-open would hold it up. */
  async stop(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((r) => (timer = setTimeout(r, STOP_BOUND_MS)));
    await Promise.race([this.speaker.stop(), bound]);
    clearTimeout(timer);
  }
}
