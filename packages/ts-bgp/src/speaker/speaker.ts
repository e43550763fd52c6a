/**
 * BgpSpeaker: the library's front door. Owns the listener, the neighbours, the RIB and the
 * locally originated routes; turns RIB changes into UPDATEs per peer and into batched
 * `bestPathChanges` events. Everything protocol-shaped lives in session/ and rib/.
 */
import { EventEmitter } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afiOfFamily } from '../codec/capabilities.js';
import { encodeNotification, encodeRouteRefresh } from '../codec/messages.js';
import { parsePrefix, prefixKey } from '../codec/prefix.js';
import { decodeUpdate } from '../codec/update.js';
import { encodeEndOfRib, encodeUpdatesByKey } from '../codec/update-encode.js';
import { systemClock, type Clock } from '../fsm/clock.js';
import type { FsmState } from '../fsm/fsm.js';
import type { LocalIdentity } from '../rib/export.js';
import { AttrInterner, ipv4ToNumber, type Path, type PrefixKey } from '../rib/path.js';
import { FAMILIES, Rib, type SourceRib } from '../rib/rib.js';
import { stripMapped } from '../session/connection.js';
import type { LocalOpenConfig } from '../session/open.js';
import { Peer, type NotificationInfo, type PeerHost } from '../session/peer.js';
import { CeaseSubcode, ErrorCode, Safi, type Family, type PathAttributes, type RouteRefreshMessage } from '../types.js';
import { AdvertisedCount, type OutBatch } from './adj-out.js';
import { formatKey, ingestUpdate } from './ingest.js';
import { localAttributes } from './local-routes.js';
import { Neighbor, canonicalAddress } from './neighbor.js';
import { bestRoute, peerStatsOf } from './views.js';
import type {
  AnnounceAttributes,
  BestPathChange,
  PeerOptions,
  PeerStats,
  SpeakerEvents,
  SpeakerOptions,
} from './types.js';

export class BgpSpeaker extends EventEmitter<SpeakerEvents> {
  readonly clock: Clock;
  private readonly rib = new Rib();
  private readonly interner = new AttrInterner();
  private readonly identity: LocalIdentity;
  private readonly localSrc: SourceRib;
  private readonly neighbors = new Map<string, Neighbor>();
  private readonly host: PeerHost;
  private server: Server | undefined;
  private started = false;
  private flushQueued = false;
  /** how many peers hold each prefix we advertise (see needsPeerVisit) */
  private readonly advertised = new AdvertisedCount();
  /** peers that may receive a route learned over iBGP from a non-client: eBGP peers, reflector clients */
  private beyondMesh = 0;
  private nextSourceId = 1;

  constructor(readonly options: SpeakerOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.identity = { asn: options.asn, routerId: options.routerId, clusterId: options.clusterId ?? options.routerId };
    this.localSrc = this.rib.addSource({
      id: 0,
      address: 'local',
      addressOrder: -1,
      asn: options.asn,
      local: true,
      ibgp: false,
      routeReflectorClient: false,
      routerId: ipv4ToNumber(options.routerId),
    });
    this.host = this.makeHost();
  }

