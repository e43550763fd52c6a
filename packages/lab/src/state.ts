/**
 * What a running lab is made of, written to `<lab dir>/state.json` as each piece is created, so
 * `lab down` can remove everything even after `lab up` crashed halfway.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabMode, LabPlan } from './plan.js';

export interface LabState {
  version: 1;
  createdAt: string;
  mode: LabMode;
  docker: boolean;
  plan: LabPlan;
  /** namespaces created so far (deleted by `lab down`) */
  namespaces: string[];
  /** processes started (stopped by PID) */
  processes: Array<{ label: string; pid: number }>;
  /** workloads: host name → workload address */
  workloads: Record<string, string>;
}

export const defaultLabDir = (): string => process.env.TSNET_LAB_DIR ?? '/run/tsnet-lab';
export const statePath = (labDir: string): string => join(labDir, 'state.json');
export const hostDir = (labDir: string, host: string): string => join(labDir, host);

export async function loadState(labDir: string): Promise<LabState | undefined> {
  let text: string;
  try {
    text = await readFile(statePath(labDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const s = JSON.parse(text) as LabState;
    if (s.version !== 1 || !Array.isArray(s.namespaces)) throw new Error('unknown layout');
    return s;
  } catch (err) {
    throw new Error(
      `lab state ${statePath(labDir)} is unreadable (${(err as Error).message}); run 'tsctl lab down' to clean up`,
    );
  }
}

/** Writes atomically (temp file + rename) so a crash never leaves half a state file. */
export async function saveState(labDir: string, state: LabState): Promise<void> {
  await mkdir(labDir, { recursive: true });
  const tmp = `${statePath(labDir)}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n');
  await rename(tmp, statePath(labDir));
}
