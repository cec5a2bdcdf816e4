import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { importTfjsArtifacts } from '../index.ts';
import { runOnnx, type TensorData } from '../../onnx/ort.ts';
import { expectImportMatches, randomizeWeights, relativeError, saveTfjsArtifacts, seededRandom, tfReady } from '../support.testkit.ts';

function seq(layers: tf.layers.Layer[], seed = 1): tf.Sequential {
  const m = tf.sequential({ layers });
  randomizeWeights(m, seed);
  return m;
}

test('Conv2D: kernel sizes, strides, dilation, same/valid padding, bias, activation', async () => {
  const cases: Parameters<typeof tf.layers.conv2d>[0][] = [
    { filters: 4, kernelSize: 3 },
    { filters: 3, kernelSize: [3, 2], strides: 2, padding: 'same', activation: 'relu' },
    { filters: 2, kernelSize: 3, strides: [2, 1], padding: 'same', useBias: false },
    { filters: 5, kernelSize: 4, padding: 'same' },
    { filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'sigmoid' },
    { filters: 3, kernelSize: 2, dilationRate: [2, 1], padding: 'valid' },
    { filters: 3, kernelSize: 1, activation: 'softmax' },
  ];
  for (const [i, c] of cases.entries()) {
    await expectImportMatches(seq([tf.layers.conv2d({ inputShape: [9, 8, 3], ...c })], i), { label: `conv2d case ${i}` });
  }
});

test('Conv1D (valid, same, causal, strides, dilation) and Conv3D', async () => {
  await expectImportMatches(seq([tf.layers.conv1d({ inputShape: [12, 3], filters: 4, kernelSize: 3 })]));
  await expectImportMatches(seq([tf.layers.conv1d({ inputShape: [12, 3], filters: 4, kernelSize: 4, strides: 3, padding: 'same', activation: 'relu' })]));
  await expectImportMatches(seq([tf.layers.conv3d({ inputShape: [5, 6, 4, 2], filters: 3, kernelSize: 2, padding: 'same' })]));
});

