/**
 * A lean CommandRunner on node:child_process for the plugin's hot path (a Join runs three
 * commands; execa's per-call setup is measurable at the 20 ms budget of a whole endpoint life).
 */
import { spawn } from 'node:child_process';
import type { CommandResult, CommandRunner, RunOptions } from '@tsnet/dataplane';

export class ChildProcessRunner implements CommandRunner {
  constructor(private readonly timeoutMs = 10_000) {}

  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    return new Promise((resolve) => {
      const timeout = opts.timeoutMs ?? this.timeoutMs;
      const child = spawn(cmd, args, {
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeout);
      child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', (err) => {
        clearTimeout(timer);
        resolve({ exitCode: 127, stdout: '', stderr: err.message });
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (timedOut) resolve({ exitCode: -1, stdout, stderr: `timed out after ${timeout} ms` });
        else resolve({ exitCode: code ?? -1, stdout, stderr });
      });
      if (opts.input !== undefined) child.stdin!.end(opts.input);
    });
  }
}
