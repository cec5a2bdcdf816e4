import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { importTfjsArtifacts } from '../index.ts';
import { runOnnx, type TensorData } from '../../onnx/ort.ts';
import { expectImportMatches, randomizeWeights, relativeError, tfReady } from '../support.testkit.ts';

function seq(layers: tf.layers.Layer[], seed = 1): tf.Sequential {
  const m = tf.sequential({ layers });
  randomizeWeights(m, seed);
  return m;
}

const TFJS_ACTIVATIONS = ['elu', 'hardSigmoid', 'linear', 'relu', 'relu6', 'selu', 'sigmoid', 'softmax', 'softplus', 'softsign', 'tanh', 'swish', 'mish', 'gelu', 'gelu_new'] as const;

test('Activation layer with every TF.js activation, and Dense/Conv activation configs', async () => {
  for (const a of TFJS_ACTIVATIONS) {
    // Scale inputs so relu6/hard_sigmoid/clips are exercised on both sides.
    const x = tf.randomUniform([3, 4, 5], -8, 8, 'float32', 11);
    await expectImportMatches(seq([tf.layers.activation({ inputShape: [4, 5], activation: a })]), { inputs: [x], label: `Activation(${a})` });
    await expectImportMatches(seq([tf.layers.dense({ inputShape: [5], units: 4, activation: a })]), { label: `Dense(${a})` });
  }
  await expectImportMatches(seq([tf.layers.conv2d({ inputShape: [5, 5, 2], filters: 3, kernelSize: 2, activation: 'softmax' })]), { label: 'Conv2D softmax over channels' });
});

test('ReLU (max_value), LeakyReLU, PReLU (shared axes), ELU, ThresholdedReLU, Softmax (axis)', async () => {
  const x = tf.randomUniform([2, 3, 4, 5], -4, 4, 'float32', 3);
  const opts = { inputs: [x] };
  await expectImportMatches(seq([tf.layers.reLU({ inputShape: [3, 4, 5] })]), opts);
  await expectImportMatches(seq([tf.layers.reLU({ inputShape: [3, 4, 5], maxValue: 1.5 })]), opts);
  await expectImportMatches(seq([tf.layers.leakyReLU({ inputShape: [3, 4, 5] })]), opts);
  await expectImportMatches(seq([tf.layers.leakyReLU({ inputShape: [3, 4, 5], alpha: 0.05 })]), opts);
  await expectImportMatches(seq([tf.layers.prelu({ inputShape: [3, 4, 5] })]), opts);
  await expectImportMatches(seq([tf.layers.prelu({ inputShape: [3, 4, 5], sharedAxes: [1, 2] })], 2), opts);
  await expectImportMatches(seq([tf.layers.elu({ inputShape: [3, 4, 5] })]), opts);
  await expectImportMatches(seq([tf.layers.thresholdedReLU({ inputShape: [3, 4, 5], theta: 0.5 })]), opts);
  await expectImportMatches(seq([tf.layers.softmax({ inputShape: [3, 4, 5], axis: -1 })]), opts);
});

/** Runs one hand-written layer config (what TF.js cannot build) on x. */
async function runOne(className: string, config: Record<string, unknown>, x: tf.Tensor, kerasVersion = '2.15.0'): Promise<TensorData> {
  const layers = [
    { class_name: 'InputLayer', config: { name: 'x', batch_input_shape: [null, ...x.shape.slice(1)], dtype: 'float32' } },
    { class_name: className, config: { name: 'l', ...config } },
  ];
  const onnx = importTfjsArtifacts({ modelTopology: { class_name: 'Sequential', config: { name: 's', layers }, keras_version: kerasVersion } });
  return (await runOnnx(onnx, { x: { dtype: 'float32', dims: x.shape, data: x.dataSync() as Float32Array } })).l!;
}

test('Keras activations TF.js lacks: exponential, gelu approximate, Keras 3 hard_sigmoid, hard_silu, leaky_relu, log_softmax, ReLU threshold/negative_slope, ELU alpha, Softmax axis', async () => {
  await tfReady();
  const x = tf.randomUniform([2, 7], -5, 5, 'float32', 5);
  const cases: [string, Record<string, unknown>, string, tf.Tensor][] = [
    ['Activation', { activation: 'exponential' }, '2.15.0', tf.exp(x)],
    ['Activation', { activation: { module: 'keras.activations', class_name: 'function', config: 'gelu' } }, '3.3.0', tf.mul(x, tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))).mul(0.5)],
    ['Activation', { activation: 'hard_sigmoid' }, '2.15.0', tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1)],
    ['Activation', { activation: 'hard_sigmoid' }, '3.3.0', tf.div(tf.relu6(tf.add(x, 3)), 6)],
    ['Activation', { activation: 'hard_silu' }, '3.3.0', tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6))],
    ['Activation', { activation: 'leaky_relu' }, '3.3.0', tf.leakyRelu(x, 0.2)],
    ['Activation', { activation: 'log_softmax' }, '3.3.0', tf.logSoftmax(x)],
    ['Activation', { activation: 'silu' }, '3.3.0', tf.mul(x, tf.sigmoid(x))],
    ['ReLU', { max_value: 3, negative_slope: 0.1, threshold: 1 }, '2.15.0', tf.where(tf.greaterEqual(x, 1), tf.minimum(x, 3), tf.mul(tf.sub(x, 1), 0.1))],
    ['ReLU', { threshold: -1 }, '2.15.0', tf.where(tf.greaterEqual(x, -1), x, tf.zerosLike(x))],
    ['ReLU', { negative_slope: 0.2, max_value: 2 }, '2.15.0', tf.minimum(tf.leakyRelu(x, 0.2), 2)],
    ['LeakyReLU', { negative_slope: 0.25 }, '3.3.0', tf.leakyRelu(x, 0.25)],
    ['ELU', { alpha: 0.7 }, '2.15.0', tf.where(tf.greater(x, 0), x, tf.mul(tf.sub(tf.exp(x), 1), 0.7))],
  ];
  for (const [cls, cfg, version, want] of cases) {
    const got = await runOne(cls, cfg, x, version);
    assert.ok(relativeError(got, { dims: want.shape, data: want.dataSync() }) < 1e-5, `${cls} ${JSON.stringify(cfg)} (Keras ${version})`);
  }
  const x3 = tf.randomUniform([2, 3, 4], -3, 3, 'float32', 6);
  const soft = await runOne('Softmax', { axis: 1 }, x3);
  const wantSoft = tf.div(tf.exp(x3), tf.sum(tf.exp(x3), 1, true));
  assert.ok(relativeError(soft, { dims: wantSoft.shape, data: wantSoft.dataSync() }) < 1e-5, 'Softmax axis 1');
  // gelu with approximate=true, serialized as an object with its config.
  const approx = await runOne('Activation', { activation: { class_name: 'gelu', config: { name: 'gelu', approximate: true } } }, x, '3.3.0');
  const inner = tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI)));
  const wantApprox = tf.mul(tf.mul(x, 0.5), tf.add(1, inner));
  assert.ok(relativeError(approx, { dims: wantApprox.shape, data: wantApprox.dataSync() }) < 1e-5, 'gelu approximate');
});
