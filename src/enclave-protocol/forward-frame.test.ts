/**
 * The host's FORWARD fast path (forward-frame.ts): byte for byte the general encoder's frame, for
 * layouts that exercise every padding case, and undefined for anything of another layout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TensorData } from '../onnx/ort.ts';
import { ForwardFrameEncoder, ONE_BUFFER_MAX } from './forward-frame.ts';
import { encodeFrame, frameBytes, MSG } from './frame.ts';
import { decodeForward, encodeForward } from './messages.ts';
import { PayloadReader } from './payload.ts';

const general = (feeds: Record<string, TensorData>, id: number) => frameBytes(encodeFrame(MSG.FORWARD, id, encodeForward(feeds)));

/** Layouts: one float32 batch, names of odd lengths with odd-sized data (every pad8 remainder), a scalar, int64 and float16. */
const layouts = (v: number): Record<string, TensorData>[] => [
  { h2: { dtype: 'float32', dims: [2, 32], data: new Float32Array(64).map((_, i) => v + i) } },
  // Over ONE_BUFFER_MAX: headers and data as separate parts, a small tensor after a large one.
  { big: { dtype: 'float32', dims: [1, 12, 12, 64], data: new Float32Array(9216).map((_, i) => v * i) }, tail: { dtype: 'int32', dims: [3], data: new Int32Array([v, 1, 2]) } },
  {},
  {
    a: { dtype: 'uint8', dims: [3], data: new Uint8Array([v, 2, 3]) },
    'cut/odd name ü': { dtype: 'int64', dims: [1, 2], data: new BigInt64Array([BigInt(v), -5n]) },
    s: { dtype: 'float32', dims: [], data: new Float32Array([v / 3]) },
    h: { dtype: 'float16', dims: [1, 5], data: new Uint16Array([v, 1, 2, 3, 4]) },
    m: { dtype: 'bool', dims: [7], data: new Uint8Array([1, 0, 1, 0, 1, 0, v & 1]) },
  },
];

test('the prebuilt frame is the general encoder\'s, byte for byte, for every layout, id and data', () => {
  for (const [i, layout] of layouts(0).entries()) {
    const enc = ForwardFrameEncoder.for(layout);
    for (const [id, v] of [[1, 7], [2, 9], [0xfffffffe, 250]] as const) {
      const feeds = layouts(v)[i]!;
      const parts = enc.encode(feeds, id);
      assert.ok(parts, `layout ${i} matches itself`);
      const fast = frameBytes(parts);
      assert.deepEqual(fast, general(feeds, id), `layout ${i}, id ${id}`);
      assert.equal(parts.length, fast.byteLength <= ONE_BUFFER_MAX ? 1 : parts.length, 'a small frame is one buffer');
      assert.deepEqual(decodeForward(new PayloadReader(fast.subarray(4))), feeds, 'and decodes to the feeds');
    }
  }
});

test('feeds of another layout get undefined (the caller falls back to the general encoder)', () => {
  const enc = ForwardFrameEncoder.for(layouts(0)[3]!);
  const base = () => layouts(1)[3]!;
  const other: [string, Record<string, TensorData>][] = [
    ['another dim', { ...base(), a: { dtype: 'uint8', dims: [1, 3], data: new Uint8Array(3) } }],
    ['the same rank and size, other dims', { ...base(), 'cut/odd name ü': { dtype: 'int64', dims: [2, 1], data: new BigInt64Array(2) } }],
    ['another dtype', { ...base(), a: { dtype: 'int8', dims: [3], data: new Int8Array(3) } }],
    ['a short array', { ...base(), a: { dtype: 'uint8', dims: [3], data: new Uint8Array(2) } }],
    ['a wider array of the same bytes', { ...base(), h: { dtype: 'float16', dims: [1, 5], data: new Uint8Array(10) as unknown as Uint16Array } }],
    ['a missing tensor', (({ m: _m, ...rest }) => rest)(base())],
    ['an extra tensor', { ...base(), z: { dtype: 'uint8', dims: [1], data: new Uint8Array(1) } }],
    ['another order', (({ a, ...rest }) => ({ ...rest, a }))(base())],
  ];
  for (const [what, feeds] of other) assert.equal(enc.encode(feeds, 3), undefined, what);
});

test('tensors the wire cannot carry fail as the general encoder fails', () => {
  const bad: Record<string, TensorData> = { x: { dtype: 'bfloat16', dims: [2], data: new Uint16Array(2) } };
  assert.throws(() => ForwardFrameEncoder.for(bad), /Cannot send tensor 'x': dtype bfloat16 is not supported on the wire/);
});
