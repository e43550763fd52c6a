import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { AGENT_NODE_FLAGS } from './control-api.js';

test('the agent\u2019s node flags are accepted on the command line and in NODE_OPTIONS, and take effect', () => {
  // many survivors make V8 grow the young generation to its limit (32 MB by default here)
  const probe =
    "const v8=require('v8');const keep=[];for(let i=0;i<300000;i++)keep.push({i,s:'x'+i});" +
    "process.stdout.write(String(v8.getHeapSpaceStatistics().find(s=>s.space_name==='new_space').space_size))";
  const withArgv = Number(execFileSync(process.execPath, [...AGENT_NODE_FLAGS, '-e', probe], { encoding: 'utf8' }));
  const withEnv = Number(
    execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: AGENT_NODE_FLAGS.join(' ') } }),
  );
  const without = Number(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }));
  // a 1 MB semi-space: the young generation stays at a few MB (1 or 2, by when the last
  // scavenge ran), both ways; without the flags it grows well past that
  assert.ok(withArgv <= 4 * 1024 * 1024, `new space with the flags on the command line: ${withArgv}`);
  assert.ok(withEnv <= 4 * 1024 * 1024, `new space with the flags in NODE_OPTIONS: ${withEnv}`);
  assert.ok(without >= 8 * 1024 * 1024, `new space without the flags: ${without}`);
});