  /** The port the listener is bound to (useful with port 0), or undefined. */
  get listenPort(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  /** Listen (unless `listen: false`) and start every configured peer. */
  async start(): Promise<void> {
    if (this.started) return;
    const listen = this.options.listen ?? { host: '::', port: 179 };
    if (listen) this.server = await this.listen(listen.host, listen.port);
    this.started = true;
    for (const nb of this.neighbors.values()) nb.peer.start();
  }

  /**
   * Cease to every peer (Administrative Shutdown, or the given subcode, e.g. 6 Other
   * Configuration Change), close the listener and wait for sockets to drain.
   */
  async stop(ceaseSubcode: number = CeaseSubcode.ADMIN_SHUTDOWN): Promise<void> {
    this.started = false;
    for (const nb of this.neighbors.values()) {
      nb.peer.stop(ceaseSubcode);
      this.clock.clearTimeout(nb.staleTimer);
    }
    const deadline = Date.now() + 2000;
    while ([...this.neighbors.values()].some((nb) => nb.peer.conn?.open) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const nb of this.neighbors.values()) nb.peer.dispose();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  addPeer(options: PeerOptions): void {
    const address = canonicalAddress(options.address);
    if (this.neighbors.has(address)) throw new Error(`peer ${address} is already configured: remove it first`);
    if (!Number.isInteger(options.asn) || options.asn < 1 || options.asn > 0xffffffff) {
      throw new Error(`invalid AS number ${options.asn} for peer ${address}`);
    }
    const src = this.rib.addSource(Neighbor.sourceFor(options, this.nextSourceId++, this.options.asn));
    const gr = this.options.gracefulRestart;
    const nb = new Neighbor(options, src, this.identity, this.options.families ?? ['ipv4', 'ipv6'], !!(gr && gr.restarting), this.advertised);
    if (!src.source.ibgp || src.source.routeReflectorClient) this.beyondMesh++;
    nb.peer = new Peer(
      {
        address,
        asn: options.asn,
        port: options.port ?? 179,
        passive: options.passive ?? false,
        holdTimeSec: options.holdTimeSec ?? this.options.holdTimeSec ?? 90,
        connectRetrySec: this.options.connectRetrySec ?? 5,
      },
      this.host,
    );
    this.neighbors.set(address, nb);
    if (this.started) nb.peer.start();
  }

  /** Cease (Peer De-configured) and forget the peer and its routes. */
  removePeer(address: string): boolean {
    const nb = this.neighbors.get(canonicalAddress(address));
    if (!nb) return false;
    nb.peer.stop(CeaseSubcode.PEER_DECONFIGURED);
    nb.peer.dispose();
    this.clock.clearTimeout(nb.staleTimer);
    this.neighbors.delete(nb.address);
    if (!nb.source.ibgp || nb.source.routeReflectorClient) this.beyondMesh--;
    nb.out.reset();
    this.rib.removeSource(nb.src);
    this.flush();
    return true;
  }

  /** Originate `prefixes` ("10.0.0.0/24", "2001:db8::/64") with `attrs`; replaces earlier announcements. */
  announce(prefixes: string | readonly string[], attrs: AnnounceAttributes = {}): void {
    const sets: Partial<Record<Family, Path>> = {};
    for (const text of typeof prefixes === 'string' ? [prefixes] : prefixes) {
      const p = parsePrefix(text);
      const path = (sets[p.family] ??= this.localPath(localAttributes(attrs, p.family)));
      this.rib.update(this.localSrc, p.family, prefixKey(p), path);
    }
    this.queueFlush();
  }

  /** One Path per distinct local attribute set, so announcing the same thing twice changes nothing. */
  private localPath(attrs: PathAttributes): Path {
    return this.localSrc.path(this.interner.intern(`local|${JSON.stringify(attrs)}`, () => attrs));
  }

  /** Stop originating `prefixes`. */
  withdraw(prefixes: string | readonly string[]): void {
    for (const text of typeof prefixes === 'string' ? [prefixes] : prefixes) {
      const p = parsePrefix(text);
      this.rib.withdraw(this.localSrc, p.family, prefixKey(p));
    }
    this.queueFlush();
  }

  /**
   * Inbound soft reset (RFC 2918): asks the peer to send its routes again, so that routes the
   * import policy refused (or accepted) earlier are judged by the policy as it is now; a route it
   * now refuses is withdrawn. False when the session is not up or the peer has no route refresh.
   */
  refreshIn(address: string, family?: Family): boolean {
    const nb = this.neighbors.get(canonicalAddress(address));
    if (!nb?.peer.established || !nb.peer.negotiated?.routeRefresh) return false;
    for (const f of family ? [family] : nb.sessionFamilies) nb.peer.send(encodeRouteRefresh(f));
    return true;
  }

  peerStats(address: string): PeerStats | undefined {
    const nb = this.neighbors.get(canonicalAddress(address));
    return nb ? peerStatsOf(nb) : undefined;
  }

  /** Stats of every configured peer. */
  peers(): PeerStats[] {
    return [...this.neighbors.keys()].map((a) => this.peerStats(a)!);
  }

  /** The Loc-RIB: best route per prefix (slow path: one object per prefix). */
  routes(family?: Family): BestPathChange[] {
    const out: BestPathChange[] = [];
    for (const f of family ? [family] : FAMILIES) {
      for (const [key, path] of this.rib.best[f]) out.push({ prefix: formatKey(key), family: f, best: bestRoute(path, f) });
    }
    return out;
  }

  /** Number of best routes per family (cheap). */
  routeCount(family: Family): number {
    return this.rib.best[family].size;
  }

  // ---- internals -------------------------------------------------------------------------

  private listen(host: string, port: number): Promise<Server> {
    const server = createServer((socket) => this.accept(socket));
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        // no IPv6 here: fall back to IPv4 only
        if (host === '::' && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) {
          this.listen('0.0.0.0', port).then(resolve, reject);
        } else {
          reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`));
        }
      });
      server.listen({ host, port }, () => resolve(server));
    });
  }

  private accept(socket: Socket): void {
    const remote = stripMapped(socket.remoteAddress);
    let nb: Neighbor | undefined;
    try {
      nb = remote ? this.neighbors.get(canonicalAddress(remote)) : undefined;
    } catch {
      nb = undefined;
    }
    socket.on('error', () => undefined);
    if (!nb || !this.started) {
      // unknown peer: Cease / Connection Rejected (RFC 4486), then close
      socket.end(encodeNotification({ code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_REJECTED }));
      // read to the peer's FIN (a paused socket never sees it and stays open), and bound the wait
      socket.resume();
      const t = setTimeout(() => socket.destroy(), 1000);
      t.unref();
      socket.once('close', () => clearTimeout(t));
      return;
    }
    nb.peer.acceptIncoming(socket);
  }

  private neighborOf(peer: Peer): Neighbor {
    return this.neighbors.get(peer.address)!;
  }

  private makeHost(): PeerHost {
    return {
      clock: this.clock,
      openConfig: (peer) => this.openConfig(this.neighborOf(peer)),
      dial: (peer) => {
        const nb = this.neighborOf(peer);
        return connect({ host: nb.address, port: peer.session.port, localAddress: nb.options.localAddress });
      },
      sessionUp: (peer) => this.sessionUp(this.neighborOf(peer)),
      sessionDown: (peer, reason, graceful) => this.sessionDown(this.neighborOf(peer), reason, graceful),
      update: (peer, frame) => this.onUpdate(this.neighborOf(peer), frame),
      routeRefresh: (peer, msg) => this.onRouteRefresh(this.neighborOf(peer), msg),
      batchEnd: () => this.flush(),
      stateChanged: (peer, state: FsmState, previous: FsmState, info) =>
        this.emit('peerState', { address: peer.address, state, previous, ...(info ? { info } : {}) }),
      notification: (peer, n: NotificationInfo) => this.emit('notification', { peer: peer.address, ...n }),
    };
  }

  private openConfig(nb: Neighbor): LocalOpenConfig {
    const gr = this.options.gracefulRestart ?? { restartTimeSec: 120 };
    const c: LocalOpenConfig = { asn: this.options.asn, routerId: this.options.routerId, families: nb.families };
    if (gr) {
      c.gracefulRestart = {
        restartTimeSec: gr.restartTimeSec,
        restarting: nb.restartPending,
        forwardingPreserved: gr.forwardingPreserved ?? true,
      };
    }
    return c;
  }

  private sessionUp(nb: Neighbor): void {
    const peer = nb.peer;
    nb.source.routerId = ipv4ToNumber(peer.remoteOpen!.bgpId);
    nb.accepted.clear();
    nb.restartPending = false;
    nb.out.reset();
    nb.setSelfNextHop(peer.conn?.localAddress);
    const families = nb.sessionFamilies;
    // graceful restart, receiving side: routes kept from before the restart wait for End-of-RIB,
    // unless the peer did not preserve forwarding for the family (RFC 4724 §4.2)
    const gr = peer.negotiated?.peerGracefulRestart;
    let stale = false;
    for (const f of FAMILIES) {
      if (nb.src.staleCount(f) === 0) continue;
      const kept = gr?.families.find((x) => x.family === f && x.forwardingState);
      if (kept && families.includes(f)) stale = true;
      else this.rib.sweepStale(nb.src, f);
    }
    this.clock.clearTimeout(nb.staleTimer);
    if (stale) nb.staleTimer = this.clock.setTimeout(() => this.sweepAll(nb), (gr?.restartTimeSec ?? 120) * 1000);
    for (const f of families) {
      this.send(nb, f, nb.out.full(f, this.rib.best[f]));
      nb.peer.send(encodeEndOfRib(f));
    }
    this.flush();
  }

  private sessionDown(nb: Neighbor, _reason: string, graceful: boolean): void {
    nb.out.reset();
    this.clock.clearTimeout(nb.staleTimer);
    const gr = graceful ? nb.peer.negotiated?.peerGracefulRestart : undefined;
    if (gr && nb.src.count() > 0) {
      // graceful restart, receiving side: keep the routes as stale for the restart time
      nb.src.markStale();
      for (const f of FAMILIES) if (!gr.families.some((x) => x.family === f)) this.rib.clear(nb.src, f);
      nb.staleTimer = this.clock.setTimeout(() => this.sweepAll(nb), gr.restartTimeSec * 1000);
    } else {
      for (const f of FAMILIES) this.rib.clear(nb.src, f);
    }
    this.flush();
  }

  private sweepAll(nb: Neighbor): void {
    for (const f of FAMILIES) this.rib.sweepStale(nb.src, f);
    this.flush();
  }

  private onUpdate(nb: Neighbor, frame: Buffer): void {
    const peer = nb.peer;
    const msg = decodeUpdate(frame, { ...peer.negotiated!.codec, ebgp: !nb.source.ibgp });
    if (msg.action === 'session-reset') {
      const e = msg.errors[0]!;
      return peer.fail(e.code, e.subcode, e.message, e.data);
    }
    peer.counters.prefixesReceived += ingestUpdate({ rib: this.rib, interner: this.interner, local: this.identity }, nb, msg);
    const max = nb.options.maxPrefixes;
    if (max !== undefined && nb.src.count() > max) {
      const data = Buffer.alloc(7);
      data.writeUInt16BE(afiOfFamily(nb.src.count('ipv6') > 0 ? 'ipv6' : 'ipv4'), 0);
      data[2] = Safi.UNICAST;
      data.writeUInt32BE(max >>> 0, 3);
      peer.fail(ErrorCode.CEASE, CeaseSubcode.MAX_PREFIXES, `peer sent more than ${max} prefixes`, data);
      return;
    }
    const eor = msg.endOfRib;
    if (eor) {
      if (nb.src.staleCount(eor) > 0) this.rib.sweepStale(nb.src, eor);
      if (nb.src.staleCount('ipv4') + nb.src.staleCount('ipv6') === 0) this.clock.clearTimeout(nb.staleTimer);
      this.flush();
      this.emit('endOfRib', { peer: nb.address, family: eor, prefixes: nb.src.count(eor) });
    }
  }

  private onRouteRefresh(nb: Neighbor, msg: RouteRefreshMessage): void {
    if (!nb.sessionFamilies.includes(msg.family) || msg.subtype !== 0) return;
    this.send(nb, msg.family, nb.out.current(msg.family));
    nb.peer.send(encodeEndOfRib(msg.family));
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /** Hand the RIB's pending best-path changes to every established peer and to listeners. */
  private flush(): void {
    if (!this.rib.hasChanges()) return;
    const events: BestPathChange[] = [];
    const listening = this.listenerCount('bestPathChanges') > 0;
    for (const family of FAMILIES) {
      const { keys, paths } = this.rib.takeChanges(family);
      if (keys.length === 0) continue;
      if (this.needsPeerVisit(family, keys, paths)) {
        for (const nb of this.neighbors.values()) {
          if (nb.peer.established && nb.sessionFamilies.includes(family)) this.send(nb, family, nb.out.diff(family, keys, paths));
        }
      }
      if (listening) {
        const seen = new Set<PrefixKey>();
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i]!;
          if (seen.has(key)) continue;
          seen.add(key);
          const path = paths[i];
          events.push({ prefix: formatKey(key), family, best: path ? bestRoute(path, family) : null });
        }
      }
    }
    if (events.length > 0) this.emit('bestPathChanges', events);
  }

  /**
   * Whether some peer may have to hear of these changes: a path it may receive (RFC 4271 §9.2,
   * RFC 4456: not one learned over iBGP from a non-client when every peer is a non-client iBGP
   * peer), or a prefix some peer holds (to withdraw). In a full mesh most changes are a mesh
   * peer's routes, which go to nobody: the speaker then skips the visit of every peer.
   */
  private needsPeerVisit(family: Family, keys: readonly PrefixKey[], paths: ReadonlyArray<Path | null>): boolean {
    for (let i = 0; i < keys.length; i++) {
      const from = paths[i]?.source;
      if (from && (from.local || !from.ibgp || from.routeReflectorClient || this.beyondMesh > 0)) return true;
      if (this.advertised.has(family, keys[i]!)) return true;
    }
    return false;
  }

  private send(nb: Neighbor, family: Family, batch: OutBatch): void {
    // most flushes change nothing for most peers (iBGP: a mesh peer's route goes to no other)
    if (batch.withdraw.length === 0 && batch.announce.size === 0) return;
    const opts = { ...nb.peer.negotiated!.codec, ebgp: !nb.source.ibgp };
    const messages: Buffer[] = [];
    if (batch.withdraw.length > 0) messages.push(...encodeUpdatesByKey(family, null, batch.withdraw, opts));
    for (const [route, keys] of batch.announce) {
      messages.push(...encodeUpdatesByKey(family, route.attrs, keys, opts));
    }
    nb.peer.sendUpdates(messages);
  }
}
