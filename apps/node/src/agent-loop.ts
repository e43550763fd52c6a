/**
 * The agent loop: follows the datastore and the speaker, and after every change (coalesced) or
 * periodically makes the sessions, the announcements and the dataplane match the controller's
 * view. One sync runs at a time; changes during a run cause exactly one more run.
 */
import type { AgentStatus } from './control-api.js';
import { acceptRoute, desiredAnnouncements, desiredPeers, diffAnnouncements, diffPeers, findNode, nodeAsn } from './controller.js';
import type { Logger } from './log.js';
import type { AgentMetrics } from './metrics.js';
import type { Announcement, DesiredPeer } from './model.js';
import type { ClusterStore, DataplaneDriver, RouteSpeaker, SpeakerIdentity } from './ports.js';
import { buildStatus } from './status.js';

export interface LoopTimings {
  /** full resync + dataplane drift repair */
  resyncMs: number;
  heartbeatMs: number;
  /** after a (re)start, wait at most this long for peers' End-of-RIB before removing routes */
  startupGraceMs: number;
  /** coalescing delay after a change */
  debounceMs: number;
}

export const DEFAULT_TIMINGS: LoopTimings = { resyncMs: 30_000, heartbeatMs: 10_000, startupGraceMs: 10_000, debounceMs: 1 };

export interface LoopDeps {
  name: string;
  version: string;
  store: ClusterStore;
  speaker: RouteSpeaker;
  dataplane: DataplaneDriver;
  log: Logger;
  metrics: AgentMetrics;
  timings?: Partial<LoopTimings>;
}

export class AgentLoop {
  readonly startedAt = new Date();
  private readonly t: LoopTimings;
  private readonly peers = new Map<string, DesiredPeer>();
  private readonly announced = new Map<string, Announcement>();
  /** the pool CIDRs of the last sync (undefined before the first) */
  private poolKey: string | undefined;
  private dataplaneProblems: string[] = [];
  private dataplaneError: string | undefined;
  private speakerError: string | undefined;
  private running: Promise<void> | undefined;
  private pending = { control: false, dataplane: false, full: true };
  private debounce: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private graceUntil = 0;
  /** a BGP restart for a new identity in progress (control syncs wait for it) */
  private reconfiguring: Promise<void> | undefined;

  constructor(private readonly d: LoopDeps) {
    this.t = { ...DEFAULT_TIMINGS, ...d.timings };
    d.metrics.onCollect = () => {
      this.updateSessionMetrics();
      d.metrics.setIpamUsage(d.store.current(), d.name);
    };
  }

  /** Starts following; the store must already be registered and the speaker started. */
  async start(): Promise<void> {
    this.graceUntil = Date.now() + this.t.startupGraceMs;
    await this.d.store.follow(() => this.request('control'));
    this.request('control');
    this.every(this.t.resyncMs, () => this.request('full'));
    this.every(this.t.heartbeatMs, () => void this.heartbeat());
    // re-check the startup grace shortly after it ends even if nothing else changes (without a
    // grace, the first pass is already a full one)
    if (this.t.startupGraceMs > 0) this.timers.push(setTimeout(() => this.request('full'), this.t.startupGraceMs + 50));
    void this.heartbeat();
  }

  /**
   * Runs `fn` about every `ms` (±10 %): agents started together (a rebooted rack) must not all
   * read their kernels or write etcd at the same moment, period after period.
   */
  private every(ms: number, fn: () => void): void {
    const slot = this.timers.length;
    const arm = (): void => {
      this.timers[slot] = setTimeout(() => {
        if (this.stopped) return;
        fn();
        arm();
      }, ms * (0.9 + Math.random() * 0.2));
    };
    arm();
  }

  /** Speaker callbacks. */
  onRoutesChanged(): void {
    this.request('dataplane');
  }
  onPeerState(address: string, state: string, endOfRib = false): void {
    // up and down at info; the steps between (a forming mesh makes hundreds) at debug
    if (endOfRib) this.d.log.debug({ peer: address }, 'End-of-RIB received');
    else if (state === 'Established' || state === 'Idle') this.d.log.info({ peer: address, state }, 'BGP session state');
    else this.d.log.debug({ peer: address, state }, 'BGP session state');
    if (state === 'Established' || Date.now() < this.graceUntil) this.request('dataplane');
  }

