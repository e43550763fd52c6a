#!/usr/bin/env node
// Runs the compiled tests with Node's built-in runner: unit tests (every workspace but e2e) in
// parallel, then the e2e tests one file at a time (they build network namespaces and start real
// daemons, so running them side by side on 2 cores only adds flakiness). Prints each run's TAP
// summary and one closing line "tests: N passed, N failed, N skipped" over both.
//
// Usage: node scripts/run-tests.mjs [PATH-SUBSTRING...]   (TSNET_TEST_ONLY=unit|e2e to pick a phase)
import { spawn } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);
const only = process.env.TSNET_TEST_ONLY ?? '';

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

function workspaceDirs() {
  const dirs = [];
  for (const group of ['packages', 'apps']) {
    const g = join(root, group);
    if (!existsSync(g)) continue;
    for (const name of readdirSync(g).sort()) dirs.push(join(g, name));
  }
  return dirs;
}

const pick = (files) =>
  files.filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s))).sort();
const unit = pick(workspaceDirs().flatMap((d) => walk(join(d, 'dist'), [])));
const e2e = pick(walk(join(root, 'e2e', 'dist'), []));

function run(label, files, concurrency) {
  return new Promise((resolve) => {
    if (files.length === 0) return resolve({ pass: 0, fail: 0, skipped: 0, cancelled: 0 });
    console.log(`== ${label}: ${files.length} test files`);
    const child = spawn(
      process.execPath,
      ['--test', '--test-reporter=tap', `--test-concurrency=${concurrency}`, ...files],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const counts = { pass: 0, fail: 0, skipped: 0, cancelled: 0 };
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4096);
    });
    child.on('close', (code) => {
      for (const key of Object.keys(counts)) {
        const m = tail.match(new RegExp(`^# ${key} (\\d+)$`, 'm'));
        if (m) counts[key] = Number(m[1]);
      }
      if (code !== 0 && counts.fail === 0 && counts.cancelled === 0) counts.fail = 1;
      resolve(counts);
    });
  });
}

const totals = { pass: 0, fail: 0, skipped: 0, cancelled: 0 };
for (const [label, files, concurrency] of [
  ['unit', only === 'e2e' ? [] : unit, 2],
  ['e2e', only === 'unit' ? [] : e2e, 1],
]) {
  const c = await run(label, files, concurrency);
  for (const k of Object.keys(totals)) totals[k] += c[k];
}
const failed = totals.fail + totals.cancelled;
console.log(`tests: ${totals.pass} passed, ${failed} failed, ${totals.skipped} skipped`);
process.exit(failed > 0 || totals.pass === 0 ? 1 : 0);
