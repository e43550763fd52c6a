// Runs the reconciler on demand (coalesced) and periodically; retries sooner after errors.
import type { DataplaneInput } from './types.js';
import type { ReconcileResult } from './reconciler.js';

/** What the loop drives: a Reconciler, or anything with its `reconcile`. */
export interface Reconcilable {
  reconcile(input: DataplaneInput): Promise<ReconcileResult>;
}

export interface ReconcileLoopOptions {
  /** periodic pass for drift repair (default 30 s) */
  intervalMs?: number;
  /** first retry after a pass with kernel errors; doubles up to intervalMs (default 1 s) */
  retryMs?: number;
  onResult?: (r: ReconcileResult) => void;
  /** a pass that could not run at all (input or reading the kernel failed) */
  onError?: (err: Error) => void;
}

export class ReconcileLoop {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private stopped = true;
  private retryDelay: number;
  lastResult: ReconcileResult | undefined;

  constructor(
    private readonly reconciler: Reconcilable,
    private readonly getInput: () => DataplaneInput | Promise<DataplaneInput>,
    private readonly opts: ReconcileLoopOptions = {},
  ) {
    this.retryDelay = opts.retryMs ?? 1000;
  }

  /** Starts with an immediate pass. */
  start(): void {
    this.stopped = false;
    this.trigger();
  }

  /** Asks for a pass as soon as possible; passes never overlap, requests made meanwhile coalesce. */
  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.dirty && !this.stopped) {
        this.dirty = false;
        this.trigger();
      }
    });
  }

  /** Resolves when the current pass (if any) is done; no pass starts afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async pass(): Promise<void> {
    const interval = this.opts.intervalMs ?? 30_000;
    let next = interval;
    try {
      const result = await this.reconciler.reconcile(await this.getInput());
      this.lastResult = result;
      this.opts.onResult?.(result);
      if (result.errors.length > 0) {
        next = Math.min(this.retryDelay, interval);
        this.retryDelay = Math.min(this.retryDelay * 2, interval);
      } else this.retryDelay = this.opts.retryMs ?? 1000;
    } catch (err) {
      this.opts.onError?.(err as Error);
      next = Math.min(this.retryDelay, interval);
      this.retryDelay = Math.min(this.retryDelay * 2, interval);
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => this.trigger(), next);
      this.timer.unref?.();
    }
  }
}
