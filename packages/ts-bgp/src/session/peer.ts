/**
 * One configured neighbour: its FSM driven over a Connection, OPEN exchange and checks, connection
 * collisions (RFC 4271 §6.8) and per-peer counters. Routes are not handled here: UPDATE frames go
 * to the PeerHost (the speaker), which owns the RIB.
 */
import type { Socket } from 'node:net';
import { negotiate, type NegotiatedSession } from '../codec/capabilities.js';
import { BgpError } from '../codec/errors.js';
import {
  buildOpen,
  decodeNotification,
  decodeOpen,
  decodeRouteRefresh,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
} from '../codec/messages.js';
import { FsmDriver, type ShellAction } from '../fsm/driver.js';
import { DEFAULT_FSM_CONFIG, type FsmEvent, type FsmState } from '../fsm/fsm.js';
import { CeaseSubcode, ErrorCode, MessageType, type OpenMessage } from '../types.js';
import { collisionWinner } from './collision.js';
import { Connection } from './connection.js';
import { describeNotification } from './notification-text.js';
import { checkOpen, localCapabilities } from './open.js';
import type { PeerCounters, PeerHost, PeerSessionConfig } from './peer-types.js';

export type { NotificationInfo, PeerCounters, PeerHost, PeerSessionConfig } from './peer-types.js';

export class Peer {
  readonly fsm: FsmDriver;
  conn: Connection | undefined;
  remoteOpen: OpenMessage | undefined;
  negotiated: NegotiatedSession | undefined;
  lastError: string | undefined;
  stateSince: number;
  readonly counters: PeerCounters = {
    messagesIn: 0,
    messagesOut: 0,
    updatesIn: 0,
    updatesOut: 0,
    notificationsIn: 0,
    notificationsOut: 0,
    prefixesReceived: 0,
    establishedCount: 0,
  };
  private dialing: Socket | undefined;
  private candidate: { conn: Connection; timer: unknown } | undefined;
  /** the session is ending with a NOTIFICATION: graceful restart does not apply (RFC 4724 §4) */
  private notified = false;

  constructor(
    readonly session: PeerSessionConfig,
    private readonly host: PeerHost,
  ) {
    this.stateSince = host.clock.now();
    this.fsm = new FsmDriver(
      {
        ...DEFAULT_FSM_CONFIG,
        passive: session.passive,
        holdTimeSec: session.holdTimeSec,
        connectRetrySec: session.connectRetrySec,
      },
      host.clock,
      (a, ev) => this.perform(a, ev),
      (state, previous, ev) => {
        this.stateSince = host.clock.now();
        const info = ev.kind === 'error' || ev.kind === 'tcpFailed' ? ev.reason : undefined;
        if (info && state === 'Idle') this.lastError = info;
        host.stateChanged(this, state, previous, state === 'Idle' ? this.lastError : info);
      },
    );
  }

  get address(): string {
    return this.session.address;
  }
  get state(): FsmState {
    return this.fsm.state;
  }
  get established(): boolean {
    return this.fsm.state === 'Established';
  }

  start(): void {
    this.fsm.handle({ kind: 'start' });
  }

  /** Administrative stop: Cease with `subcode` (RFC 4486), no automatic restart. */
  stop(subcode: CeaseSubcode = CeaseSubcode.ADMIN_SHUTDOWN): void {
    this.dropCandidate(subcode);
    this.fsm.handle({ kind: 'stop', subcode });
  }

  /** Tear the session down with a NOTIFICATION (e.g. Cease 1 on max prefixes); it restarts later. */
  fail(code: number, subcode: number, reason: string, data?: Buffer): void {
    this.fsm.handle({ kind: 'error', code, subcode, data, reason });
  }

  /** Forget timers and sockets (the peer was removed after stop()). */
  dispose(): void {
    this.fsm.dispose();
    this.dropCandidate();
    this.cancelDial();
    this.conn?.destroy();
    this.conn = undefined;
  }

  /** A connection from the peer's address arrived on the listener. */
  acceptIncoming(socket: Socket): void {
    const conn = new Connection(socket, false);
    const state = this.fsm.state;
    if (this.fsm.snapshot.stopped) return this.refuse(conn, CeaseSubcode.CONNECTION_REJECTED);
    if (state === 'Idle' || state === 'Connect' || state === 'Active') {
      // a dial of ours still under way is kept: if it connects too, it becomes the candidate
      this.adopt(conn);
      this.fsm.handle({ kind: 'tcpConnected' });
      return;
    }
    this.addCandidate(conn);
  }

