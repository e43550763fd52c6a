/**
 * A long-lived `ip -force -batch -` (or `bridge -force -batch -`): dataplane changes are written
 * to its stdin, so a change costs a pipe write instead of a process start. After each batch a
 * marker command (one that always prints, and the only one that does) tells that the batch is
 * done; the tool writes "Command failed" to stderr for each failing line before it gets there.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export type BatchTool = 'ip' | 'bridge';

const MARKERS: Record<BatchTool, { command: string; output: RegExp }> = {
  ip: { command: 'link show dev lo', output: /(^|\n)\d+: lo:/ },
  // prints its header even for a device that is no bridge port
  bridge: { command: 'vlan show dev lo', output: /(^|\n)port\s+vlan-id/ },
};

export class IpBatchSession {
  private proc: ChildProcessWithoutNullStreams | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private out = '';
  private err = '';
  private waiter: (() => void) | undefined;
  private closed = false;

  /** `netns`: run in that named namespace (`-n`/`ip netns exec`), for tests; default: our own. */
  constructor(
    private readonly netns?: string,
    private readonly timeoutMs = 5000,
    readonly tool: BatchTool = 'ip',
  ) {}

  /** Applies `lines`; resolves with the error text ('' when every line succeeded). */
  run(lines: string[]): Promise<string> {
    const next = this.queue.then(() => this.runNow(lines));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private start(): ChildProcessWithoutNullStreams {
    const ns = this.netns ? ['-n', this.netns] : [];
    const p = spawn(this.tool, [...ns, '-force', '-batch', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    p.stdout.setEncoding('utf8');
    p.stderr.setEncoding('utf8');
    p.stdout.on('data', (d: string) => {
      this.out += d;
      if (MARKERS[this.tool].output.test(this.out)) this.waiter?.();
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
    if (this.closed) return Promise.resolve(`${this.tool} batch session closed`);
    this.proc ??= this.start();
    const p = this.proc;
    this.out = '';
    this.err = '';
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        p.kill('SIGKILL');
        finish(`${this.tool} -batch did not answer within ${this.timeoutMs} ms`);
      }, this.timeoutMs);
      const finish = (error?: string): void => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(error ?? this.errors());
      };
      // stderr of the batch is written before the marker's stdout: read it in the same turn
      this.waiter = () => setImmediate(() => finish(this.proc === p ? undefined : `${this.tool} -batch exited`));
      p.stdin.write(`${lines.join('\n')}\n${MARKERS[this.tool].command}\n`);
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
