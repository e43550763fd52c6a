import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from './clock.js';
import { FsmDriver, type ShellAction } from './driver.js';
import { DEFAULT_FSM_CONFIG, backoffMs, fsmStep, initialFsmData, jitter, negotiateHold, type FsmConfig } from './fsm.js';

function rig(over: Partial<FsmConfig> = {}) {
  const clock = new FakeClock();
  const done: ShellAction[] = [];
  const states: string[] = [];
  const fsm = new FsmDriver(
    { ...DEFAULT_FSM_CONFIG, holdTimeSec: 9, connectRetrySec: 2, connectRetryMaxSec: 16, ...over },
    clock,
    (a) => done.push(a),
    (s, prev) => states.push(`${prev}->${s}`),
  );
  const kinds = () => done.splice(0).map((a) => (a.kind === 'sendNotification' ? `notify ${a.code}/${a.subcode}` : a.kind));
  return { clock, fsm, kinds, states };
}

function establish(r: ReturnType<typeof rig>, peerHold = 9) {
  r.fsm.handle({ kind: 'start' });
  r.fsm.handle({ kind: 'tcpConnected' });
  r.fsm.handle({ kind: 'openReceived', holdTimeSec: peerHold });
  r.fsm.handle({ kind: 'keepaliveReceived' });
  assert.equal(r.fsm.state, 'Established');
  r.kinds();
}

/** Still Established 1 ms before `ms` from now, then the hold timer expires. */
function expectHoldExpiryIn(r: ReturnType<typeof rig>, ms: number) {
  r.clock.advance(ms - 1);
  assert.equal(r.fsm.state, 'Established');
  r.kinds();
  r.clock.advance(1);
  assert.equal(r.fsm.state, 'Idle');
  assert.deepEqual(r.kinds(), ['notify 4/0', 'close', 'sessionDown']);
}

