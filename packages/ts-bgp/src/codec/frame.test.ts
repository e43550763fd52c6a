import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameReader } from './frame.js';
import { decodeMessage } from './decode.js';
import { BgpError } from './errors.js';
import { encodeKeepalive, encodeNotification } from './messages.js';
import { MARKER, bytes, msg, u16 } from './testing.js';

const collect = (reader: FrameReader, chunks: Buffer[]): { frames: Buffer[]; error?: BgpError } => {
  const frames: Buffer[] = [];
  let error: BgpError | undefined;
  for (const c of chunks) {
    error = reader.feed(c, (f) => frames.push(f)) ?? error;
  }
  return error ? { frames, error } : { frames };
};

describe('FrameReader', () => {
  const stream = Buffer.concat([
    encodeKeepalive(),
    encodeNotification({ code: 6, subcode: 2, data: Buffer.from('bye') }),
    msg(2, u16(0), u16(0)),
  ]);

  test('splits several messages from one chunk', () => {
    const { frames, error } = collect(new FrameReader(), [stream]);
    assert.equal(error, undefined);
    assert.deepEqual(frames.map((f) => f[18]), [4, 3, 2]);
    assert.deepEqual(frames.map((f) => f.length), [19, 24, 23]);
  });

  test('reassembles a stream fed one byte at a time, frames stay valid afterwards', () => {
    const reader = new FrameReader();
    const chunks = [...stream].map((b) => Buffer.from([b]));
    const { frames, error } = collect(reader, chunks);
    assert.equal(error, undefined);
    assert.equal(reader.pending, 0);
    assert.deepEqual(Buffer.concat(frames), stream);
  });

  test('keeps the remainder of a partial message across chunk boundaries at every split point', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const { frames } = collect(new FrameReader(), [stream.subarray(0, cut), stream.subarray(cut)]);
      assert.deepEqual(Buffer.concat(frames), stream, `split at ${cut}`);
    }
  });

  const headerCases: Array<[string, Buffer, number, Buffer]> = [
    ['marker not all ones', bytes(new Array(15).fill(0xff), 0, u16(19), 4), 1, Buffer.alloc(0)],
    ['length below 19', bytes(MARKER, u16(18), 4), 2, Buffer.from(u16(18))],
    ['length above 4096', bytes(MARKER, u16(4097), 2), 2, Buffer.from(u16(4097))],
    ['unknown type', bytes(MARKER, u16(19), 9), 3, Buffer.from([9])],
    ['KEEPALIVE longer than 19', bytes(MARKER, u16(20), 4, 0), 2, Buffer.from(u16(20))],
    ['OPEN shorter than 29', bytes(MARKER, u16(28), 1, new Array(9).fill(0)), 2, Buffer.from(u16(28))],
    ['UPDATE shorter than 23', bytes(MARKER, u16(22), 2, 0, 0, 0), 2, Buffer.from(u16(22))],
    ['NOTIFICATION shorter than 21', bytes(MARKER, u16(20), 3, 6), 2, Buffer.from(u16(20))],
  ];
  for (const [name, bad, subcode, data] of headerCases) {
    test(`header error: ${name} → NOTIFICATION 1/${subcode}`, () => {
      const reader = new FrameReader();
      const { frames, error } = collect(reader, [Buffer.concat([encodeKeepalive(), bad, encodeKeepalive()])]);
      assert.equal(frames.length, 1, 'the message before the error is delivered, nothing after');
      assert.ok(error instanceof BgpError);
      assert.equal(error.code, 1);
      assert.equal(error.subcode, subcode);
      assert.deepEqual(error.data, data);
      assert.equal(reader.feed(encodeKeepalive(), () => assert.fail('reader must stay failed')), error);
      assert.throws(() => decodeMessage(bad, { fourOctetAs: true }), (e) => e instanceof BgpError && e.subcode === subcode);
    });
  }

  test('header error detected when the header arrives split', () => {
    const bad = bytes(MARKER, u16(5000), 2);
    const { error } = collect(new FrameReader(), [bad.subarray(0, 10), bad.subarray(10)]);
    assert.equal(error?.subcode, 2);
  });
});
