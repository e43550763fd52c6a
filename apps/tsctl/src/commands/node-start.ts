/**
 * `tsctl node`: registers this host and runs the agent, in the foreground (in this process) or,
 * with --detach, as a re-executed `tsctl node` in its own session whose output goes to
 * <log-dir|run-dir>/tsnet.log; the parent relays the child's progress lines and returns once the
 * agent answers on its control socket, the child has died (with the reason from the log), or the
 * wait timed out (with the last progress line).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentHandle, AgentOptions } from '@tsnet/node';
import { AgentNotRunningError, agentProcessArgs, callAgent, controlSocketPath, type AgentStatus } from '@tsnet/node/control-api';
import { CliError } from '../errors.js';
import type { Context } from '../context.js';
import { detectIpv4 } from './detect-ip.js';

export const DEFAULT_METRICS_ADDR = '127.0.0.1:9099';
export const DEFAULT_PLUGIN_DIR = '/run/docker/plugins';
export const LOG_FILE_NAME = 'tsnet.log';

/** The validated `tsctl node` flags (addresses and AS already parsed). */
export interface NodeStartFlags {
  ip?: string;
  ip6?: string;
  asn?: number;
  libnetwork: boolean;
  logDir?: string;
  metricsAddr?: string;
  pluginDir?: string;
  detach: boolean;
  timeoutSeconds: number;
}

export async function startNode(ctx: Context, flags: NodeStartFlags): Promise<number> {
  await refuseSecondAgent(ctx.runDir);
  let ip = flags.ip;
  if (!ip) {
    ip = (await detectIpv4()).ip;
    ctx.out(`No IP provided. Using detected IP: ${ip}`);
  }
  const env = ctx.io.env;
  const opts: AgentOptions = {
    name: ctx.nodeName,
    ip,
    ...(flags.ip6 ? { ip6: flags.ip6 } : {}),
    ...(flags.asn !== undefined ? { asn: flags.asn } : {}),
    etcd: ctx.etcd,
    runDir: ctx.runDir,
    ...(flags.logDir ? { logDir: flags.logDir } : {}),
    libnetwork: flags.libnetwork,
    pluginDir: flags.pluginDir ?? env.TSNET_PLUGIN_DIR ?? DEFAULT_PLUGIN_DIR,
    metricsAddr: flags.metricsAddr ?? DEFAULT_METRICS_ADDR,
    bgpPort: env.TSNET_BGP_PORT ? Number(env.TSNET_BGP_PORT) : 179,
  };
  return flags.detach ? startDetached(ctx, opts, flags.timeoutSeconds) : runForeground(ctx, opts);
}

async function refuseSecondAgent(runDir: string): Promise<void> {
  const running = await callAgent<AgentStatus>(runDir, 'GET', '/status', undefined, 2000).catch((err: unknown) =>
    err instanceof AgentNotRunningError ? null : { pid: '?' },
  );
  if (running) {
    throw new CliError(`tsnet node is already running on ${runDir} (pid ${running.pid}); stop it first with: tsctl node stop`);
  }
}

type RunAgent = (opts: AgentOptions) => Promise<AgentHandle>;

/** apps/node's runAgent, loaded on demand so every other command works without the agent's deps. */
async function loadRunAgent(): Promise<RunAgent> {
  const mod = (await import('@tsnet/node')) as unknown as { runAgent?: RunAgent };
  if (typeof mod.runAgent !== 'function') {
    throw new CliError('this tsnet build has no node agent (@tsnet/node does not export runAgent); rebuild tsnet');
  }
  return mod.runAgent;
}

async function runForeground(ctx: Context, opts: AgentOptions): Promise<number> {
  const runAgent = await loadRunAgent();
  // Signals are ours: stop the agent, then let main() return (and close etcd) instead of exiting.
  const handle = await runAgent({ ...opts, handleSignals: false, onProgress: (line) => ctx.out(line) });
  ctx.out(`tsnet node is running (pid ${process.pid})`);
  const stop = (): void => void handle.stop();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    await handle.done;
    return 0;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}


