/**
 * A CommandRunner on node:child_process directly: the agent runs a command per route change, and
 * execa's per-call work (about 3 ms here) is most of that. Same contract as the dataplane's
 * ExecaRunner: never rejects; 127 when the command cannot start, -1 when it timed out.
 */
import { execFile } from 'node:child_process';
import type { CommandResult, CommandRunner, RunOptions } from '@tsnet/dataplane';

export class SpawnRunner implements CommandRunner {
  constructor(private readonly timeoutMs = 10_000) {}

  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const timeout = opts.timeoutMs ?? this.timeoutMs;
    return new Promise((resolve) => {
      const child = execFile(cmd, [...args], { timeout, maxBuffer: 256 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (!err) return resolve({ exitCode: 0, stdout, stderr });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
        if (e.killed) return resolve({ exitCode: -1, stdout, stderr: `timed out after ${timeout} ms` });
        if (typeof e.code === 'number') return resolve({ exitCode: e.code, stdout, stderr });
        resolve({ exitCode: 127, stdout: '', stderr: `${cmd} could not be started: ${e.message}` });
      });
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(opts.input ?? '');
    });
  }
}
