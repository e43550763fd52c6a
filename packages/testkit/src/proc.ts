import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

/** A child process started by a test, stopped by its own PID (never by name). */
export class TrackedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private done = false;

  constructor(
    readonly label: string,
    cmd: string,
    args: string[],
    opts: SpawnOptions & { logFile?: string } = {},
  ) {
    let fd: number | undefined;
    const stdio: SpawnOptions['stdio'] =
      opts.stdio ?? (opts.logFile ? ['ignore', (fd = openSync(opts.logFile, 'a')), fd] : 'ignore');
    this.child = spawn(cmd, args, { ...opts, stdio });
    if (fd !== undefined) closeSync(fd);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.done = true;
        resolve(code ?? (signal ? -1 : null));
      });
      this.child.once('error', () => {
        this.done = true;
        resolve(-1);
      });
    });
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
  get running(): boolean {
    return !this.done;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.done) this.child.kill(sig);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.done) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

const live = new Set<TrackedProcess>();

/** Last-resort cleanup: a test process that exits kills what it started (by PID). */
process.once('exit', () => {
  for (const p of live) p.signal('SIGKILL');
});
