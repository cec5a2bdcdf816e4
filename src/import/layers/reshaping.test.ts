import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { importTfjsArtifacts } from '../index.ts';
import { runOnnx, type TensorData } from '../../onnx/ort.ts';
import { expectImportMatches, relativeError, tfReady } from '../support.testkit.ts';

const seq = (layers: tf.layers.Layer[]) => tf.sequential({ layers });

test('ZeroPadding2D: int, symmetric and asymmetric amounts', async () => {
  await expectImportMatches(seq([tf.layers.zeroPadding2d({ inputShape: [4, 5, 2] })]));
  await expectImportMatches(seq([tf.layers.zeroPadding2d({ inputShape: [4, 5, 2], padding: [2, 1] })]));
  await expectImportMatches(seq([tf.layers.zeroPadding2d({ inputShape: [4, 5, 2], padding: [[1, 0], [0, 3]] })]));
});

test('Cropping2D: symmetric, asymmetric, zero on one side', async () => {
  await expectImportMatches(seq([tf.layers.cropping2D({ inputShape: [7, 6, 2], cropping: 1 })]));
  await expectImportMatches(seq([tf.layers.cropping2D({ inputShape: [7, 6, 2], cropping: [[2, 0], [1, 3]] })]));
  await expectImportMatches(seq([tf.layers.cropping2D({ inputShape: [7, 6, 2], cropping: [2, 1] })]));
});

test('UpSampling2D: nearest with equal and unequal factors, bilinear (tfjs coordinates)', async () => {
  await expectImportMatches(seq([tf.layers.upSampling2d({ inputShape: [3, 4, 2] })]));
  await expectImportMatches(seq([tf.layers.upSampling2d({ inputShape: [3, 4, 2], size: [3, 2] })]));
  await expectImportMatches(seq([tf.layers.upSampling2d({ inputShape: [3, 4, 2], size: [2, 3], interpolation: 'bilinear' })]));
});

/** Runs one hand-written Keras layer (TF.js has no 1-D padding/cropping/upsampling layers) on x. */
async function runOne(className: string, config: Record<string, unknown>, x: tf.Tensor, kerasVersion = '2.15.0'): Promise<TensorData> {
  const layers = [
    { class_name: 'InputLayer', config: { name: 'x', batch_input_shape: [null, ...x.shape.slice(1)], dtype: 'float32' } },
    { class_name: className, config: { name: 'l', ...config } },
  ];
  const onnx = importTfjsArtifacts({ modelTopology: { class_name: 'Sequential', config: { name: 's', layers }, keras_version: kerasVersion } });
  const got = await runOnnx(onnx, { x: { dtype: 'float32', dims: x.shape, data: x.dataSync() as Float32Array } });
  return got.l!;
}

test('ZeroPadding1D, Cropping1D, UpSampling1D match TF.js ops', async () => {
  await tfReady();
  const x = tf.randomUniform([2, 6, 3], -1, 1, 'float32', 1);
  const check = (got: TensorData, want: tf.Tensor, what: string) =>
    assert.ok(relativeError(got, { dims: want.shape, data: want.dataSync() }) < 1e-6, what);
  check(await runOne('ZeroPadding1D', { padding: [2, 1] }, x), tf.pad(x, [[0, 0], [2, 1], [0, 0]]), 'pad [2,1]');
  check(await runOne('ZeroPadding1D', { padding: 3 }, x), tf.pad(x, [[0, 0], [3, 3], [0, 0]]), 'pad 3');
  check(await runOne('Cropping1D', { cropping: [1, 2] }, x), x.slice([0, 1, 0], [2, 3, 3]), 'crop [1,2]');
  check(await runOne('Cropping1D', { cropping: [0, 3] }, x), x.slice([0, 0, 0], [2, 3, 3]), 'crop [0,3]');
  check(await runOne('UpSampling1D', { size: 3 }, x), tf.stack([x, x, x], 2).reshape([2, 18, 3]), 'upsample 3');
});

test('UpSampling2D bilinear from Keras 2.3+ uses half-pixel centres (tf.image.resize), before 2.3 asymmetric', async () => {
  await tfReady();
  const x = tf.randomUniform([1, 3, 4, 2], -1, 1, 'float32', 4);
  const got = await runOne('UpSampling2D', { size: [2, 3], interpolation: 'bilinear' }, x);
  const want = tf.image.resizeBilinear(x as tf.Tensor4D, [6, 12], false, true);
  assert.ok(relativeError(got, { dims: want.shape, data: want.dataSync() }) < 1e-5);
  // Keras before 2.3 (TF 1.x) resized with asymmetric coordinates, like tfjs.
  const old = await runOne('UpSampling2D', { size: [2, 3], interpolation: 'bilinear' }, x, '2.2.4-tf');
  const wantOld = tf.image.resizeBilinear(x as tf.Tensor4D, [6, 12], false, false);
  assert.ok(relativeError(old, { dims: wantOld.shape, data: wantOld.dataSync() }) < 1e-5);
});

test('ZeroPadding3D, Cropping3D, UpSampling3D match TF.js ops', async () => {
  await tfReady();
  const x = tf.randomUniform([2, 3, 4, 5, 2], -1, 1, 'float32', 2);
  const check = (got: TensorData, want: tf.Tensor, what: string) => assert.ok(relativeError(got, { dims: want.shape, data: want.dataSync() }) < 1e-6, what);
  check(await runOne('ZeroPadding3D', { padding: [[1, 0], [0, 2], [1, 1]] }, x), tf.pad(x, [[0, 0], [1, 0], [0, 2], [1, 1], [0, 0]]), 'pad3d');
  check(await runOne('Cropping3D', { cropping: [[1, 0], [1, 2], [0, 1]] }, x), x.slice([0, 1, 1, 0, 0], [2, 2, 1, 4, 2]), 'crop3d');
  const up = (t: tf.Tensor, axis: number, n: number) => tf.concat(tf.split(t, t.shape[axis]!, axis).flatMap((s) => Array.from({ length: n }, () => s)), axis);
  check(await runOne('UpSampling3D', { size: [2, 1, 3] }, x), up(up(x, 1, 2), 3, 3), 'upsample3d');
});

test('CenterCrop (odd and even margins)', async () => {
  await expectImportMatches(seq([tf.layers.centerCrop({ inputShape: [7, 8, 2], height: 4, width: 5 })]));
  await expectImportMatches(seq([tf.layers.centerCrop({ inputShape: [6, 6, 3], height: 3, width: 6 })]));
});
