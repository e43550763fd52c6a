// The gateway's wire format, as pure values: watch stream splitting and decoding.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEvents, decodeRange, JsonObjectSplitter } from './kv-json.js';
import { prefixEnd } from './kv.js';

describe('etcd JSON gateway wire format', () => {
  test('a watch stream splits into whole messages at any chunk boundary', () => {
    const msgs = ['{"result":{"created":true}}', '{"result":{"events":[{"kv":{"key":"L2E=","value":"e30="}}]}}', '{"result":{"x":"br{ace\\"}"}}'];
    const stream = msgs.join('\n') + '\n';
    for (let cut = 0; cut <= stream.length; cut++) {
      for (const step of [1, 7, stream.length]) {
        const s = new JsonObjectSplitter();
        const out = [...s.push(stream.slice(0, cut))];
        for (let i = cut; i < stream.length; i += step) out.push(...s.push(stream.slice(i, i + step)));
        assert.deepEqual(out, msgs, `cut at ${cut}, step ${step}`);
      }
    }
  });

  test('decoding: base64 text, int64 strings, omitted defaults', () => {
    assert.deepEqual(decodeRange({ header: { revision: '7' } }), { revision: 7, kvs: [], count: 0 });
    assert.deepEqual(decodeRange({ header: { revision: '9' }, kvs: [{ key: 'L2E=', value: 'e30=', mod_revision: '9', create_revision: '3' }], count: '1' }), {
      revision: 9,
      kvs: [{ key: '/a', value: '{}', modRevision: 9, createRevision: 3 }],
      count: 1,
    });
    assert.deepEqual(decodeEvents({ events: [{ kv: { key: 'L2E=', value: 'e30=', mod_revision: '4' } }, { type: 'DELETE', kv: { key: 'L2E=', mod_revision: '5' } }] }), [
      { type: 'put', key: '/a', value: '{}', modRevision: 4, createRevision: 0 },
      { type: 'delete', key: '/a', value: '', modRevision: 5, createRevision: 0 },
    ]);
  });

  test('prefix range end: last byte below 0xff incremented', () => {
    assert.equal(prefixEnd('/tsnet/').toString(), '/tsnet0');
    assert.equal(prefixEnd('a').toString(), 'b');
    assert.deepEqual([...prefixEnd('')], [0], 'empty prefix: every key');
  });
});
