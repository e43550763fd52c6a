/**
 * Runs the pure FSM against a Clock: arms and clears timers, feeds their expiry back as events,
 * and hands every other action to the shell. Events raised while an action runs are queued so
 * the FSM always sees them in order (no re-entrancy).
 */
import type { Clock } from './clock.js';
import {
  fsmStep,
  initialFsmData,
  type FsmAction,
  type FsmConfig,
  type FsmData,
  type FsmEvent,
  type FsmState,
  type TimerName,
} from './fsm.js';

export type ShellAction = Exclude<FsmAction, { kind: 'setTimer' } | { kind: 'clearTimer' }>;

export class FsmDriver {
  private data: FsmData = initialFsmData();
  /** armed timers: the clock's handle and when (monotonic ms) the timer is due */
  private readonly timers = new Map<TimerName, { handle: unknown; due: number }>();
  private readonly queue: FsmEvent[] = [];
  private busy = false;

  constructor(
    readonly config: FsmConfig,
    private readonly clock: Clock,
    private readonly perform: (action: ShellAction, event: FsmEvent) => void,
    private readonly onState: (state: FsmState, previous: FsmState, event: FsmEvent) => void,
  ) {}

  get state(): FsmState {
    return this.data.state;
  }
  get snapshot(): Readonly<FsmData> {
    return this.data;
  }

  handle(ev: FsmEvent): void {
    this.queue.push(ev);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) this.run(next);
    } finally {
      this.busy = false;
    }
  }

  /** ms until each armed timer is due, soonest first (a restarted timer counts from its restart) */
  timersDue(): number[] {
    const now = this.clock.monotonic();
    return [...this.timers.values()].map((t) => t.due - now).sort((a, b) => a - b);
  }

  /** Clear every timer (the peer is being removed). */
  dispose(): void {
    for (const t of this.timers.values()) this.clock.clearTimeout(t.handle);
    this.timers.clear();
  }

  private run(ev: FsmEvent): void {
    const previous = this.data.state;
    const { data, actions } = fsmStep(this.config, this.data, ev, () => this.clock.random());
    this.data = data;
    for (const a of actions) {
      if (a.kind === 'setTimer') this.arm(a.timer, a.ms);
      else if (a.kind === 'clearTimer') this.disarm(a.timer);
      else this.perform(a, ev);
    }
    if (data.state !== previous) this.onState(data.state, previous, ev);
  }

  /**
   * Every UPDATE and KEEPALIVE restarts the hold timer: a timer already armed to fire no later
   * than the new due time is kept and only told the new one (it re-arms itself for the rest when
   * it fires early), instead of a clearTimeout and setTimeout per message on every session.
   */
  private arm(timer: TimerName, ms: number): void {
    const due = this.clock.monotonic() + ms;
    const armed = this.timers.get(timer);
    if (armed && armed.due <= due) {
      armed.due = due;
      return;
    }
    this.disarm(timer);
    this.schedule(timer, due, ms);
  }

  private schedule(timer: TimerName, due: number, ms: number): void {
    const entry = {
      due,
      handle: this.clock.setTimeout(() => {
        if (this.timers.get(timer) !== entry) return;
        const left = entry.due - this.clock.monotonic();
        if (left > 0) return this.schedule(timer, entry.due, left);
        this.timers.delete(timer);
        this.handle({ kind: 'timer', timer });
      }, ms),
    };
    this.timers.set(timer, entry);
  }

  private disarm(timer: TimerName): void {
    const t = this.timers.get(timer);
    if (t !== undefined) {
      this.clock.clearTimeout(t.handle);
      this.timers.delete(timer);
    }
  }
}
