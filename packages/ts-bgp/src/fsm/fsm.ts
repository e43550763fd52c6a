/**
 * The BGP finite state machine of RFC 4271 §8 as a pure function: `fsmStep(config, data, event,
 * random)` returns the next data and the actions the shell must perform (open/close the TCP
 * connection, send messages, arm or clear timers). No sockets, no clocks: timers are actions and
 * their expiry is an event, so every transition is testable with plain values.
 */
import { CeaseSubcode, ErrorCode } from '../types.js';

export type FsmState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';
export type TimerName = 'connectRetry' | 'hold' | 'keepalive' | 'idleHold';

export interface FsmConfig {
  /** never initiate a connection; wait for the peer (Active) */
  passive: boolean;
  /** the hold time we offer in OPEN (0 or >= 3) */
  holdTimeSec: number;
  /** first ConnectRetry / idle-hold delay; doubled per failure up to connectRetryMaxSec */
  connectRetrySec: number;
  connectRetryMaxSec: number;
  /** the "large value" of the hold timer while waiting for OPEN (RFC 4271 suggests 4 minutes) */
  openHoldSec: number;
}

export const DEFAULT_FSM_CONFIG: FsmConfig = {
  passive: false,
  holdTimeSec: 90,
  connectRetrySec: 5,
  connectRetryMaxSec: 120,
  openHoldSec: 240,
};

export interface FsmData {
  state: FsmState;
  /** consecutive failures since the last Established; drives the backoff */
  connectRetryCounter: number;
  /** hold time and keepalive interval agreed in OPEN (seconds; 0 = no timers) */
  holdTimeSec: number;
  keepaliveSec: number;
  /** set by a manual stop: no automatic restart until the next start event */
  stopped: boolean;
}

export const initialFsmData = (): FsmData => ({
  state: 'Idle',
  connectRetryCounter: 0,
  holdTimeSec: 0,
  keepaliveSec: 0,
  stopped: true,
});

export type FsmEvent =
  | { kind: 'start' }
  /** administrative stop (RFC 4486 Cease subcode); no automatic restart */
  | { kind: 'stop'; subcode: CeaseSubcode }
  /** a TCP connection to the peer is up (ours or theirs) */
  | { kind: 'tcpConnected' }
  /**
   * Collision resolution (RFC 4271 §6.8) moved the session to the other connection to the peer,
   * on which our OPEN is already sent and the peer's is awaited (a peer's OPEN that came with it
   * follows as its own openReceived).
   */
  | { kind: 'connectionSwitched' }
  /** connecting failed or the connection closed */
  | { kind: 'tcpFailed'; reason: string }
  /** a valid OPEN arrived (already checked by the shell) */
  | { kind: 'openReceived'; holdTimeSec: number }
  | { kind: 'keepaliveReceived' }
  /** UPDATE or ROUTE-REFRESH: both restart the hold timer */
  | { kind: 'updateReceived' }
  | { kind: 'notificationReceived'; code: number; subcode: number }
  /** we must tear the session down with this NOTIFICATION (bad message, bad OPEN, max prefix) */
  | { kind: 'error'; code: number; subcode: number; data?: Buffer; reason: string }
  | { kind: 'timer'; timer: TimerName };

export type FsmAction =
  | { kind: 'connect' }
  | { kind: 'close' }
  | { kind: 'sendOpen' }
  | { kind: 'sendKeepalive' }
  | { kind: 'sendNotification'; code: number; subcode: number; data?: Buffer }
  | { kind: 'setTimer'; timer: TimerName; ms: number }
  | { kind: 'clearTimer'; timer: TimerName }
  | { kind: 'established' }
  /** the session left Established (routes of the peer must be flushed or marked stale) */
  | { kind: 'sessionDown'; reason: string };

export interface FsmResult {
  data: FsmData;
  actions: FsmAction[];
}

/** RFC 4271 §10: jitter timers by a factor in [0.75, 1.0]. */
export const jitter = (ms: number, random: () => number): number => Math.round(ms * (0.75 + 0.25 * random()));

/** Exponential backoff of ConnectRetry / idle hold: base * 2^(failures-1), capped, jittered. */
export function backoffMs(cfg: FsmConfig, failures: number, random: () => number): number {
  const exp = Math.min(Math.max(failures - 1, 0), 16);
  return jitter(Math.min(cfg.connectRetrySec * 2 ** exp, cfg.connectRetryMaxSec) * 1000, random);
}

/** Negotiated hold time is the smaller offer; keepalive is a third of it (RFC 4271 §4.2, §10). */
export function negotiateHold(ours: number, theirs: number): { holdTimeSec: number; keepaliveSec: number } {
  const holdTimeSec = Math.min(ours, theirs);
  return { holdTimeSec, keepaliveSec: Math.floor(holdTimeSec / 3) };
}

