/**
 * A long-lived `ip -force -batch -`: route changes are written to its stdin, so a change costs a
 * pipe write instead of a process start. After each batch a marker command (`link show dev lo`,
 * the only command that prints) tells that the batch is done; `ip` writes "Command failed" to
 * stderr for each failing line before it gets there.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

const MARKER = 'link show dev lo';
const MARKER_OUTPUT = /(^|\n)\d+: lo:/;

export class IpBatchSession {
  private proc: ChildProcessWithoutNullStreams | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private out = '';
  private err = '';
  private waiter: (() => void) | undefined;
  private closed = false;

  /** `netns`: run in that named namespace (`ip -n`), for tests; default: our own. */
  constructor(
    private readonly netns?: string,
    private readonly timeoutMs = 5000,
  ) {}

  /** Applies `lines`; resolves with the error text ('' when every line succeeded). */
  run(lines: string[]): Promise<string> {
    const next = this.queue.then(() => this.runNow(lines));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private start(): ChildProcessWithoutNullStreams {
    const ns = this.netns ? ['-n', this.netns] : [];
    const p = spawn('ip', [...ns, '-force', '-batch', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    p.stdout.setEncoding('utf8');
    p.stderr.setEncoding('utf8');
    p.stdout.on('data', (d: string) => {
      this.out += d;
      if (MARKER_OUTPUT.test(this.out)) this.waiter?.();
    });
    p.stderr.on('data', (d: string) => (this.err += d));
    p.stdin.on('error', () => undefined);
    p.on('error', () => undefined);
    p.on('exit', () => {
      if (this.proc === p) this.proc = undefined;
      this.waiter?.();
    });
    return p;
  }

  private runNow(lines: string[]): Promise<string> {
    if (this.closed) return Promise.resolve('ip batch session closed');
    this.proc ??= this.start();
    const p = this.proc;
    this.out = '';
    this.err = '';
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        p.kill('SIGKILL');
        finish(`ip -batch did not answer within ${this.timeoutMs} ms`);
      }, this.timeoutMs);
      const finish = (error?: string): void => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(error ?? this.errors());
      };
      // stderr of the batch is written before the marker's stdout: read it in the same turn
      this.waiter = () => setImmediate(() => finish(this.proc === p ? undefined : 'ip -batch exited'));
      p.stdin.write(`${lines.join('\n')}\n${MARKER}\n`);
    });
  }

  private errors(): string {
    return /Command failed/.test(this.err) ? this.err.trim() : '';
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const p = this.proc;
    this.proc = undefined;
    if (!p) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.stdin.end();
      setTimeout(() => p.kill('SIGKILL'), 1000).unref();
    });
  }
}
