import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FrameReader, MSG, MAX_FRAME_SIZE, PayloadReader, PayloadWriter, ProtocolError, decodeForward, decodeForwardOk, decodeHelloOk,
  encodeForward, encodeForwardOk, encodeFrame, encodeHelloOk, frameBytes,
} from './index.ts';
import type { TensorData } from '../onnx/ort.ts';

function roundTrip(type: number, id: number, payload: Uint8Array[], chunkSize = 3) {
  const bytes = frameBytes(encodeFrame(type, id, payload));
  const reader = new FrameReader();
  const frames = [];
  for (let i = 0; i < bytes.byteLength; i += chunkSize) frames.push(...reader.push(bytes.subarray(i, i + chunkSize)));
  assert.equal(frames.length, 1);
  assert.equal(reader.pending, false);
  return frames[0]!;
}

test('frames survive arbitrary chunking and keep type and id', () => {
  const m = { version: 1, platformKind: 'sim', measurement: new Uint8Array(32).fill(7), engine: 'ort', maxFrameSize: MAX_FRAME_SIZE };
  const f = roundTrip(0x81, 0xdeadbeef, encodeHelloOk(m), 1);
  assert.equal(f.type, 0x81);
  assert.equal(f.id, 0xdeadbeef);
  assert.deepEqual(decodeHelloOk(new PayloadReader(f.body)), m);
});

test('tensors of every wire dtype round-trip, data aligned and viewed in place', () => {
  const feeds: Record<string, TensorData> = {
    f: { dtype: 'float32', dims: [2, 3], data: Float32Array.from([1, -2, 3.5, 4, 5, 6]) },
    d: { dtype: 'float64', dims: [1], data: Float64Array.from([Math.PI]) },
    i: { dtype: 'int64', dims: [3], data: BigInt64Array.from([1n, -2n, 2n ** 40n]) },
    j: { dtype: 'int32', dims: [1, 1], data: Int32Array.from([-7]) },
    u: { dtype: 'uint8', dims: [5], data: Uint8Array.from([1, 2, 3, 4, 255]) },
    b: { dtype: 'bool', dims: [2], data: Uint8Array.from([0, 1]) },
    s: { dtype: 'float32', dims: [], data: Float32Array.from([9]) },
    big: { dtype: 'float32', dims: [8, 784], data: Float32Array.from({ length: 8 * 784 }, (_, k) => k / 3) },
  };
  const f = roundTrip(MSG.FORWARD, 5, encodeForward(feeds), 4093);
  const got = decodeForward(new PayloadReader(f.body));
  assert.deepEqual(Object.keys(got), Object.keys(feeds));
  for (const [k, t] of Object.entries(feeds)) {
    assert.equal(got[k]!.dtype, t.dtype);
    assert.deepEqual(got[k]!.dims, t.dims);
    assert.deepEqual([...got[k]!.data as Iterable<unknown>], [...t.data as Iterable<unknown>]);
    assert.equal(got[k]!.data.buffer, f.body.buffer, `${k} is a view, not a copy`);
  }
  const ok = roundTrip(0x86, 5, encodeForwardOk({ computeNs: 12345n, outputs: { y: feeds.f! } }));
  const d = decodeForwardOk(new PayloadReader(ok.body));
  assert.equal(d.computeNs, 12345n);
  assert.deepEqual([...d.outputs.y!.data as Float32Array], [1, -2, 3.5, 4, 5, 6]);
});

test('a frame length outside 5..MAX is refused before allocating', () => {
  const bad = new Uint8Array([4, 0, 0, 0]);
  assert.throws(() => new FrameReader().push(bad), (e) => e instanceof ProtocolError && e.protocolCode === 'BAD_FRAME');
  const huge = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
  assert.throws(() => new FrameReader().push(huge), (e) => e instanceof ProtocolError && e.protocolCode === 'BAD_FRAME');
});

test('payload readers reject short payloads, leftovers, non-zero padding and duplicate names', () => {
  const body = (parts: Uint8Array[]) => frameBytes(encodeFrame(MSG.FORWARD, 1, parts)).subarray(4).slice();
  const good = body(encodeForward({ x: { dtype: 'float32', dims: [2], data: Float32Array.from([1, 2]) } }));
  assert.throws(() => decodeForward(new PayloadReader(good.subarray(0, good.byteLength - 1).slice())), /ends early/);
  const extra = new Uint8Array(good.byteLength + 1); extra.set(good);
  assert.throws(() => decodeForward(new PayloadReader(extra)), /left after/);
  // name 'x' → payload: count(2) len(2) 'x'(1) dtype(1) rank(1) dim(4) → padding at body offset 5+11=16: none; use a 2-letter name
  const w = new PayloadWriter().u16(1).str('xy').u8(1).u8(1).u32(1);
  const pad = (8 - (w.offset % 8)) % 8;
  assert.ok(pad > 0);
  const badPad = body([...w.finish(), Uint8Array.from({ length: pad }, () => 1), new Uint8Array(4)]);
  assert.throws(() => decodeForward(new PayloadReader(badPad)), /padding/);
  const dup = new PayloadWriter().u16(2);
  for (let i = 0; i < 2; i++) { dup.str('a').u8(2).u8(1).u32(1).pad8().u8(1); }
  assert.throws(() => decodeForward(new PayloadReader(body(dup.finish()))), /duplicate/);
});

test('an oversize frame cannot be encoded', () => {
  assert.throws(() => encodeFrame(MSG.FORWARD, 1, [new Uint8Array(MAX_FRAME_SIZE)]), RangeError);
});
