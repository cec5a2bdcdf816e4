import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { expectImportMatches, randomizeWeights } from '../support.testkit.ts';
import { importTfjsArtifacts } from '../index.ts';
import { runOnnx } from '../../onnx/ort.ts';

function seq(layers: tf.layers.Layer[], seed = 1): tf.Sequential {
  const m = tf.sequential({ layers });
  randomizeWeights(m, seed);
  return m;
}

test('Dense: rank 2 and 3, with and without bias, with activations', async () => {
  await expectImportMatches(seq([tf.layers.dense({ inputShape: [6], units: 4 })]));
  await expectImportMatches(seq([tf.layers.dense({ inputShape: [6], units: 3, useBias: false, activation: 'relu' })]));
  await expectImportMatches(seq([tf.layers.dense({ inputShape: [5, 6], units: 3, activation: 'tanh' })]));
  const { onnx } = await expectImportMatches(seq([tf.layers.dense({ inputShape: [6], units: 4, activation: 'softmax', name: 'probs' })]));
  assert.equal(onnx.graph!.output[0]!.name, 'probs');
  assert.ok(onnx.graph!.node.every((n) => n.name.startsWith('probs/')));
});

test('Flatten keeps Keras (channels-last) order; Reshape with -1; Permute; RepeatVector', async () => {
  await expectImportMatches(seq([tf.layers.conv2d({ inputShape: [5, 4, 2], filters: 3, kernelSize: 2 }), tf.layers.flatten(), tf.layers.dense({ units: 4 })]));
  await expectImportMatches(seq([tf.layers.reshape({ inputShape: [12], targetShape: [3, 4] })]));
  await expectImportMatches(seq([tf.layers.reshape({ inputShape: [3, 4, 2], targetShape: [-1, 6] })]));
  await expectImportMatches(seq([tf.layers.permute({ inputShape: [3, 4, 2], dims: [3, 1, 2] })]));
  await expectImportMatches(seq([tf.layers.permute({ inputShape: [3, 4], dims: [2, 1] })]));
  await expectImportMatches(seq([tf.layers.dense({ inputShape: [5], units: 3 }), tf.layers.repeatVector({ n: 4 })]));
});

test('Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout, AlphaDropout are identities that keep their layer', async () => {
  const m = seq([
    tf.layers.dense({ inputShape: [6], units: 6, name: 'd1' }),
    tf.layers.dropout({ rate: 0.5, name: 'drop' }),
    tf.layers.gaussianNoise({ stddev: 1, name: 'noise' }),
    tf.layers.gaussianDropout({ rate: 0.3, name: 'gdrop' }),
    tf.layers.alphaDropout({ rate: 0.3, name: 'adrop' }),
    tf.layers.reshape({ targetShape: [3, 2], name: 'r' }),
    tf.layers.spatialDropout1d({ rate: 0.4, name: 'sdrop' }),
  ]);
  const { onnx } = await expectImportMatches(m);
  for (const name of ['drop', 'noise', 'gdrop', 'adrop', 'sdrop']) {
    assert.ok(onnx.graph!.node.some((n) => n.name === `${name}/Identity`), `${name} is a layer of its own`);
  }
});

test('Embedding: float32 token ids cast inside the graph; ids at the vocabulary edges', async () => {
  const m = seq([tf.layers.embedding({ inputDim: 20, outputDim: 4, inputLength: 7, name: 'emb' }), tf.layers.flatten(), tf.layers.dense({ units: 2 })]);
  const { onnx } = await expectImportMatches(m, { integerInputs: 20 });
  assert.equal(onnx.graph!.input[0]!.type!.value.case, 'tensorType');
  assert.equal((onnx.graph!.input[0]!.type!.value.value as { elemType: number }).elemType, 1, 'the input stays float32');
  assert.ok(onnx.graph!.node.some((n) => n.opType === 'Cast' && n.name.startsWith('emb/')));
  const edges = tf.tensor([[0, 19, 0, 19, 5, 0, 1], [19, 19, 19, 0, 0, 0, 3]], [2, 7], 'float32');
  await expectImportMatches(m, { inputs: [edges] });
  // Unknown sequence length.
  await expectImportMatches(seq([tf.layers.embedding({ inputDim: 9, outputDim: 3, inputShape: [null] as unknown as number[] }), tf.layers.globalAveragePooling1d({})]), { integerInputs: 9, dynamicDim: 6 });
});

test('SpatialDropout2D/3D and ActivityRegularization (hand-written configs) are identities', async () => {
  const layers = [
    { class_name: 'InputLayer', config: { name: 'x', batch_input_shape: [null, 2, 3, 4, 2], dtype: 'float32' } },
    { class_name: 'SpatialDropout3D', config: { name: 'sd3', rate: 0.5 } },
    { class_name: 'Reshape', config: { name: 'r', target_shape: [6, 4, 2] } },
    { class_name: 'SpatialDropout2D', config: { name: 'sd2', rate: 0.5 } },
    { class_name: 'ActivityRegularization', config: { name: 'reg', l1: 0.1 } },
  ];
  const onnx = importTfjsArtifacts({ modelTopology: { class_name: 'Sequential', config: { name: 's', layers }, keras_version: '2.15.0' } });
  const data = Float32Array.from({ length: 2 * 48 }, (_, i) => i / 7 - 3);
  const got = await runOnnx(onnx, { x: { dtype: 'float32', dims: [2, 2, 3, 4, 2], data } });
  assert.deepEqual(got.reg!.dims, [2, 6, 4, 2]);
  assert.deepEqual(Array.from(got.reg!.data as Float32Array), Array.from(data));
});

test('Rescaling (scalar, per channel) and Identity', async () => {
  await expectImportMatches(seq([tf.layers.rescaling({ inputShape: [4, 4, 3], scale: 1 / 255, offset: -0.5 })]));
  const layers = [
    { class_name: 'InputLayer', config: { name: 'x', batch_shape: [null, 2, 3], dtype: 'float32' } },
    { class_name: 'Rescaling', config: { name: 'r', scale: [1, 2, 3], offset: [0, 1, 0] } },
    { class_name: 'Identity', config: { name: 'id' } },
  ];
  const onnx = importTfjsArtifacts({ modelTopology: { class_name: 'Sequential', config: { name: 's', layers }, keras_version: '3.3.0' } });
  const got = await runOnnx(onnx, { x: { dtype: 'float32', dims: [1, 2, 3], data: Float32Array.from([1, 1, 1, 2, 2, 2]) } });
  assert.deepEqual(Array.from(got.id!.data as Float32Array), [1, 3, 3, 2, 5, 6]);
});
