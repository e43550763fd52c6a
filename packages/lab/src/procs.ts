/** Processes the lab leaves running after the CLI exits: started detached, stopped by PID. */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { run, sleep } from '@tsnet/testkit';

/**
 * Starts `cmd args` inside netns `ns` ('' = as given, e.g. an nsenter command line), detached,
 * output appended to logFile; returns its PID.
 */
export function spawnInNetns(
  ns: string,
  cmd: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const fd = openSync(logFile, 'a');
  try {
    // `ip netns exec` execs the command, so the PID we get is the daemon's own.
    const argv = ns ? ['ip', 'netns', 'exec', ns, cmd, ...args] : [cmd, ...args];
    const child = spawn(argv[0]!, argv.slice(1), {
      detached: true,
      stdio: ['ignore', fd, fd],
      env,
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${cmd} in ${ns}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** The command line of a live PID, or undefined when it is gone. */
async function cmdlineOf(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/**
 * Stops PID if it still runs `expect` (so a recycled PID is never touched): SIGTERM, then SIGKILL
 * after graceMs. Returns false when it was already gone.
 */
export async function stopPid(pid: number, expect: string, graceMs = 5000): Promise<boolean> {
  const cmd = await cmdlineOf(pid);
  if (!cmd || !cmd.includes(expect)) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await cmdlineOf(pid))) return true;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* exited meanwhile */
  }
  return true;
}

/** Runs a command inside netns `ns` and returns stdout (bounded). */
export function inNetns(ns: string, cmd: string, args: string[], timeoutMs = 15_000): Promise<string> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
}
