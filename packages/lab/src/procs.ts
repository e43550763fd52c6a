/** Processes the lab leaves running after the CLI exits: started detached, stopped by PID. */
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { sleep } from '@tsnet/testkit';
import { LabError } from './errors.js';

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

/** Runs [cmd, ...args] in a netns ('' = here) with env; the tsctl bin runs under this node. */
export function inNetnsEnv(ns: string, argv: string[], env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<string> {
  const cmd = argv[0]!.endsWith('.js') ? [process.execPath, ...argv] : argv;
  const full = ns ? ['ip', 'netns', 'exec', ns, ...cmd] : cmd;
  return new Promise((resolve, reject) => {
    execFile(full[0]!, full.slice(1), { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new LabError(`${argv.join(' ')}: ${(stderr || err.message).trim().split('\n').pop()}`));
      else resolve(stdout);
    });
  });
}
