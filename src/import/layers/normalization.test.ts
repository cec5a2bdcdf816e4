import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { importTfjsArtifacts } from '../index.ts';
import { runOnnx } from '../../onnx/ort.ts';
import { relativeError, saveTfjsArtifacts, tfReady } from '../support.testkit.ts';
import { expectImportMatches, randomizeWeights } from '../support.testkit.ts';

function seq(layers: tf.layers.Layer[], seed = 1): tf.Sequential {
  const m = tf.sequential({ layers });
  randomizeWeights(m, seed);
  return m;
}

test('BatchNormalization: last axis, epsilon, center/scale off', async () => {
  await expectImportMatches(seq([tf.layers.batchNormalization({ inputShape: [5, 4, 3] })]));
  await expectImportMatches(seq([tf.layers.batchNormalization({ inputShape: [6] , epsilon: 0.1 })], 2));
  await expectImportMatches(seq([tf.layers.batchNormalization({ inputShape: [5, 4, 3], scale: false })], 5));
  await expectImportMatches(seq([tf.layers.batchNormalization({ inputShape: [5, 4, 3], scale: false, center: false })], 6));
});

test('LayerNormalization: last axis, several trailing axes, non-trailing axis, center/scale off', async () => {
  await expectImportMatches(seq([tf.layers.layerNormalization({ inputShape: [7] })]));
  await expectImportMatches(seq([tf.layers.layerNormalization({ inputShape: [4, 6], epsilon: 1e-5 })], 2));
  await expectImportMatches(seq([tf.layers.layerNormalization({ inputShape: [3, 4, 5], axis: [-2, -1] })], 3));
  await expectImportMatches(seq([tf.layers.layerNormalization({ inputShape: [3, 4, 5], axis: 1 })], 4));
  await expectImportMatches(seq([tf.layers.layerNormalization({ inputShape: [4, 6], center: false })], 5));
  await expectImportMatches(seq([tf.layers.layerNormalization({ inputShape: [4, 6], scale: false, center: false })], 6));
});

// tfjs-layers 4.22 mis-broadcasts BatchNormalization over a non-last axis of a rank-4 input, so
// these cases are checked against the formula computed with TF.js ops.
test('BatchNormalization over a non-last axis matches (x − μ)/√(σ²+ε)·γ + β', async () => {
  await tfReady();
  for (const [shape, axis, center] of [[[3, 5, 4], 1, true], [[5, 4], 1, false], [[4, 3, 2], 2, true]] as const) {
    const m = seq([tf.layers.batchNormalization({ inputShape: [...shape], axis, center })], 7);
    const onnx = importTfjsArtifacts(await saveTfjsArtifacts(m));
    const x = tf.randomUniform([2, ...shape], -1, 1, 'float32', 3);
    const ws = m.getWeights();
    const [g, b, mu, v] = center ? ws : [ws[0]!, tf.zeros([shape[axis - 1]!]), ws[1]!, ws[2]!];
    const bshape = shape.map((d, i) => (i === axis - 1 ? d : 1));
    const want = x.sub(mu!.reshape(bshape)).div(v!.reshape(bshape).add(1e-3).sqrt()).mul(g!.reshape(bshape)).add(b!.reshape(bshape));
    const got = await runOnnx(onnx, { [onnx.graph!.input[0]!.name]: { dtype: 'float32', dims: x.shape, data: x.dataSync() as Float32Array } });
    assert.ok(relativeError(Object.values(got)[0]!, { dims: want.shape, data: want.dataSync() }) < 1e-4, `shape ${shape} axis ${axis}`);
  }
});

test('Normalization (preprocessing): adapted weights or config values, per feature, invert', async () => {
  const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const run = async (config: Record<string, unknown>, weights: { name: string; shape: number[]; data: Float32Array }[]) => {
    const layers = [
      { class_name: 'InputLayer', config: { name: 'x', batch_input_shape: [null, 3], dtype: 'float32' } },
      { class_name: 'Normalization', config: { name: 'n', axis: -1, ...config } },
    ];
    const onnx = importTfjsArtifacts({
      modelTopology: { class_name: 'Sequential', config: { name: 's', layers }, keras_version: '2.15.0' },
      weightSpecs: weights.map((w) => ({ name: `n/${w.name}`, shape: w.shape, dtype: 'float32' as const })),
      weightData: new Uint8Array(Buffer.concat(weights.map((w) => Buffer.from(w.data.buffer)))),
    });
    return Array.from((await runOnnx(onnx, { x: { dtype: 'float32', dims: [2, 3], data: x } })).n!.data as Float32Array);
  };
  const close = (a: number[], b: number[]) => assert.ok(a.every((v, i) => Math.abs(v - b[i]!) < 1e-5), `${a} vs ${b}`);
  const adapted = [{ name: 'mean', shape: [3], data: Float32Array.from([1, 2, 3]) }, { name: 'variance', shape: [3], data: Float32Array.from([4, 1, 0]) }, { name: 'count', shape: [], data: Float32Array.from([10]) }];
  close(await run({}, adapted), [0, 0, 0, 1.5, 3, 3e7]);
  close(await run({ mean: [1, 2, 3], variance: [4, 1, 0.25] }, []), [0, 0, 0, 1.5, 3, 6]);
  close(await run({ mean: 2, variance: 4, invert: true }, []), [4, 6, 8, 10, 12, 14]);
});
