/** `tsctl lab down`: remove every namespace, process and directory the lab made; idempotent. */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processesMentioning, run } from '@tsnet/testkit';
import { labPrefix } from './plan.js';
import { defaultLabDir, hostDir, loadState } from './state.js';
import { stopPid } from './procs.js';
import { docker } from './docker.js';

export interface LabDownResult {
  stopped: string[];
  namespaces: string[];
}

export async function labDown(ctx: { labDir?: string; progress: (line: string) => void }): Promise<LabDownResult> {
  const labDir = ctx.labDir ?? defaultLabDir();
  const state = await loadState(labDir).catch(() => undefined);
  const result: LabDownResult = { stopped: [], namespaces: [] };

  // Agents first (so they stop peering), by the PIDs recorded and by their pid files (an agent
  // restarted through `lab exec` has a new PID); then etcd.
  // dockerd first: stopping its containers calls the plugin, which the agents serve.
  const pids = new Map<number, { label: string; expect: string }>();
  for (const p of state?.processes ?? []) pids.set(p.pid, { label: p.label, expect: p.label.split(' ')[0]! });
  for (const h of state?.plan.hosts ?? []) {
    const pidText = await readFile(join(hostDir(labDir, h.name), 'run', 'tsnet.pid'), 'utf8').catch(() => '');
    const pid = Number(pidText.trim());
    if (pid > 0 && !pids.has(pid)) pids.set(pid, { label: `agent ${h.name}`, expect: 'tsctl' });
  }
  // Containers removed first: quicker than dockerd's stop timeout, and the plugin releases their addresses.
  if (state?.docker)
    await Promise.all(
      state.plan.hosts.map(async (h) => {
        const ids = await docker(labDir, h.name, ['ps', '-aq'], 10_000).catch(() => '');
        if (ids) await docker(labDir, h.name, ['rm', '-f', ...ids.split('\n')], 60_000).catch(() => undefined);
      }),
    );
  const rank = (label: string) => ['dockerd', 'agent', 'etcd'].indexOf(label.split(' ')[0]!);
  const ordered = [...pids].sort(([, a], [, b]) => rank(a.label) - rank(b.label));
  for (const [pid, { label, expect }] of ordered) {
    if (await stopPid(pid, expect === 'agent' ? 'tsctl' : expect, expect === 'dockerd' ? 20_000 : 5000)) {
      result.stopped.push(`${label} (pid ${pid})`);
      ctx.progress(`stopped ${label} (pid ${pid})`);
    }
  }
  // containerd and shims outlive a dockerd that died hard; only they mention the lab's docker dirs.
  for (const pid of await processesMentioning(`${labDir}/`)) {
    if (await stopPid(pid, `${labDir}/`, 3000)) result.stopped.push(`leftover pid ${pid}`);
  }

  // Namespaces recorded, plus any with the lab prefix left by a crash before they were recorded.
  const listed = (await run('ip', ['netns', 'list']).catch(() => ''))
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(state?.plan.prefix ?? labPrefix()));
  const names = [...new Set([...(state?.namespaces ?? []), ...listed])].sort((a, b) => b.length - a.length);
  for (const ns of names) {
    // Delete workload namespaces (longest names) before hosts and the switch.
    if (await run('ip', ['netns', 'del', ns]).then(() => true, () => false)) {
      result.namespaces.push(ns);
      ctx.progress(`deleted namespace ${ns}`);
    }
  }
  await rm(labDir, { recursive: true, force: true });
  ctx.progress(result.stopped.length + result.namespaces.length ? 'lab is down' : 'no lab was running');
  return result;
}