  /**
   * A second connection while the OPEN exchange runs on the first (RFC 4271 §6.8): send our OPEN
   * on it too and decide which one stays when the peer's OPEN arrives on it.
   */
  private addCandidate(conn: Connection): void {
    const state = this.fsm.state;
    if ((state !== 'OpenSent' && state !== 'OpenConfirm') || this.candidate) {
      return this.refuse(conn, CeaseSubcode.CONNECTION_COLLISION);
    }
    const timer = this.host.clock.setTimeout(() => this.dropCandidate(), DEFAULT_FSM_CONFIG.openHoldSec * 1000);
    this.candidate = { conn, timer };
    conn.send(this.ourOpen());
    conn.attach({
      frame: (frame) => this.onCandidateFrame(conn, frame),
      batchEnd: () => undefined,
      streamError: () => this.dropCandidate(),
      closed: () => this.dropCandidate(),
    });
  }

  private refuse(conn: Connection, subcode: CeaseSubcode): void {
    this.sendCease(conn, subcode);
    conn.close();
  }

  /** A Cease on a connection outside the FSM (refused or collision loser), reported like the FSM's. */
  private sendCease(conn: Connection, subcode: CeaseSubcode): void {
    conn.send(encodeNotification({ code: ErrorCode.CEASE, subcode }));
    this.counters.notificationsOut++;
    this.host.notification(this, { direction: 'sent', code: ErrorCode.CEASE, subcode, reason: describeNotification(ErrorCode.CEASE, subcode) });
  }

  private onCandidateFrame(conn: Connection, frame: Buffer): void {
    if (frame[18] === MessageType.NOTIFICATION) {
      const n = decodeNotification(frame);
      this.counters.notificationsIn++;
      this.host.notification(this, { direction: 'received', code: n.code, subcode: n.subcode, reason: describeNotification(n.code, n.subcode, n.data) });
    }
    if (frame[18] !== MessageType.OPEN) return this.dropCandidate();
    let open: OpenMessage;
    try {
      open = this.readOpen(frame);
    } catch (err) {
      if (err instanceof BgpError) conn.send(encodeNotification(err));
      return this.dropCandidate();
    }
    const main = this.conn;
    const state = this.fsm.state;
    const c = this.host.openConfig(this);
    if (
      !main ||
      (state !== 'OpenSent' && state !== 'OpenConfirm') ||
      collisionWinner({ routerId: c.routerId, asn: c.asn }, { routerId: open.bgpId, asn: this.session.asn }, main, conn) === 'existing'
    ) {
      return this.dropCandidate(CeaseSubcode.CONNECTION_COLLISION);
    }
    this.sendCease(main, CeaseSubcode.CONNECTION_COLLISION);
    this.switchToCandidate();
    this.acceptOpen(open);
  }

  /**
   * Carry the session on the candidate connection and close the current one (the collision was
   * resolved for the candidate, by us or by the peer). The FSM starts the OPEN exchange over
   * without counting a failure.
   */
  private switchToCandidate(): boolean {
    const cand = this.candidate;
    const state = this.fsm.state;
    if (!cand || (state !== 'OpenSent' && state !== 'OpenConfirm')) return false;
    this.candidate = undefined;
    this.host.clock.clearTimeout(cand.timer);
    const old = this.conn;
    if (old) {
      old.detach();
      old.close();
    }
    this.notified = false;
    this.adopt(cand.conn);
    this.fsm.handle({ kind: 'connectionSwitched' });
    return true;
  }

  private dropCandidate(subcode?: CeaseSubcode): void {
    const c = this.candidate;
    if (!c) return;
    this.candidate = undefined;
    this.host.clock.clearTimeout(c.timer);
    c.conn.detach();
    if (subcode !== undefined) this.sendCease(c.conn, subcode);
    c.conn.close();
  }

  private adopt(conn: Connection): void {
    this.conn = conn;
    conn.attach({
      frame: (frame) => this.onFrame(frame),
      batchEnd: () => this.host.batchEnd(),
      streamError: (err) => this.fail(err.code, err.subcode, err.message, err.data),
      closed: (reason) => {
        if (this.conn !== conn) return;
        this.conn = undefined;
        // the peer closed the connection it lost a collision on: go on with the other one
        if (this.switchToCandidate()) return;
        this.fsm.handle({ kind: 'tcpFailed', reason });
      },
    });
  }

  private cancelDial(): void {
    const s = this.dialing;
    this.dialing = undefined;
    if (s) {
      s.removeAllListeners();
      s.on('error', () => undefined);
      s.destroy();
    }
  }

  send(message: Buffer): void {
    this.counters.messagesOut++;
    this.conn?.send(message);
  }

  /** Several UPDATEs in one burst. */
  sendUpdates(messages: readonly Buffer[]): void {
    if (!this.conn || messages.length === 0) return;
    this.counters.messagesOut += messages.length;
    this.counters.updatesOut += messages.length;
    this.conn.sendAll(messages);
  }

  private ourOpen(): Buffer {
    const c = this.host.openConfig(this);
    return encodeOpen(
      buildOpen({ asn: c.asn, holdTime: this.session.holdTimeSec, bgpId: c.routerId, capabilities: localCapabilities(c) }),
    );
  }