describe('fsm', () => {
  test('active start walks Idle → Connect → OpenSent → OpenConfirm → Established', () => {
    const r = rig();
    r.fsm.handle({ kind: 'start' });
    assert.deepEqual(r.kinds(), ['connect']);
    r.fsm.handle({ kind: 'tcpConnected' });
    assert.deepEqual(r.kinds(), ['sendOpen']);
    r.fsm.handle({ kind: 'openReceived', holdTimeSec: 30 });
    assert.deepEqual(r.kinds(), ['sendKeepalive']);
    r.fsm.handle({ kind: 'keepaliveReceived' });
    assert.deepEqual(r.kinds(), ['established']);
    assert.deepEqual(r.states, ['Idle->Connect', 'Connect->OpenSent', 'OpenSent->OpenConfirm', 'OpenConfirm->Established']);
    assert.equal(r.fsm.snapshot.holdTimeSec, 9, 'negotiated hold is the smaller offer');
    assert.equal(r.fsm.snapshot.keepaliveSec, 3);
  });

  test('passive peer waits in Active and never connects', () => {
    const r = rig({ passive: true });
    r.fsm.handle({ kind: 'start' });
    assert.equal(r.fsm.state, 'Active');
    r.clock.advance(60_000);
    assert.equal(r.fsm.state, 'Active');
    assert.deepEqual(r.kinds(), []);
    r.fsm.handle({ kind: 'tcpConnected' });
    assert.equal(r.fsm.state, 'OpenSent');
  });

  test('failed connect goes Active, then retries with exponential backoff', () => {
    const r = rig();
    r.fsm.handle({ kind: 'start' });
    r.kinds();
    r.fsm.handle({ kind: 'tcpFailed', reason: 'refused' });
    assert.equal(r.fsm.state, 'Active');
    assert.deepEqual(r.fsm.timersDue(), [2000], 'first retry after the base delay');
    r.clock.advance(2000);
    assert.equal(r.fsm.state, 'Connect');
    assert.deepEqual(r.kinds(), ['connect']);
    r.fsm.handle({ kind: 'tcpFailed', reason: 'refused' });
    assert.deepEqual(r.fsm.timersDue(), [4000], 'doubled after the second failure');
    r.clock.advance(4000);
    r.fsm.handle({ kind: 'tcpFailed', reason: 'refused' });
    r.clock.advance(8000);
    r.fsm.handle({ kind: 'tcpFailed', reason: 'refused' });
    r.clock.advance(16_000);
    r.fsm.handle({ kind: 'tcpFailed', reason: 'refused' });
    assert.deepEqual(r.fsm.timersDue(), [16_000], 'capped at connectRetryMaxSec');
  });

  test('backoff is capped and jittered between 0.75 and 1.0', () => {
    const cfg = { ...DEFAULT_FSM_CONFIG, connectRetrySec: 5, connectRetryMaxSec: 120 };
    assert.equal(backoffMs(cfg, 1, () => 0.9999999), 5000);
    assert.equal(backoffMs(cfg, 10, () => 0.9999999), 120_000);
    assert.equal(backoffMs(cfg, 1, () => 0), 3750);
    assert.equal(jitter(1000, () => 0.5), 875);
  });

  test('hold timer expiry sends NOTIFICATION 4 and drops the session', () => {
    const r = rig();
    establish(r);
    r.clock.advance(8_999);
    assert.equal(r.fsm.state, 'Established');
    r.fsm.handle({ kind: 'keepaliveReceived' }); // restarts the hold timer
    expectHoldExpiryIn(r, 9_000);
  });

  test('UPDATEs restart the hold timer without a new clock timer each; expiry is hold after the last', () => {
    const r = rig();
    establish(r);
    const timers = r.clock.pending().length;
    for (let i = 0; i < 10; i++) {
      r.clock.advance(1_000);
      r.fsm.handle({ kind: 'updateReceived' });
    }
    assert.equal(r.clock.pending().length, timers, 'no timer per message');
    // keepalives we send do not count: only what the peer sends restarts the hold timer
    expectHoldExpiryIn(r, 9_000);
  });

  test('keepalives go out every hold/3 while Established', () => {
    const r = rig();
    establish(r);
    r.clock.advance(3000);
    r.fsm.handle({ kind: 'keepaliveReceived' });
    r.clock.advance(3000);
    assert.deepEqual(r.kinds(), ['sendKeepalive', 'sendKeepalive']);
  });

  test('hold time 0 disables hold and keepalive timers', () => {
    const r = rig({ holdTimeSec: 0 });
    establish(r, 90);
    r.clock.advance(3_600_000);
    assert.equal(r.fsm.state, 'Established');
    assert.deepEqual(r.kinds(), []);
  });

  test('OPEN hold timer (4 min) bounds a peer that never answers', () => {
    const r = rig();
    r.fsm.handle({ kind: 'start' });
    r.fsm.handle({ kind: 'tcpConnected' });
    r.kinds();
    r.clock.advance(240_000);
    assert.equal(r.fsm.state, 'Idle');
    assert.deepEqual(r.kinds(), ['notify 4/0', 'close']);
  });

  test('admin stop sends Cease with the given subcode and does not restart', () => {
    const r = rig();
    establish(r);
    r.fsm.handle({ kind: 'stop', subcode: 3 });
    assert.deepEqual(r.kinds(), ['notify 6/3', 'close', 'sessionDown']);
    r.clock.advance(600_000);
    assert.equal(r.fsm.state, 'Idle');
    assert.deepEqual(r.kinds(), []);
  });

  test('after an error the peer restarts automatically after the idle hold', () => {
    const r = rig();
    establish(r);
    r.fsm.handle({ kind: 'notificationReceived', code: 6, subcode: 2 });
    assert.deepEqual(r.kinds(), ['close', 'sessionDown']);
    assert.equal(r.fsm.state, 'Idle');
    r.clock.advance(2000);
    assert.equal(r.fsm.state, 'Connect');
    assert.deepEqual(r.kinds(), ['connect']);
  });

  test('a bad OPEN is answered with its NOTIFICATION', () => {
    const r = rig();
    r.fsm.handle({ kind: 'start' });
    r.fsm.handle({ kind: 'tcpConnected' });
    r.kinds();
    r.fsm.handle({ kind: 'error', code: 2, subcode: 2, reason: 'bad peer AS' });
    assert.deepEqual(r.kinds(), ['notify 2/2', 'close']);
    assert.equal(r.fsm.state, 'Idle');
  });

  test('UPDATE before Established is an FSM error (RFC 6608 subcode)', () => {
    const r = rig();
    r.fsm.handle({ kind: 'start' });
    r.fsm.handle({ kind: 'tcpConnected' });
    r.fsm.handle({ kind: 'openReceived', holdTimeSec: 9 });
    r.kinds();
    r.fsm.handle({ kind: 'updateReceived' });
    assert.deepEqual(r.kinds(), ['notify 5/2', 'close']);
  });

  test('connection lost while Established reports sessionDown', () => {
    const r = rig();
    establish(r);
    r.fsm.handle({ kind: 'tcpFailed', reason: 'reset' });
    assert.deepEqual(r.kinds(), ['close', 'sessionDown']);
  });

  test('Idle takes the peer\'s connection while waiting out the idle hold (no dial of its own)', () => {
    const r = rig();
    r.fsm.handle({ kind: 'start' });
    r.fsm.handle({ kind: 'tcpConnected' });
    r.fsm.handle({ kind: 'notificationReceived', code: 6, subcode: 5 }); // Connection Rejected
    assert.equal(r.fsm.state, 'Idle');
    assert.deepEqual(r.fsm.timersDue(), [2000], 'idle hold armed');
    r.kinds();
    r.fsm.handle({ kind: 'tcpConnected' });
    assert.equal(r.fsm.state, 'OpenSent');
    assert.deepEqual(r.kinds(), ['sendOpen']);
    assert.deepEqual(r.fsm.timersDue(), [240_000], 'idle hold cleared, only the OPEN hold timer runs');
    r.fsm.handle({ kind: 'openReceived', holdTimeSec: 9 });
    r.fsm.handle({ kind: 'keepaliveReceived' });
    assert.equal(r.fsm.state, 'Established');
  });

  test('a stopped peer refuses a connection', () => {
    const r = rig();
    r.fsm.handle({ kind: 'tcpConnected' });
    assert.equal(r.fsm.state, 'Idle');
    assert.deepEqual(r.kinds(), ['close']);
  });

  test('Cease 6/7 (collision resolved by the peer) does not grow the backoff; other failures do', () => {
    const r = rig();
    r.fsm.handle({ kind: 'start' });
    r.fsm.handle({ kind: 'tcpFailed', reason: 'refused' }); // counter 1
    r.clock.advance(2000);
    r.fsm.handle({ kind: 'tcpConnected' });
    r.fsm.handle({ kind: 'notificationReceived', code: 6, subcode: 7 });
    assert.equal(r.fsm.state, 'Idle');
    assert.equal(r.fsm.snapshot.connectRetryCounter, 1);
    assert.deepEqual(r.fsm.timersDue(), [2000], 'idle hold stays at the current backoff');
    r.clock.advance(2000);
    r.fsm.handle({ kind: 'tcpConnected' });
    r.fsm.handle({ kind: 'notificationReceived', code: 6, subcode: 5 });
    assert.equal(r.fsm.snapshot.connectRetryCounter, 2);
    assert.deepEqual(r.fsm.timersDue(), [4000], 'a rejection is a failure: doubled');
  });

  test('connectionSwitched restarts the OPEN exchange on the surviving connection, not a failure', () => {
    const r = rig();
    r.fsm.handle({ kind: 'start' });
    r.fsm.handle({ kind: 'tcpConnected' });
    r.fsm.handle({ kind: 'openReceived', holdTimeSec: 9 });
    assert.equal(r.fsm.state, 'OpenConfirm');
    r.kinds();
    r.fsm.handle({ kind: 'connectionSwitched' });
    assert.equal(r.fsm.state, 'OpenSent');
    assert.deepEqual(r.kinds(), [], 'no NOTIFICATION, no close, no second OPEN (already sent on the new connection)');
    assert.deepEqual(r.fsm.timersDue(), [240_000], 'keepalive timer cleared, OPEN hold timer armed');
    assert.equal(r.fsm.snapshot.connectRetryCounter, 0);
    // the peer's OPEN on the new connection, then its KEEPALIVE
    r.fsm.handle({ kind: 'openReceived', holdTimeSec: 6 });
    assert.deepEqual(r.kinds(), ['sendKeepalive']);
    assert.equal(r.fsm.snapshot.holdTimeSec, 6, 'negotiated again from the new OPEN');
    r.fsm.handle({ kind: 'keepaliveReceived' });
    assert.equal(r.fsm.state, 'Established');
    assert.deepEqual(r.states, ['Idle->Connect', 'Connect->OpenSent', 'OpenSent->OpenConfirm', 'OpenConfirm->OpenSent', 'OpenSent->OpenConfirm', 'OpenConfirm->Established']);
  });

  test('connectionSwitched outside the OPEN exchange changes nothing', () => {
    const r = rig();
    establish(r);
    r.fsm.handle({ kind: 'connectionSwitched' });
    assert.equal(r.fsm.state, 'Established');
    assert.deepEqual(r.kinds(), []);
  });

  test('pure step does not mutate its input', () => {
    const d = initialFsmData();
    const out = fsmStep(DEFAULT_FSM_CONFIG, d, { kind: 'start' }, () => 0.5);
    assert.equal(d.state, 'Idle');
    assert.equal(out.data.state, 'Connect');
  });

  test('negotiateHold', () => {
    assert.deepEqual(negotiateHold(90, 180), { holdTimeSec: 90, keepaliveSec: 30 });
    assert.deepEqual(negotiateHold(90, 0), { holdTimeSec: 0, keepaliveSec: 0 });
  });
});