async function startDetached(ctx: Context, opts: AgentOptions, timeoutSeconds: number): Promise<number> {
  const logDir = opts.logDir ?? opts.runDir;
  const logFile = join(logDir, LOG_FILE_NAME);
  let fd: number;
  try {
    mkdirSync(logDir, { recursive: true });
    fd = openSync(logFile, 'a');
  } catch (err) {
    throw new CliError(`cannot open the node log ${logFile}: ${(err as NodeJS.ErrnoException).code ?? err}; use --log-dir DIR or run as root`);
  }
  const logStart = statSync(logFile).size;
  const child = spawn(process.execPath, agentProcessArgs(opts), {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...ctx.io.env, NO_COLOR: '1' },
  });
  closeSync(fd);
  child.unref();
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => (exit = { code, signal }));
  child.once('error', () => (exit = { code: -1, signal: null }));

  const log = new LogFollower(logFile, logStart);
  // The newest line is held back for a second: if the child dies right after writing it, it is
  // the reason (printed once, in the error) rather than a progress line.
  let pending: { line: string; at: number } | undefined;
  const flush = (): void => {
    if (pending) ctx.out(pending.line);
    pending = undefined;
  };
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    for (const line of log.newLines()) {
      if (!isProgressLine(line)) continue;
      flush();
      pending = { line, at: Date.now() };
    }
    if (exit) {
      const why = log.lastReason() ?? 'no output';
      const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
      throw new CliError(`tsnet node exited during start (${how}): ${why} (full log: ${logFile})`);
    }
    if (pending && Date.now() - pending.at >= 1000) flush();
    const status = await callAgent<AgentStatus>(opts.runDir, 'GET', '/status', undefined, 1000).catch(() => null);
    if (status) {
      flush();
      for (const line of log.newLines()) if (isProgressLine(line)) ctx.out(line);
      ctx.out(`tsnet node is running (pid ${status.pid})`);
      return 0;
    }
    if (Date.now() >= deadline) {
      flush();
      const last = log.lastProgress ?? 'no progress reported';
      throw new CliError(
        `tsnet node (pid ${child.pid}) did not answer on ${controlSocketPath(opts.runDir)} within ${timeoutSeconds} s ` +
          `(last step: ${last}); it keeps trying in the background: see ${logFile}, or stop it with: tsctl node stop`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Agent progress lines are plain text; pino log records (JSON) stay in the log, and the parent says "running" itself. */
const isProgressLine = (line: string): boolean =>
  line.trim() !== '' && !line.startsWith('{') && !line.startsWith('tsnet node is running');

/** Reads the lines appended to a file since an offset. */
class LogFollower {
  private buffered = '';
  private readonly seen: string[] = [];
  lastProgress: string | undefined;

  constructor(
    private readonly path: string,
    private offset: number,
  ) {}

  newLines(): string[] {
    let chunk: Buffer;
    try {
      const size = statSync(this.path).size;
      if (size <= this.offset) return [];
      chunk = Buffer.alloc(size - this.offset);
      const fd = openSync(this.path, 'r');
      try {
        readSync(fd, chunk, 0, chunk.length, this.offset);
      } finally {
        closeSync(fd);
      }
      this.offset = size;
    } catch {
      return [];
    }
    const lines = (this.buffered + chunk.toString('utf8')).split('\n');
    this.buffered = lines.pop() ?? '';
    this.seen.push(...lines);
    for (const l of lines) if (isProgressLine(l)) this.lastProgress = l;
    return lines;
  }

  /** Why the child stopped: its last line (the message of a JSON log record), read after it exited. */
  lastReason(): string | undefined {
    this.newLines();
    const last = [...this.seen, this.buffered].filter((l) => l.trim() !== '').pop();
    if (!last?.startsWith('{')) return last;
    try {
      const rec = JSON.parse(last) as { msg?: string; err?: { message?: string } };
      return [rec.msg, rec.err?.message].filter(Boolean).join(': ') || last;
    } catch {
      return last;
    }
  }
}
