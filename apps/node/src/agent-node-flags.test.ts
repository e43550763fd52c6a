import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const agentMain = new URL('./agent-main.js', import.meta.url).href;

/** Runs `script` in a fresh node process, after applyAgentV8Flags() when `apply`; its stdout as a number. */
const node = (apply: boolean, script: string, flags: string[] = []): number =>
  Number(
    execFileSync(
      process.execPath,
      [...flags, '--input-type=module', '-e', `import { applyAgentV8Flags } from '${agentMain}'; ${apply ? 'applyAgentV8Flags();' : ''} ${script}`],
      { encoding: 'utf8' },
    ),
  );

test('the agent\u2019s V8 flags, set at run time, take effect: a young generation that stays small, no optimizing compiler', () => {
  // many survivors make V8 grow the young generation to its limit (32 MB by default here)
  const newSpace =
    "const v8=await import('node:v8');const keep=[];for(let i=0;i<300000;i++)keep.push({i,s:'x'+i});" +
    "process.stdout.write(String(v8.getHeapSpaceStatistics().find(s=>s.space_name==='new_space').space_size))";
  const withFlags = node(true, newSpace);
  const without = node(false, newSpace);
  assert.ok(withFlags <= 4 * 1024 * 1024, `new space with the flags: ${withFlags}`);
  assert.ok(without >= 8 * 1024 * 1024, `new space without the flags: ${without}`);

  // V8's optimization status of a function asked to be optimized: bit 64 = TurboFan code
  const turbofanned =
    'function f(x){return x+1}; %PrepareFunctionForOptimization(f); f(1); f(2); %OptimizeFunctionOnNextCall(f); f(3);' +
    'process.stdout.write(String(%GetOptimizationStatus(f) & 64))';
  assert.equal(node(false, turbofanned, ['--allow-natives-syntax']), 64, 'TurboFan optimizes without the flags');
  assert.equal(node(true, turbofanned, ['--allow-natives-syntax']), 0, 'not with them');
});
