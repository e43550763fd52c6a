import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { AGENT_NODE_FLAGS } from './control-api.js';

const node = (flags: readonly string[], script: string): number =>
  Number(execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' }));

test('the agent\u2019s node flags take effect: a small young generation, no optimizing compiler', () => {
  // many survivors make V8 grow the young generation to its limit (32 MB by default here)
  const newSpace =
    "const v8=require('v8');const keep=[];for(let i=0;i<300000;i++)keep.push({i,s:'x'+i});" +
    "process.stdout.write(String(v8.getHeapSpaceStatistics().find(s=>s.space_name==='new_space').space_size))";
  const withFlags = node(AGENT_NODE_FLAGS, newSpace);
  const without = node([], newSpace);
  // a 1 MB semi-space: 1 or 2 MB by when the last scavenge ran; without the flag well past that
  assert.ok(withFlags <= 4 * 1024 * 1024, `new space with the flags: ${withFlags}`);
  assert.ok(without >= 8 * 1024 * 1024, `new space without the flags: ${without}`);

  // V8's optimization status of a function asked to be optimized: bit 64 = TurboFan code
  const turbofanned =
    'function f(x){return x+1}; %PrepareFunctionForOptimization(f); f(1); f(2); %OptimizeFunctionOnNextCall(f); f(3);' +
    'process.stdout.write(String(%GetOptimizationStatus(f) & 64))';
  assert.equal(node(['--allow-natives-syntax'], turbofanned), 64, 'TurboFan optimizes without the flags');
  assert.equal(node([...AGENT_NODE_FLAGS, '--allow-natives-syntax'], turbofanned), 0, 'not with them');
});