  private readOpen(frame: Buffer): OpenMessage {
    const open = decodeOpen(frame);
    const c = this.host.openConfig(this);
    checkOpen(open, { asn: this.session.asn, localAsn: c.asn, localRouterId: c.routerId });
    return open;
  }

  private acceptOpen(open: OpenMessage): void {
    const c = this.host.openConfig(this);
    this.remoteOpen = open;
    this.negotiated = negotiate({ multiprotocol: [], routeRefresh: false, enhancedRouteRefresh: false, addPath: [], unknown: [], ...localCapabilities(c) }, open.capabilities);
    this.fsm.handle({ kind: 'openReceived', holdTimeSec: open.holdTime });
  }

  private onFrame(frame: Buffer): void {
    this.counters.messagesIn++;
    switch (frame[18]) {
      case MessageType.OPEN: {
        let open: OpenMessage;
        try {
          open = this.readOpen(frame);
        } catch (err) {
          const e = err instanceof BgpError ? err : new BgpError(ErrorCode.OPEN_MESSAGE, 0, String(err));
          return this.fail(e.code, e.subcode, e.message, e.data);
        }
        if (this.fsm.state !== 'OpenSent') return this.fsm.handle({ kind: 'openReceived', holdTimeSec: open.holdTime });
        return this.acceptOpen(open);
      }
      case MessageType.UPDATE:
        this.counters.updatesIn++;
        this.fsm.handle({ kind: 'updateReceived' });
        if (this.fsm.state === 'Established') this.host.update(this, frame);
        return;
      case MessageType.KEEPALIVE:
        return this.fsm.handle({ kind: 'keepaliveReceived' });
      case MessageType.NOTIFICATION: {
        const n = decodeNotification(frame);
        this.counters.notificationsIn++;
        this.notified = true;
        const reason = describeNotification(n.code, n.subcode, n.data);
        this.lastError = `received ${reason}`;
        this.host.notification(this, { direction: 'received', code: n.code, subcode: n.subcode, reason });
        // The peer ended this connection but has another one to us under way: the session goes
        // on there (a collision it resolved before its OPEN on the other reached us, or a
        // Connection Rejected from before it knew us, crossing its own dial to us).
        if (this.switchToCandidate()) return;
        return this.fsm.handle({ kind: 'notificationReceived', code: n.code, subcode: n.subcode });
      }
      case MessageType.ROUTE_REFRESH: {
        this.fsm.handle({ kind: 'updateReceived' });
        const rr = decodeRouteRefresh(frame);
        if (rr && this.fsm.state === 'Established') this.host.routeRefresh(this, rr);
        return;
      }
    }
  }

  private perform(a: ShellAction, ev: FsmEvent): void {
    switch (a.kind) {
      case 'connect':
        return this.dial();
      case 'close':
        this.cancelDial();
        this.dropCandidate();
        if (this.conn) {
          this.conn.detach();
          this.conn.close();
          this.conn = undefined;
        }
        return;
      case 'sendOpen':
        this.notified = false;
        return this.send(this.ourOpen());
      case 'sendKeepalive':
        return this.send(encodeKeepalive());
      case 'sendNotification': {
        this.counters.notificationsOut++;
        this.notified = true;
        const reason = ev.kind === 'error' ? ev.reason : describeNotification(a.code, a.subcode, a.data);
        this.lastError = `sent ${describeNotification(a.code, a.subcode, a.data)}${ev.kind === 'error' ? `: ${reason}` : ''}`;
        this.send(encodeNotification(a));
        this.host.notification(this, { direction: 'sent', code: a.code, subcode: a.subcode, reason });
        return;
      }
      case 'established':
        this.cancelDial(); // the session runs on the peer's connection: ours is not needed
        this.counters.establishedCount++;
        this.lastError = undefined;
        return this.host.sessionUp(this);
      case 'sessionDown': {
        const gr = this.negotiated?.peerGracefulRestart;
        this.host.sessionDown(this, a.reason, !this.notified && gr !== undefined && gr.families.length > 0);
        return;
      }
    }
  }

  private dial(): void {
    this.cancelDial();
    const socket = this.host.dial(this);
    this.dialing = socket;
    socket.once('connect', () => {
      if (this.dialing !== socket) return;
      this.dialing = undefined;
      socket.removeAllListeners('error');
      const conn = new Connection(socket, true);
      // an incoming connection got there first: ours becomes the collision candidate
      if (this.conn) return this.addCandidate(conn);
      this.adopt(conn);
      this.fsm.handle({ kind: 'tcpConnected' });
    });
    socket.once('error', (err) => {
      if (this.dialing !== socket) return;
      this.dialing = undefined;
      socket.destroy();
      if (this.conn) return; // the session runs on the peer's connection already
      this.fsm.handle({ kind: 'tcpFailed', reason: `connect to ${this.address}:${this.session.port}: ${err.message}` });
    });
  }
}