const ALL_TIMERS: TimerName[] = ['connectRetry', 'hold', 'keepalive', 'idleHold'];

export function fsmStep(cfg: FsmConfig, data: FsmData, ev: FsmEvent, random: () => number): FsmResult {
  const actions: FsmAction[] = [];
  const d: FsmData = { ...data };
  const wasEstablished = data.state === 'Established';

  const clearAll = (): void => {
    for (const t of ALL_TIMERS) actions.push({ kind: 'clearTimer', timer: t });
  };
  /**
   * Leave the session: clear timers, close the connection, go Idle and (unless stopped) retry
   * later. `failure` false: the end is not the session's fault (the peer resolved a connection
   * collision against this connection), so the backoff does not grow.
   */
  const toIdle = (reason: string, notify?: { code: number; subcode: number; data?: Buffer }, failure = true): FsmResult => {
    if (notify) actions.push({ kind: 'sendNotification', ...notify });
    clearAll();
    if (d.state !== 'Idle') actions.push({ kind: 'close' });
    if (wasEstablished) actions.push({ kind: 'sessionDown', reason });
    d.state = 'Idle';
    d.holdTimeSec = 0;
    d.keepaliveSec = 0;
    if (!d.stopped) {
      if (failure) d.connectRetryCounter += 1;
      actions.push({ kind: 'setTimer', timer: 'idleHold', ms: backoffMs(cfg, d.connectRetryCounter, random) });
    }
    return { data: d, actions };
  };
  const startConnecting = (): FsmResult => {
    d.stopped = false;
    actions.push({ kind: 'setTimer', timer: 'connectRetry', ms: backoffMs(cfg, d.connectRetryCounter, random) });
    if (cfg.passive) {
      d.state = 'Active';
    } else {
      d.state = 'Connect';
      actions.push({ kind: 'connect' });
    }
    return { data: d, actions };
  };
  const fsmError = (what: string): FsmResult =>
    toIdle(`unexpected ${what} in ${d.state}`, { code: ErrorCode.FSM, subcode: fsmSubcode(d.state) });
  const restartHold = (): void => {
    if (d.holdTimeSec > 0) actions.push({ kind: 'setTimer', timer: 'hold', ms: d.holdTimeSec * 1000 });
  };

  switch (ev.kind) {
    case 'start':
      if (d.state !== 'Idle') return { data: d, actions };
      actions.push({ kind: 'clearTimer', timer: 'idleHold' });
      return startConnecting();
    case 'stop': {
      const wasIdle = d.state === 'Idle';
      d.stopped = true;
      d.connectRetryCounter = 0;
      const connected = d.state === 'OpenSent' || d.state === 'OpenConfirm' || d.state === 'Established';
      if (wasIdle) {
        clearAll();
        return { data: d, actions };
      }
      return toIdle('administratively stopped', connected ? { code: ErrorCode.CEASE, subcode: ev.subcode } : undefined);
    }
    case 'timer':
      return onTimer(ev.timer);
    case 'tcpConnected':
      if (d.state === 'Connect' || d.state === 'Active') {
        actions.push({ kind: 'clearTimer', timer: 'connectRetry' });
        actions.push({ kind: 'sendOpen' });
        actions.push({ kind: 'setTimer', timer: 'hold', ms: cfg.openHoldSec * 1000 });
        d.state = 'OpenSent';
        return { data: d, actions };
      }
      if (d.state === 'Idle' && !d.stopped) {
        // Waiting out the idle hold, we still take the peer's connection (only the shell's
        // listener produces tcpConnected in Idle). A deliberate departure from RFC 4271 §8.2.2,
        // whose Idle refuses connections: the idle hold damps our own dialling, and the peer's
        // dial is backed off on its side. Refusing it as well makes both sides sit out their
        // backoffs, e.g. after a Connection Rejected from a peer that did not know us yet and now
        // dials us (a mesh of agents learning of each other at different times).
        actions.push({ kind: 'clearTimer', timer: 'idleHold' });
        actions.push({ kind: 'sendOpen' });
        actions.push({ kind: 'setTimer', timer: 'hold', ms: cfg.openHoldSec * 1000 });
        d.state = 'OpenSent';
        return { data: d, actions };
      }
      // stopped refuses; later states already have a connection (collisions are the shell's job)
      actions.push({ kind: 'close' });
      return { data: d, actions };
    case 'connectionSwitched':
      // not a failure: the OPEN exchange starts over on the surviving connection, no backoff
      if (d.state !== 'OpenSent' && d.state !== 'OpenConfirm') return { data: d, actions };
      actions.push({ kind: 'clearTimer', timer: 'keepalive' });
      actions.push({ kind: 'setTimer', timer: 'hold', ms: cfg.openHoldSec * 1000 });
      d.state = 'OpenSent';
      d.holdTimeSec = 0;
      d.keepaliveSec = 0;
      return { data: d, actions };
    case 'tcpFailed':
      if (d.state === 'Connect' || d.state === 'Active') {
        // stay willing to connect: wait out ConnectRetry in Active (RFC 4271 §8.2.2, Connect state)
        d.connectRetryCounter += 1;
        actions.push({ kind: 'setTimer', timer: 'connectRetry', ms: backoffMs(cfg, d.connectRetryCounter, random) });
        d.state = 'Active';
        return { data: d, actions };
      }
      if (d.state === 'Idle') return { data: d, actions };
      return toIdle(ev.reason);
    case 'openReceived': {
      if (d.state !== 'OpenSent') return fsmError('OPEN');
      const n = negotiateHold(cfg.holdTimeSec, ev.holdTimeSec);
      d.holdTimeSec = n.holdTimeSec;
      d.keepaliveSec = n.keepaliveSec;
      actions.push({ kind: 'sendKeepalive' });
      if (d.holdTimeSec > 0) {
        restartHold();
        actions.push({ kind: 'setTimer', timer: 'keepalive', ms: jitter(d.keepaliveSec * 1000, random) });
      } else {
        actions.push({ kind: 'clearTimer', timer: 'hold' });
      }
      d.state = 'OpenConfirm';
      return { data: d, actions };
    }
    case 'keepaliveReceived':
      if (d.state === 'OpenConfirm') {
        restartHold();
        d.state = 'Established';
        d.connectRetryCounter = 0;
        actions.push({ kind: 'established' });
        return { data: d, actions };
      }
      if (d.state === 'Established') {
        restartHold();
        return { data: d, actions };
      }
      return fsmError('KEEPALIVE');
    case 'updateReceived':
      if (d.state === 'Established') {
        restartHold();
        return { data: d, actions };
      }
      return fsmError('UPDATE');
    case 'notificationReceived':
      if (d.state === 'Idle') return { data: d, actions };
      // Cease / Connection Collision Resolution: the peer keeps another connection to us (RFC
      // 4271 §6.8); the session goes on there, so this is not a failure to back off from
      return toIdle(`peer sent NOTIFICATION ${ev.code}/${ev.subcode}`, undefined, !isCollisionCease(ev.code, ev.subcode));
    case 'error':
      if (d.state === 'Idle') return { data: d, actions };
      if (d.state === 'Connect' || d.state === 'Active') return toIdle(ev.reason);
      return toIdle(ev.reason, { code: ev.code, subcode: ev.subcode, data: ev.data });
  }

  function onTimer(timer: TimerName): FsmResult {
    switch (timer) {
      case 'idleHold':
        if (d.state !== 'Idle' || d.stopped) return { data: d, actions };
        return startConnecting();
      case 'connectRetry':
        if (d.state === 'Connect') {
          // the attempt took too long: drop it and try again
          actions.push({ kind: 'close' });
          actions.push({ kind: 'connect' });
          actions.push({ kind: 'setTimer', timer: 'connectRetry', ms: backoffMs(cfg, d.connectRetryCounter, random) });
          return { data: d, actions };
        }
        if (d.state === 'Active') {
          actions.push({ kind: 'setTimer', timer: 'connectRetry', ms: backoffMs(cfg, d.connectRetryCounter, random) });
          if (!cfg.passive) {
            actions.push({ kind: 'connect' });
            d.state = 'Connect';
          }
          return { data: d, actions };
        }
        return { data: d, actions };
      case 'hold':
        if (d.state === 'OpenSent' || d.state === 'OpenConfirm' || d.state === 'Established') {
          return toIdle('hold timer expired', { code: ErrorCode.HOLD_TIMER_EXPIRED, subcode: 0 });
        }
        return { data: d, actions };
      case 'keepalive':
        if ((d.state === 'OpenConfirm' || d.state === 'Established') && d.keepaliveSec > 0) {
          actions.push({ kind: 'sendKeepalive' });
          actions.push({ kind: 'setTimer', timer: 'keepalive', ms: jitter(d.keepaliveSec * 1000, random) });
        }
        return { data: d, actions };
    }
  }
}

const isCollisionCease = (code: number, subcode: number): boolean =>
  code === ErrorCode.CEASE && subcode === CeaseSubcode.CONNECTION_COLLISION;

/** RFC 6608 FSM error subcodes: which state received the unexpected message. */
function fsmSubcode(state: FsmState): number {
  return state === 'OpenSent' ? 1 : state === 'OpenConfirm' ? 2 : state === 'Established' ? 3 : 0;
}