  /**
   * Asks for a sync: 'control' = peers + announcements + dataplane; 'dataplane' = dataplane only;
   * 'full' = everything, with a full read of the kernel (drift repair).
   */
  request(what: 'control' | 'dataplane' | 'full'): void {
    if (this.stopped) return;
    if (what === 'full') this.pending.control = true;
    this.pending[what] = true;
    if (this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.kick();
    }, this.t.debounceMs);
  }

  /**
   * The control plane (sessions, announcements) is synced at once, even while a dataplane pass
   * runs: it is synchronous and cheap, while a full pass on a loaded host can take seconds, and a
   * node that joined must not wait that long for its sessions. Dataplane passes run one at a time.
   */
  private async kick(): Promise<void> {
    if (this.reconfiguring) return; // it requests a control sync when done
    const identity = this.pending.control ? this.identityChange() : undefined;
    if (identity) {
      this.reconfiguring = this.reconfigureSpeaker(identity).finally(() => {
        this.reconfiguring = undefined;
        this.request('control');
      });
      return;
    }
    if (!this.stopped && this.pending.control) {
      this.pending.control = false;
      this.pending.dataplane = true;
      try {
        if (this.syncControl() && !this.running) {
          // let the speaker send its UPDATEs before the dataplane pass spawns its commands
          await new Promise((r) => setImmediate(r));
        }
      } catch (err) {
        this.d.log.error({ err }, 'control sync failed');
      }
    }
    if (this.running) return; // the running pass re-checks `pending` when it ends
    this.running = (async () => {
      while (!this.stopped && this.pending.dataplane) {
        const { full } = this.pending;
        this.pending.dataplane = false;
        this.pending.full = false;
        try {
          await this.syncDataplane(full);
        } catch (err) {
          this.d.log.error({ err }, 'sync failed');
        }
      }
    })().finally(() => {
      this.running = undefined;
    });
    await this.running;
  }

  /**
   * The BGP identity the datastore now gives this node (its AS, else the cluster default; its
   * route reflector cluster id) when it differs from the one the speaker runs with.
   */
  private identityChange(): SpeakerIdentity | undefined {
    const snap = this.d.store.current();
    const self = findNode(snap, this.d.name);
    if (!self) return undefined;
    const want: SpeakerIdentity = { asn: nodeAsn(snap, self).asn, clusterId: self.routeReflectorClusterId };
    const have = this.d.speaker.identity();
    return want.asn !== have.asn || want.clusterId !== have.clusterId ? want : undefined;
  }

  /**
   * A new AS or cluster id: BGP restarts with it, every peer and announcement is added again.
   * Kernel routes stay as in a restart (startup grace) until the peers have sent theirs again.
   */
  private async reconfigureSpeaker(identity: SpeakerIdentity): Promise<void> {
    const have = this.d.speaker.identity();
    this.d.log.info(
      { asn: identity.asn, previousAsn: have.asn, clusterId: identity.clusterId ?? null, previousClusterId: have.clusterId ?? null },
      'BGP identity changed: restarting BGP sessions (kernel routes kept until the peers resend theirs)',
    );
    this.graceUntil = Date.now() + Math.max(this.t.startupGraceMs, DEFAULT_TIMINGS.startupGraceMs);
    try {
      await this.d.speaker.reconfigure(identity);
      this.speakerError = undefined;
    } catch (err) {
      // e.g. the listener could not be bound again: said in the status until a later try works
      this.speakerError = `BGP restart for AS ${identity.asn} failed: ${err instanceof Error ? err.message : String(err)}`;
      this.d.log.error({ err }, 'BGP restart for a new identity failed');
    }
    this.peers.clear();
    this.announced.clear();
  }

  /** Sessions and announcements from the current snapshot; true when anything was sent. */
  private syncControl(): boolean {
    const snap = this.d.store.current();
    const pools = snap.pools;
    // announcements first: a new session's initial update (and End-of-RIB) must already carry them,
    // or a restarted agent's peers would sweep its routes
    const { announce, withdraw } = diffAnnouncements(this.announced, desiredAnnouncements(snap, this.d.name));
    if (withdraw.length) {
      this.d.speaker.withdraw(withdraw);
      for (const p of withdraw) this.announced.delete(p);
    }
    if (announce.length) {
      this.d.speaker.announce(announce);
      for (const a of announce) this.announced.set(a.prefix, a);
    }
    const poolKey = (pools ?? []).map((p) => p.cidr).sort().join(',');
    const poolsChanged = this.poolKey !== undefined && poolKey !== this.poolKey;
    this.poolKey = poolKey;
    const wantPeers = desiredPeers(snap, this.d.name);
    const { add, remove, reimport } = diffPeers(this.peers, wantPeers);
    for (const addr of remove) {
      this.d.log.info({ peer: addr }, 'removing BGP peer');
      this.d.speaker.removePeer(addr);
      this.peers.delete(addr);
    }
    // a new import list keeps the session: the policy below reads the peer from this.peers
    for (const p of reimport) {
      this.d.log.info({ peer: p.address, accept: p.acceptPrefixes ?? 'pools' }, 'BGP peer import list changed');
      this.peers.set(p.address, p);
    }
    // the import policy reads the pools and the peer's import list when a route arrives: when they
    // change, routes refused before (their prefix was not allowed yet) or accepted before (no
    // longer allowed) are judged again, as the peer sends them again (route refresh, RFC 2918)
    const refresh = poolsChanged ? [...this.peers.keys()] : reimport.map((p) => p.address);
    for (const addr of refresh) this.d.speaker.refreshIn(addr);
    for (const p of add) {
      this.d.log.info({ peer: p.address, asn: p.asn, type: p.type }, 'adding BGP peer');
      // reads the pools and the peer's import list at import time, so later changes are honoured
      // without re-adding the peer
      this.d.speaker.addPeer(p, (prefix) => acceptRoute(this.peers.get(p.address) ?? p, prefix, this.d.store.current().pools ?? pools));
      this.peers.set(p.address, p);
    }
    if (add.length || remove.length || announce.length || withdraw.length)
      this.d.log.info(
        { peersAdded: add.length, peersRemoved: remove.length, announced: announce.length, withdrawn: withdraw.length },
        'control plane synced',
      );
    return add.length + remove.length + announce.length + withdraw.length + refresh.length > 0;
  }

  /**
   * True while a restarted agent still waits for its peers' routes: removing kernel routes then
   * would break forwarding that graceful restart is meant to keep.
   */
  private inStartupGrace(): boolean {
    if (Date.now() >= this.graceUntil) return false;
    for (const addr of this.peers.keys()) {
      if (this.d.speaker.runtime(addr)?.fsmState !== 'Established' || !this.d.speaker.endOfRibReceived(addr)) return true;
    }
    this.graceUntil = 0;
    return false;
  }

  private async syncDataplane(full: boolean): Promise<void> {
    if (this.inStartupGrace()) {
      this.pending.full = true; // the first pass after the grace reads everything
      return;
    }
    const snap = this.d.store.current();
    if (!findNode(snap, this.d.name)) return;
    const end = this.d.metrics.reconcileDuration.startTimer();
    try {
      if (await this.d.store.ensureVtep(this.d.name)) {
        // The VTEP (and the block of its address) was just written: this snapshot lacks it. The
        // watch brings it back within milliseconds and that change runs the pass, which then
        // creates the VXLAN device together with its neighbours, instead of a pass without the
        // device now and a second full one right after.
        this.pending.full ||= full;
        return;
      }
      const res = await this.d.dataplane.reconcile(this.d.store.current(), this.d.name, this.d.speaker.learned(), full);
      if (res.retryInMs !== undefined && !this.retryTimer) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.request('dataplane');
        }, res.retryInMs);
      }
      this.dataplaneProblems = res.problems;
      this.dataplaneError = undefined;
      this.d.metrics.routesProgrammed.set({ kind: 'remote' }, res.routes.remote);
      this.d.metrics.routesProgrammed.set({ kind: 'blackhole' }, res.routes.blackhole);
      this.d.metrics.routesProgrammed.set({ kind: 'workload' }, res.routes.workload);
    } catch (err) {
      this.d.metrics.reconcileErrors.inc();
      this.dataplaneError = `dataplane reconcile failed: ${err instanceof Error ? err.message : String(err)}`;
      this.d.log.error({ err }, 'dataplane reconcile failed');
    } finally {
      end();
    }
  }

  private updateSessionMetrics(): void {
    const states: string[] = [];
    let pin = 0;
    let pout = 0;
    for (const addr of this.peers.keys()) {
      const rt = this.d.speaker.runtime(addr);
      states.push(rt?.fsmState ?? 'Idle');
      pin += rt?.prefixesAccepted ?? 0;
      pout += rt?.prefixesAdvertised ?? 0;
    }
    this.d.metrics.setSessions(states);
    this.d.metrics.prefixes.set({ direction: 'in' }, pin);
    this.d.metrics.prefixes.set({ direction: 'out' }, pout);
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.d.store.heartbeat({
        node: this.d.name,
        startedAt: this.startedAt.toISOString(),
        pid: process.pid,
        version: this.d.version,
      });
    } catch (err) {
      this.d.log.warn({ err }, 'heartbeat failed');
    }
  }

  errors(): string[] {
    return [
      ...this.d.store.problems(),
      ...(this.speakerError ? [this.speakerError] : []),
      ...this.dataplaneProblems,
      ...(this.dataplaneError ? [this.dataplaneError] : []),
    ];
  }

  status(): AgentStatus {
    const snap = this.d.store.current();
    const self = findNode(snap, this.d.name);
    const { asn, inherited } = nodeAsn(snap, self);
    return buildStatus({
      pid: process.pid,
      version: this.d.version,
      startedAt: this.startedAt,
      now: new Date(),
      node: { name: this.d.name, ipv4: self?.ipv4 ?? null, ipv6: self?.ipv6 ?? null, asn, asnInherited: inherited },
      peers: [...this.peers.values()].map((peer) => ({ peer, runtime: this.d.speaker.runtime(peer.address) })),
      errors: this.errors(),
    });
  }

  /** Stops timers and waits for a running sync; the speaker and store are closed by the caller. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.debounce) clearTimeout(this.debounce);
    for (const t of this.timers) clearTimeout(t);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.running?.catch(() => undefined);
    // a BGP restart in progress ends first: the caller stops the speaker it leaves running
    await this.reconfiguring?.catch(() => undefined);
    // the agent is going away: say so now rather than let `node show`/`node remove` see a fresh beat
    await this.d.store.clearHeartbeat(this.d.name).catch((err: unknown) => this.d.log.warn({ err }, 'clearing the heartbeat failed'));
  }
}
