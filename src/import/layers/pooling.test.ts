import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { importTfjsArtifacts } from '../index.ts';
import { runOnnx } from '../../onnx/ort.ts';
import { specFromValueInfo } from '../../onnx/types.ts';
import { expectImportMatches, relativeError, saveTfjsArtifacts, tfReady } from '../support.testkit.ts';

const seq = (layers: tf.layers.Layer[]) => tf.sequential({ layers });

test('MaxPooling2D / AveragePooling2D: sizes, strides, same/valid (odd sizes)', async () => {
  const cases: Parameters<typeof tf.layers.maxPooling2d>[0][] = [
    { poolSize: 2 },
    { poolSize: 3, strides: 2, padding: 'same' },
    { poolSize: [2, 3], strides: [1, 2], padding: 'valid' },
    { poolSize: 3, strides: 1, padding: 'same' },
  ];
  for (const [i, c] of cases.entries()) {
    await expectImportMatches(seq([tf.layers.maxPooling2d({ inputShape: [7, 9, 3], ...c })]), { label: `max ${i}` });
    await expectImportMatches(seq([tf.layers.averagePooling2d({ inputShape: [7, 9, 3], ...c })]), { label: `avg ${i}` });
  }
});

test('MaxPooling1D / AveragePooling1D', async () => {
  await expectImportMatches(seq([tf.layers.maxPooling1d({ inputShape: [11, 4], poolSize: 3 })]));
  await expectImportMatches(seq([tf.layers.maxPooling1d({ inputShape: [11, 4], poolSize: 2, strides: 2, padding: 'same' })]));
  await expectImportMatches(seq([tf.layers.averagePooling1d({ inputShape: [11, 4], poolSize: 3, strides: 2, padding: 'same' })]));
  await expectImportMatches(seq([tf.layers.averagePooling1d({ inputShape: [11, 4], poolSize: 2 })]));
});

test('Global pooling 1D/2D, average and max', async () => {
  await expectImportMatches(seq([tf.layers.globalAveragePooling2d({ inputShape: [5, 6, 3] })]));
  await expectImportMatches(seq([tf.layers.globalMaxPooling2d({ inputShape: [5, 6, 3] })]));
  await expectImportMatches(seq([tf.layers.globalAveragePooling1d({ inputShape: [7, 3] })]));
  await expectImportMatches(seq([tf.layers.globalMaxPooling1d({ inputShape: [7, 3] })]));
});

test('Global pooling with keepdims (Keras 2.6+) keeps the reduced axes as 1', async () => {
  await tfReady();
  const m = seq([tf.layers.globalAveragePooling2d({ inputShape: [4, 5, 3], name: 'gap' })]);
  const a = await saveTfjsArtifacts(m);
  const topo = JSON.parse(JSON.stringify(a.modelTopology)) as { config: { layers: { config: Record<string, unknown> }[] } };
  topo.config.layers[0]!.config.keepdims = true;
  const onnx = importTfjsArtifacts({ ...a, modelTopology: topo });
  assert.deepEqual(specFromValueInfo(onnx.graph!.output[0]!)!.shape, ['batch', 1, 1, 3]);
  const x = tf.randomUniform([2, 4, 5, 3], -1, 1, 'float32', 2);
  const want = (m.predict(x) as tf.Tensor).reshape([2, 1, 1, 3]);
  const got = await runOnnx(onnx, { [onnx.graph!.input[0]!.name]: { dtype: 'float32', dims: [2, 4, 5, 3], data: x.dataSync() as Float32Array } });
  assert.ok(relativeError(got.gap!, { dims: want.shape, data: want.dataSync() }) < 1e-6);
});

test('MaxPooling3D / AveragePooling3D (TF.js), GlobalAverage/GlobalMaxPooling3D (vs tf.mean / tf.max)', async () => {
  await expectImportMatches(seq([tf.layers.maxPooling3d({ inputShape: [4, 5, 6, 2], poolSize: 2 })]));
  await expectImportMatches(seq([tf.layers.averagePooling3d({ inputShape: [4, 5, 6, 2], poolSize: [2, 2, 3], strides: 1, padding: 'same' })]));
  await tfReady();
  const x = tf.randomUniform([2, 3, 4, 5, 2], -1, 1, 'float32', 8);
  for (const [cls, want] of [['GlobalAveragePooling3D', tf.mean(x, [1, 2, 3])], ['GlobalMaxPooling3D', tf.max(x, [1, 2, 3])]] as const) {
    const layers = [{ class_name: 'InputLayer', config: { name: 'x', batch_input_shape: [null, 3, 4, 5, 2], dtype: 'float32' } }, { class_name: cls, config: { name: 'l' } }];
    const onnx = importTfjsArtifacts({ modelTopology: { class_name: 'Sequential', config: { name: 's', layers }, keras_version: '2.15.0' } });
    const got = await runOnnx(onnx, { x: { dtype: 'float32', dims: x.shape, data: x.dataSync() as Float32Array } });
    assert.ok(relativeError(got.l!, { dims: want.shape, data: want.dataSync() }) < 1e-6, cls);
  }
});
