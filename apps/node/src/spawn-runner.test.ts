import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpawnRunner } from './spawn-runner.js';

test('SpawnRunner: output, stdin, exit codes, missing command, timeout', async () => {
  const r = new SpawnRunner();
  assert.deepEqual(await r.run('sh', ['-c', 'cat; echo err >&2'], { input: 'hello' }), { exitCode: 0, stdout: 'hello', stderr: 'err\n' });
  assert.equal((await r.run('sh', ['-c', 'exit 3'])).exitCode, 3);
  assert.equal((await r.run('/nonexistent/tsnet-cmd', [])).exitCode, 127);
  const slow = await r.run('sleep', ['5'], { timeoutMs: 100 });
  assert.equal(slow.exitCode, -1);
  assert.match(slow.stderr, /timed out/);
});
