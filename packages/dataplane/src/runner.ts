// The one door to the kernel: every `ip`, `bridge`, `iptables-*` and `sysctl` call goes through a
// CommandRunner, so tests can run it in a network namespace or record the exact commands.

export interface CommandResult {
  /** process exit code; 127 when it could not be started, -1 when it timed out */
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** written to the command's stdin (batch files, iptables-restore input) */
  input?: string;
  timeoutMs?: number;
}

export interface CommandRunner {
  /** Runs `cmd args`; never rejects for a failing command: look at exitCode/stderr. */
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<CommandResult>;
}

export interface ExecaRunnerOptions {
  /** run every command inside this network namespace (`ip netns exec NS ...`): tests and the lab */
  netns?: string;
  /** default timeout per command (10 s) */
  timeoutMs?: number;
}

/** One line for logs and reports: the command as a shell would show it. */
export function formatCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args]
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** The default runner, backed by execa, with a timeout per command. */
export class ExecaRunner implements CommandRunner {
  constructor(private readonly opts: ExecaRunnerOptions = {}) {}

  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const [file, argv] = this.opts.netns
      ? ['ip', ['netns', 'exec', this.opts.netns, cmd, ...args]]
      : [cmd, [...args]];
    const timeout = opts.timeoutMs ?? this.opts.timeoutMs ?? 10_000;
    // loaded on first use: a process that brings its own runner (the agent) never pays for execa
    const { execa } = await import('execa');
    const r = await execa(file, argv, {
      reject: false,
      timeout,
      input: opts.input ?? '',
      stripFinalNewline: false,
      maxBuffer: 256 << 20,
    });
    if (r.timedOut) return { exitCode: -1, stdout: r.stdout, stderr: `timed out after ${timeout} ms` };
    if (r.exitCode === undefined) {
      return {
        exitCode: 127,
        stdout: '',
        stderr: r.originalMessage || r.shortMessage || `${cmd} could not be started`,
      };
    }
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }
}
