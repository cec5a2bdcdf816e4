import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initTfWasm } from './setup.ts';

/** Runs `fn` on a backend and returns its result as a plain array. */
async function on<T extends tf.Tensor>(backend: string, fn: () => T): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  const t = fn();
  const r = { shape: t.shape, values: t.dataSync() as Float32Array };
  t.dispose();
  return r;
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let scale = 1e-6;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d / scale;
}

const cases: Array<{ x: [number, number, number, number]; f: [number, number, number, number]; s: number | [number, number]; pad: 'same' | 'valid' | number }> = [
  { x: [2, 7, 6, 3], f: [3, 3, 3, 4], s: 1, pad: 'valid' },
  { x: [2, 7, 6, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' },
  { x: [1, 9, 8, 2], f: [3, 2, 2, 5], s: 2, pad: 'same' },
  { x: [1, 9, 8, 2], f: [2, 3, 2, 5], s: [2, 3], pad: 'valid' },
  { x: [3, 5, 5, 4], f: [1, 1, 4, 2], s: 1, pad: 'valid' },
  { x: [1, 6, 7, 2], f: [3, 3, 2, 3], s: 1, pad: 1 },
];

test('wasm Conv2DBackpropFilter matches the cpu kernel (strides, same/valid/explicit padding)', async () => {
  await initTfWasm();
  for (const c of cases) {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 1);
    const w = tf.randomNormal(c.f, 0, 1, 'float32', 2);
    const ref = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad);
    const dy = tf.randomNormal(ref.shape, 0, 1, 'float32', 3);
    const run = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
      { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f }) as tf.Tensor;
    const want = await on('cpu', run);
    const got = await on('wasm', run);
    assert.deepEqual(got.shape, c.f);
    assert.ok(maxRelDiff(got.values, want.values) < 1e-5, `case ${JSON.stringify(c)}: rel diff ${maxRelDiff(got.values, want.values)}`);
    tf.dispose([x, w, ref, dy]);
  }
});

test('wasm Conv2DBackpropInput (ops for stride 1, original kernel otherwise) matches the cpu kernel', async () => {
  await initTfWasm();
  for (const c of cases) {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 7);
    const w = tf.randomNormal(c.f, 0, 1, 'float32', 8);
    const ref = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad);
    const dy = tf.randomNormal(ref.shape, 0, 1, 'float32', 9);
    const run = () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w },
      { strides: c.s, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x }) as tf.Tensor;
    const want = await on('cpu', run);
    const got = await on('wasm', run);
    assert.deepEqual(got.shape, c.x);
    assert.ok(maxRelDiff(got.values, want.values) < 1e-5, `case ${JSON.stringify(c)}: rel diff ${maxRelDiff(got.values, want.values)}`);
    tf.dispose([x, w, ref, dy]);
  }
});

test('wasm Conv2D gradients (through tf.grads, input and kernel) match cpu', async () => {
  await initTfWasm();
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 4);
  const w = tf.randomNormal([3, 3, 3, 6], 0, 1, 'float32', 5);
  const grads = () => tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))))([x, w]);
  for (const k of [0, 1]) {
    const want = await on('cpu', () => grads()[k]);
    const got = await on('wasm', () => grads()[k]);
    assert.ok(maxRelDiff(got.values, want.values) < 1e-5, `gradient ${k}`);
  }
  tf.dispose([x, w]);
});

test('wasm UnsortedSegmentSum (the Gather gradient) matches cpu', async () => {
  await initTfWasm();
  const table = tf.randomNormal([7, 4], 0, 1, 'float32', 6);
  const idx = tf.tensor1d([0, 3, 3, 6, 1, 3], 'int32');
  const run = () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), tf.range(1, 25).reshape([6, 4]))))(table);
  const want = await on('cpu', run);
  const got = await on('wasm', run);
  assert.deepEqual(got.shape, [7, 4]);
  assert.ok(maxRelDiff(got.values, want.values) < 1e-6);
  assert.ok(got.values.some((v) => v !== 0));
  await tf.setBackend('wasm');
  const direct = tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), tf.tensor1d([2, 0, 2], 'int32'), 3);
  assert.deepEqual(Array.from(direct.dataSync()), [3, 4, 0, 0, 6, 8]);
  tf.dispose([table, idx, direct]);
});

test('wasm BatchMatMul with transposed operands matches cpu (rank 2 and batched rank 3)', async () => {
  await initTfWasm();
  const shapes: Array<[number[], number[]]> = [[[5, 7], [7, 3]], [[2, 4, 6], [2, 6, 3]]];
  for (const [sa, sb] of shapes) {
    const a = tf.randomNormal(sa, 0, 1, 'float32', 10);
    const b = tf.randomNormal(sb, 0, 1, 'float32', 11);
    for (const [ta, tb] of [[true, false], [false, true], [true, true]] as const) {
      const aa = ta ? tf.transpose(a, sa.length === 2 ? [1, 0] : [0, 2, 1]) : a;
      const bb = tb ? tf.transpose(b, sb.length === 2 ? [1, 0] : [0, 2, 1]) : b;
      const run = () => tf.matMul(aa, bb, ta, tb);
      const want = await on('cpu', run);
      const got = await on('wasm', run);
      assert.deepEqual(got.shape, want.shape);
      assert.ok(maxRelDiff(got.values, want.values) < 1e-5, `shapes ${sa} ${sb} tA=${ta} tB=${tb}`);
    }
  }
});
