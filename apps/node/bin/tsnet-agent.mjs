#!/usr/bin/env node
// The node agent process (`tsctl node --detach` starts it with the options as one JSON argument).
// It runs the esbuild bundle of dist/agent-main.js (`npm run build` makes it: one file loads in
// about half the CPU and 8 MB less memory than ~150 modules, which counts with many agents on a
// host or a slow one) when the bundle is at least as new as every file it was made from;
// otherwise, e.g. after a bare `tsc -b`, the compiled dist/ files, which are always current.
import { readFileSync, statSync } from 'node:fs';

const bundleDir = new URL('../bundle/', import.meta.url);

function bundleIsCurrent() {
  try {
    const manifest = JSON.parse(readFileSync(new URL('manifest.json', bundleDir), 'utf8'));
    const built = statSync(new URL('agent-main.mjs', bundleDir)).mtimeMs;
    return manifest.inputs.every((f) => statSync(new URL(f, bundleDir)).mtimeMs <= built);
  } catch {
    return false;
  }
}

const { agentMain } = await import(bundleIsCurrent() ? '../bundle/agent-main.mjs' : '../dist/agent-main.js');
await agentMain(process.argv.slice(2));
