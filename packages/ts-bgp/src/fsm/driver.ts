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
  private readonly timers = new Map<TimerName, unknown>();
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

  /** Clear every timer (the peer is being removed). */
  dispose(): void {
    for (const h of this.timers.values()) this.clock.clearTimeout(h);
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

  private arm(timer: TimerName, ms: number): void {
    this.disarm(timer);
    this.timers.set(
      timer,
      this.clock.setTimeout(() => {
        this.timers.delete(timer);
        this.handle({ kind: 'timer', timer });
      }, ms),
    );
  }

  private disarm(timer: TimerName): void {
    const h = this.timers.get(timer);
    if (h !== undefined) {
      this.clock.clearTimeout(h);
      this.timers.delete(timer);
    }
  }
}