test('DepthwiseConv2D and SeparableConv2D: multipliers, strides, padding', async () => {
  await expectImportMatches(seq([tf.layers.depthwiseConv2d({ inputShape: [8, 8, 3], kernelSize: 3 })]));
  await expectImportMatches(seq([tf.layers.depthwiseConv2d({ inputShape: [8, 7, 3], kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', useBias: false, activation: 'relu6' })]));
  await expectImportMatches(seq([tf.layers.separableConv2d({ inputShape: [8, 8, 3], filters: 5, kernelSize: 3 })]));
  await expectImportMatches(seq([tf.layers.separableConv2d({ inputShape: [9, 8, 4], filters: 6, kernelSize: [3, 2], depthMultiplier: 2, strides: 2, padding: 'same', activation: 'elu' })]));
  await expectImportMatches(seq([tf.layers.separableConv2d({ inputShape: [9, 9, 2], filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', useBias: false })]));
});

test('Conv2DTranspose: strides, same/valid, kernel smaller than stride', async () => {
  const cases: Parameters<typeof tf.layers.conv2dTranspose>[0][] = [
    { filters: 3, kernelSize: 3 },
    { filters: 4, kernelSize: 3, strides: 2, padding: 'same' },
    { filters: 2, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu' },
    { filters: 2, kernelSize: 3, strides: 2, padding: 'valid' },
    { filters: 2, kernelSize: 2, strides: 3, padding: 'valid', useBias: false },
    { filters: 2, kernelSize: [3, 2], strides: [1, 2], padding: 'same' },
  ];
  for (const [i, c] of cases.entries()) {
    await expectImportMatches(seq([tf.layers.conv2dTranspose({ inputShape: [5, 6, 3], ...c })], i), { label: `conv2dTranspose case ${i}` });
  }
});

test('conv layers with channels_first data format', async () => {
  await tfReady();
  // TF.js CPU cannot run channels_first convolutions; rewrite a channels_last model's config and compare with transposed data.
  const m = seq([tf.layers.conv2d({ inputShape: [6, 5, 3], filters: 4, kernelSize: 3, padding: 'same', name: 'c' }), tf.layers.flatten({ name: 'f' })]);
  const a = await saveTfjsArtifacts(m);
  const topo = JSON.parse(JSON.stringify(a.modelTopology)) as { config: { layers: { config: Record<string, unknown> }[] } };
  topo.config.layers[0]!.config.data_format = 'channels_first';
  topo.config.layers[0]!.config.batch_input_shape = [null, 3, 6, 5];
  topo.config.layers[1]!.config.data_format = 'channels_first';
  const onnx = importTfjsArtifacts({ ...a, modelTopology: topo });
  const x = tf.randomUniform([2, 6, 5, 3], -1, 1, 'float32', 3);
  const want = m.predict(x) as tf.Tensor;
  const got = await runOnnx(onnx, { [onnx.graph!.input[0]!.name]: { dtype: 'float32', dims: [2, 3, 6, 5], data: x.transpose([0, 3, 1, 2]).dataSync() as Float32Array } });
  // channels_first Flatten permutes to channels-last first, so the outputs agree element for element.
  assert.ok(relativeError(Object.values(got)[0]!, { dims: want.shape, data: want.dataSync() }) < 1e-4);
});

/** Imports a hand-written single-layer topology with given weights; returns ORT's output. */
async function runLayer(className: string, config: Record<string, unknown>, inputShape: number[], weights: { name: string; shape: number[]; data: Float32Array }[], x: tf.Tensor): Promise<TensorData> {
  const layers = [
    { class_name: 'InputLayer', config: { name: 'x', batch_input_shape: [null, ...inputShape], dtype: 'float32' } },
    { class_name: className, config: { name: 'l', ...config } },
  ];
  const onnx = importTfjsArtifacts({
    modelTopology: { class_name: 'Sequential', config: { name: 's', layers }, keras_version: '2.15.0' },
    weightSpecs: weights.map((w) => ({ name: `l/${w.name}`, shape: w.shape, dtype: 'float32' as const })),
    weightData: new Uint8Array(Buffer.concat(weights.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)))),
  });
  const got = await runOnnx(onnx, { x: { dtype: 'float32', dims: x.shape, data: x.dataSync() as Float32Array } });
  return Object.values(got)[0]!;
}

function rand(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

test('Conv2D with groups matches per-group convolutions', async () => {
  await tfReady();
  const x = tf.randomUniform([2, 7, 7, 4], -1, 1, 'float32', 5);
  const kernel = rand(3 * 3 * 2 * 6, 1);
  const bias = rand(6, 2);
  const got = await runLayer('Conv2D', { filters: 6, kernel_size: [3, 3], strides: [1, 1], padding: 'same', groups: 2, use_bias: true, activation: 'linear' }, [7, 7, 4],
    [{ name: 'kernel', shape: [3, 3, 2, 6], data: kernel }, { name: 'bias', shape: [6], data: bias }], x);
  const k = tf.tensor4d(kernel, [3, 3, 2, 6]);
  const [x0, x1] = tf.split(x, 2, 3);
  const [k0, k1] = tf.split(k, 2, 3);
  const want = tf.add(tf.concat([tf.conv2d(x0 as tf.Tensor4D, k0 as tf.Tensor4D, 1, 'same'), tf.conv2d(x1 as tf.Tensor4D, k1 as tf.Tensor4D, 1, 'same')], 3), tf.tensor1d(bias));
  assert.ok(relativeError(got, { dims: want.shape, data: want.dataSync() }) < 1e-4);
});

test('SeparableConv1D and DepthwiseConv1D match their 2-D equivalents on a height-1 image', async () => {
  await tfReady();
  const x = tf.randomUniform([2, 11, 3], -1, 1, 'float32', 9);
  const dw = rand(3 * 3 * 2, 3);
  const pw = rand(6 * 4, 4);
  const b = rand(4, 5);
  for (const [padding, strides] of [['valid', 1], ['same', 2]] as const) {
    const got = await runLayer('SeparableConv1D', { filters: 4, kernel_size: [3], strides: [strides], padding, depth_multiplier: 2, use_bias: true, activation: 'relu' }, [11, 3],
      [{ name: 'depthwise_kernel', shape: [3, 3, 2], data: dw }, { name: 'pointwise_kernel', shape: [1, 6, 4], data: pw }, { name: 'bias', shape: [4], data: b }], x);
    const want = tf.relu(tf.squeeze(tf.separableConv2d(x.expandDims(1) as tf.Tensor4D, tf.tensor4d(dw, [1, 3, 3, 2]), tf.tensor4d(pw, [1, 1, 6, 4]), [1, strides], padding).add(tf.tensor1d(b)), [1]));
    assert.ok(relativeError(got, { dims: want.shape, data: want.dataSync() }) < 1e-4, `separable ${padding}`);
    const gotD = await runLayer('DepthwiseConv1D', { kernel_size: 3, strides, padding, depth_multiplier: 2, use_bias: false }, [11, 3], [{ name: 'depthwise_kernel', shape: [3, 3, 2], data: dw }], x);
    const wantD = tf.squeeze(tf.depthwiseConv2d(x.expandDims(1) as tf.Tensor4D, tf.tensor4d(dw, [1, 3, 3, 2]), [1, strides], padding), [1]);
    assert.ok(relativeError(gotD, { dims: wantD.shape, data: wantD.dataSync() }) < 1e-4, `depthwise ${padding}`);
  }
});

test('Conv1D causal padding matches a left-padded valid convolution', async () => {
  await tfReady();
  const x = tf.randomUniform([2, 10, 3], -1, 1, 'float32', 4);
  const k = rand(3 * 3 * 2, 6);
  const got = await runLayer('Conv1D', { filters: 2, kernel_size: [3], strides: [1], padding: 'causal', dilation_rate: [2], use_bias: false }, [10, 3], [{ name: 'kernel', shape: [3, 3, 2], data: k }], x);
  const want = tf.conv1d(tf.pad(x, [[0, 0], [4, 0], [0, 0]]) as tf.Tensor3D, tf.tensor3d(k, [3, 3, 2]), 1, 'valid', 'NWC', 2);
  assert.ok(relativeError(got, { dims: want.shape, data: want.dataSync() }) < 1e-4);
});

test('Conv1DTranspose and Conv3DTranspose match TF.js conv transpose ops', async () => {
  await tfReady();
  const x = tf.randomUniform([2, 6, 3], -1, 1, 'float32', 12);
  const k = rand(3 * 4 * 3, 13);
  for (const [padding, strides] of [['valid', 2], ['same', 2], ['same', 1]] as const) {
    const got = await runLayer('Conv1DTranspose', { filters: 4, kernel_size: [3], strides: [strides], padding, use_bias: false }, [6, 3], [{ name: 'kernel', shape: [3, 4, 3], data: k }], x);
    const outLen = padding === 'same' ? 6 * strides : 6 * strides + Math.max(3 - strides, 0);
    const want = tf.squeeze(tf.conv2dTranspose(x.expandDims(1) as tf.Tensor4D, tf.tensor4d(k, [1, 3, 4, 3]), [2, 1, outLen, 4], [1, strides], padding), [1]);
    assert.ok(relativeError(got, { dims: want.shape, data: want.dataSync() }) < 1e-4, `conv1d transpose ${padding} ${strides}`);
  }
  const x3 = tf.randomUniform([1, 3, 4, 3, 2], -1, 1, 'float32', 14);
  const k3 = rand(2 * 2 * 2 * 3 * 2, 15);
  const got3 = await runLayer('Conv3DTranspose', { filters: 3, kernel_size: [2, 2, 2], strides: [2, 2, 2], padding: 'same', use_bias: false }, [3, 4, 3, 2], [{ name: 'kernel', shape: [2, 2, 2, 3, 2], data: k3 }], x3);
  const want3 = tf.conv3dTranspose(x3 as tf.Tensor5D, tf.tensor5d(k3, [2, 2, 2, 3, 2]), [1, 6, 8, 6, 3], 2, 'same');
  assert.ok(relativeError(got3, { dims: want3.shape, data: want3.dataSync() }) < 1e-4, 'conv3d transpose');
});
