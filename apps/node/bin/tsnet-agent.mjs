#!/usr/bin/env node
// The node agent process (`tsctl node --detach` starts it with the options as one JSON argument).
// It runs the esbuild bundle of dist/agent-main.js (`npm run build` makes it: one file loads in
// about half the CPU and 8 MB less memory than ~150 modules, which counts with many agents on a
// host or a slow one) when the bundle is at least as new as every file it was made from;
// otherwise, e.g. after a bare `tsc -b`, the compiled dist/ files, which are always current.
//
// The agent sets its V8 flags itself once loaded (agent-main.ts, AGENT_V8_FLAGS), so nothing here may
// run hot enough for TurboFan before that: the ~250 paths are plain strings, joined as they are (a
// file URL or path.normalize per stat had V8 optimize that code: 3 MB more of node paged in per agent).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bundleDir = fileURLToPath(new URL('../bundle/', import.meta.url));

function bundleIsCurrent() {
  try {
    const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8'));
    const built = statSync(join(bundleDir, 'agent-main.mjs')).mtimeMs;
    return manifest.inputs.every((f) => statSync(bundleDir + f).mtimeMs <= built);
  } catch {
    return false;
  }
}

const { agentMain } = await import(bundleIsCurrent() ? '../bundle/agent-main.mjs' : '../dist/agent-main.js');
await agentMain(process.argv.slice(2));
