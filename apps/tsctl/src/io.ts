/**
 * Where a tsctl run reads its environment and writes its output. The bin passes the real process;
 * tests pass `captureIo()` and read back stdout, stderr and the exit code of `main()`.
 */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** stdout is a terminal (colour is used only then, and only without NO_COLOR) */
  isTTY: boolean;
}

export function processIo(): Io {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    env: process.env,
    isTTY: process.stdout.isTTY === true,
  };
}

export interface CapturedIo extends Io {
  readonly stdout: string;
  readonly stderr: string;
}

/** An Io that keeps what was written, for in-process tests. */
export function captureIo(env: Record<string, string | undefined> = {}, isTTY = false): CapturedIo {
  let stdout = '';
  let stderr = '';
  return {
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    env,
    isTTY,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}
