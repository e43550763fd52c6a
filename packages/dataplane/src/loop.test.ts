import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReconcileLoop } from './loop.js';
import type { ReconcileResult } from './reconciler.js';
import { baseInput } from './fixtures.test-util.js';

const ok: ReconcileResult = { applied: [], errors: [], problems: [], durationMs: 0 };
const failed: ReconcileResult = { ...ok, errors: [{ command: 'ip -batch: route replace x', error: 'boom' }] };

test('ReconcileLoop: passes never overlap, triggers coalesce, errors are retried soon', async () => {
  let active = 0;
  let maxActive = 0;
  let passes = 0;
  const results: ReconcileResult[] = [];
  const reconciler = {
    async reconcile(): Promise<ReconcileResult> {
      passes++;
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 20));
      active--;
      return passes <= 2 ? failed : ok;
    },
  };
  const loop = new ReconcileLoop(reconciler, () => baseInput(), {
    intervalMs: 60_000,
    retryMs: 10,
    onResult: (r) => results.push(r),
  });
  loop.start();
  loop.trigger();
  loop.trigger();
  loop.trigger();
  // pass 1 (start) fails, the three triggers coalesce into pass 2 (fails), its retry (20 ms) is pass 3
  const deadline = Date.now() + 3000;
  while (results.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await loop.stop();
  assert.equal(maxActive, 1);
  assert.equal(passes, 3);
  assert.deepEqual(results.slice(0, 3), [failed, failed, ok]);
  const after = passes;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(passes, after, 'no pass after stop()');
});
