/**
 * Issue 11 item 8: NaN and ±Inf inputs are refused by default, naming the tensor and the first
 * bad index; `allowNonfinite` (CLI `--allow-nonfinite`) sends them. The rule is the host's
 * (docs/enclave-protocol.md §4.5): the enclave does not check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isErrorCode } from '../errors.ts';
import type { TensorData } from '../onnx/ort.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import { checkFeeds } from './session.ts';

const specs: TensorSpec[] = [{ name: 'ids', dtype: 'int64', shape: ['N', 2] }, { name: 'x', dtype: 'float32', shape: ['N', 2, 3] }];
const ids: TensorData = { dtype: 'int64', dims: [2, 2], data: new BigInt64Array(4) };
const x = (i: number, v: number): TensorData => { const d = new Float32Array(12).fill(0.5); d[i] = v; return { dtype: 'float32', dims: [2, 2, 3], data: d }; };

test('a NaN or ±Inf input is refused with the tensor name and the first bad index; allowNonfinite lets it through', () => {
  for (const [v, what] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity']] as const) {
    const feeds = { ids, x: x(9, v) };
    assert.throws(() => checkFeeds(specs, feeds), (e) => isErrorCode(e, 'INPUT') && (e as Error).message.includes(`input 'x' has ${what} at index [1,1,0]`) && /--allow-nonfinite/.test((e as Error).message), what);
    checkFeeds(specs, feeds, { allowNonfinite: true });
  }
  const two = x(4, NaN);
  (two.data as Float32Array)[7] = Infinity;
  assert.throws(() => checkFeeds(specs, { ids, x: two }), /has NaN at index \[0,1,1\]/, 'the first bad index');
  checkFeeds(specs, { ids, x: x(0, 3.4e38) }); // large but finite
});

test('float64, float16 and bfloat16 inputs are checked too (half floats by their exponent bits)', () => {
  const one = (dtype: TensorSpec['dtype'], data: TensorData['data']) => () => checkFeeds([{ name: 't', dtype, shape: [data.length] }], { t: { dtype, dims: [data.length], data } });
  assert.throws(one('float64', Float64Array.of(1, NaN)), /input 't' has NaN at index \[1\]/);
  assert.throws(one('float16', Uint16Array.of(0x3c00, 0x7c00)), /input 't' has Infinity at index \[1\]/);
  assert.throws(one('float16', Uint16Array.of(0xfe00)), /input 't' has NaN at index \[0\]/);
  assert.throws(one('bfloat16', Uint16Array.of(0x3f80, 0x3f80, 0xff80)), /input 't' has -Infinity at index \[2\]/);
  one('float16', Uint16Array.of(0x7bff, 0x3c00))(); // 65504 and 1: finite
});
