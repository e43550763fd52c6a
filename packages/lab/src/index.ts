export { planLab, checkLabOptions, pingPairs, LAB_PREFIX, labPrefix, type LabMode, type LabOptions, type LabPlan } from './plan.js';
export { labUp, LabError, type LabContext } from './up.js';
export { labDown, type LabDownResult } from './down.js';
export { labExec } from './exec.js';
export { collectStatus, type LabReport, type LabHostReport } from './status.js';
export { renderReport, renderPingMatrix, reportJson } from './render.js';
export { loadState, defaultLabDir, type LabState } from './state.js';

import { collectStatus } from './status.js';
import { defaultLabDir, loadState } from './state.js';
import { LabError } from './up.js';

/** `tsctl lab status`: the report of the running lab. */
export async function labStatus(ctx: { tsctlBin: string; labDir?: string }) {
  const labDir = ctx.labDir ?? defaultLabDir();
  const state = await loadState(labDir);
  if (!state) throw new LabError("no lab is running; start one with 'tsctl lab up'");
  return collectStatus(state, labDir, ctx.tsctlBin);
}
