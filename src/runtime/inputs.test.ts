import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isErrorCode } from '../errors.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import { describeOutputs, readInputs } from './inputs.ts';
import { writeNpy } from './npy.ts';

const dir = mkdtempSync(join(tmpdir(), 'enn-inputs-'));
const one: TensorSpec[] = [{ name: 'x', dtype: 'float32', shape: ['N', 2, 2] }];
const two: TensorSpec[] = [{ name: 'ids', dtype: 'int64', shape: ['N', 3] }, { name: 'mask', dtype: 'float32', shape: ['N', 3] }];
const file = (name: string, data: string | Uint8Array) => { const p = join(dir, name); writeFileSync(p, data); return p; };

test('JSON: a bare nested array, a sample without batch, and an object naming inputs', () => {
  const a = readInputs([file('a.json', '[[[1,2],[3,4]]]')], one);
  assert.deepEqual(a.x!.dims, [1, 2, 2]);
  assert.deepEqual([...a.x!.data as Float32Array], [1, 2, 3, 4]);
  assert.deepEqual(readInputs([file('b.json', '[[1,2],[3,4]]')], one).x!.dims, [1, 2, 2], 'batch of 1 added');
  const c = readInputs([file('c.json', JSON.stringify({ ids: [[1, 2, 3]], mask: [[1, 1, 0]] }))], two);
  assert.equal(c.ids!.dtype, 'int64');
  assert.deepEqual([...c.ids!.data as BigInt64Array], [1n, 2n, 3n]);
  assert.deepEqual([...c.mask!.data as Float32Array], [1, 1, 0]);
});

test('.npy: float64 becomes float32 for a float32 input; NAME=FILE picks the input', () => {
  const x = readInputs([file('x.npy', writeNpy({ dtype: 'float64', dims: [1, 2, 2], data: Float64Array.from([0.5, 1, 2, 3]) }))], one).x!;
  assert.equal(x.dtype, 'float32');
  assert.deepEqual([...x.data as Float32Array], [0.5, 1, 2, 3]);
  const ids = file('ids.npy', writeNpy({ dtype: 'int64', dims: [1, 3], data: BigInt64Array.from([4n, 5n, 6n]) }));
  const mask = file('mask.npy', writeNpy({ dtype: 'float32', dims: [1, 3], data: Float32Array.from([1, 0, 1]) }));
  const f = readInputs([`ids=${ids}`, `mask=${mask}`], two);
  assert.deepEqual(Object.keys(f).sort(), ['ids', 'mask']);
});

test('clear errors: several inputs without names, an unknown name, ragged JSON, a missing file', () => {
  const ids = file('i.npy', writeNpy({ dtype: 'int64', dims: [1, 3], data: new BigInt64Array(3) }));
  assert.throws(() => readInputs([ids], two), (e) => isErrorCode(e, 'INPUT') && /has 2 inputs \(ids, mask\); give --input NAME=FILE/.test((e as Error).message));
  assert.throws(() => readInputs([`foo=${ids}`], two), /no input 'foo'; inputs: ids, mask/);
  assert.throws(() => readInputs([file('r.json', '[[1,2],[3]]')], one), /not a rectangular array/);
  assert.throws(() => readInputs([join(dir, 'nope.npy')], one), /Cannot read input .*nope\.npy: ENOENT/);
});

test('outputs print values and, for 2-D float outputs, the argmax of each row', () => {
  const text = describeOutputs({ probs: { dtype: 'float32', dims: [2, 3], data: Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.2, 0.3]) } });
  assert.match(text, /^probs float32\[2,3\]\n {2}0\.100000 0\.700000 0\.200000\n/);
  assert.match(text, /argmax: 1 0\n$/);
});

test('uint8 .npy becomes float32 (value by value) for a float32 model, as the run help says', () => {
  const x = readInputs([file('u8.npy', writeNpy({ dtype: 'uint8', dims: [1, 2, 2], data: Uint8Array.from([0, 1, 128, 255]) }))], one).x!;
  assert.equal(x.dtype, 'float32');
  assert.deepEqual([...x.data as Float32Array], [0, 1, 128, 255]);
});

test('describeOutputs: no argmax line under a top-k output (its scores are sorted; the classes are <name>_classes)', () => {
  const text = describeOutputs({
    probs: { dtype: 'float32', dims: [2, 2], data: Float32Array.from([0.7, 0.2, 0.5, 0.3]) },
    probs_classes: { dtype: 'int64', dims: [2, 2], data: BigInt64Array.from([2n, 0n, 1n, 2n]) },
  });
  assert.doesNotMatch(text, /argmax/);
  assert.match(text, /probs_classes int64\[2,2\]\n  2 0\n  1 2/);
});
