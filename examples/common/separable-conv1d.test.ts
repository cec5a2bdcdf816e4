import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SeparableConv1D } from './separable-conv1d.ts';
import { loadTfjsModel, saveTfjsModel } from '../../src/tfjs/save-tfjs.ts';
import { initTfWasm } from '../../src/tfjs/setup.ts';

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const configs = [
  { k: 3, s: 1, d: 1, pad: 'same', m: 1 },
  { k: 3, s: 1, d: 1, pad: 'valid', m: 2 },
  { k: 4, s: 2, d: 1, pad: 'same', m: 1 },
  { k: 2, s: 1, d: 1, pad: 'same', m: 3 },
  { k: 3, s: 1, d: 2, pad: 'same', m: 1 },
  { k: 3, s: 3, d: 1, pad: 'valid', m: 1 },
] as const;

test('SeparableConv1D equals tf.separableConv2d on the expanded input (padding, strides, dilation, multiplier)', async () => {
  await tf.setBackend('cpu');
  for (const c of configs) {
    const layer = new SeparableConv1D({ filters: 5, kernelSize: c.k, strides: c.s, dilationRate: c.d, padding: c.pad, depthMultiplier: c.m,
      activation: 'relu', biasInitializer: tf.initializers.randomNormal({ seed: 3 }), depthwiseInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      pointwiseInitializer: tf.initializers.glorotUniform({ seed: 2 }) });
    const x = tf.randomNormal([2, 11, 4], 0, 1, 'float32', 9);
    const y = layer.apply(x) as tf.Tensor;
    const [dw, pw, b] = layer.getWeights();
    assert.deepEqual([dw.shape, pw.shape, b.shape], [[c.k, 4, c.m], [1, 4 * c.m, 5], [5]]);
    const ref = tf.relu(tf.add(tf.squeeze(tf.separableConv2d(tf.expandDims(x, 1) as tf.Tensor4D, tf.expandDims(dw, 0) as tf.Tensor4D,
      tf.expandDims(pw, 0) as tf.Tensor4D, [1, c.s], c.pad, [1, c.d]), [1]), b));
    assert.deepEqual(y.shape, ref.shape, JSON.stringify(c));
    assert.deepEqual(layer.computeOutputShape([null, 11, 4]), [null, ref.shape[1], 5]);
    assert.ok(maxAbs(y.dataSync(), ref.dataSync()) < 1e-5, JSON.stringify(c));
  }
});

test('SeparableConv1D saves with Keras class name, config fields, weight names and shapes, and loads back', async () => {
  await tf.setBackend('cpu');
  const model = tf.sequential({ layers: [
    tf.layers.embedding({ name: 'embedding', inputDim: 30, outputDim: 6, inputLength: 9 }),
    new SeparableConv1D({ name: 'separable_conv1d', filters: 7, kernelSize: 3, padding: 'same', activation: 'relu', depthMultiplier: 2,
      depthwiseInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
    tf.layers.globalAveragePooling1d({ name: 'gap' }),
  ] });
  const dir = mkdtempSync(join(tmpdir(), 'sepconv-'));
  try {
    const { modelJsonPath } = await saveTfjsModel(model, join(dir, 'tfjs'));
    const json = JSON.parse(readFileSync(modelJsonPath, 'utf8'));
    const layer = json.modelTopology.config.layers[1];
    assert.equal(layer.class_name, 'SeparableConv1D');
    const cfg = layer.config;
    for (const key of ['filters', 'kernel_size', 'strides', 'padding', 'data_format', 'dilation_rate', 'depth_multiplier', 'activation',
      'use_bias', 'depthwise_initializer', 'pointwise_initializer', 'bias_initializer', 'depthwise_regularizer', 'pointwise_constraint']) {
      assert.ok(key in cfg, `config has ${key}`);
    }
    assert.deepEqual([cfg.filters, cfg.kernel_size, cfg.strides, cfg.padding, cfg.data_format, cfg.dilation_rate, cfg.depth_multiplier, cfg.activation, cfg.use_bias],
      [7, [3], [1], 'same', 'channels_last', [1], 2, 'relu', true]);
    assert.ok(['GlorotUniform', 'VarianceScaling'].includes(cfg.depthwise_initializer.class_name));
    assert.deepEqual(json.weightsManifest[0].weights.map((w: { name: string; shape: number[] }) => [w.name, w.shape]), [
      ['embedding/embeddings', [30, 6]],
      ['separable_conv1d/depthwise_kernel', [3, 6, 2]],
      ['separable_conv1d/pointwise_kernel', [1, 12, 7]],
      ['separable_conv1d/bias', [7]],
    ]);
    const back = await loadTfjsModel(modelJsonPath);
    assert.ok(back.layers[1] instanceof SeparableConv1D);
    const x = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8, 9], [0, 0, 29, 1, 1, 1, 3, 3, 3]]);
    assert.ok(maxAbs((back.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync()) < 1e-7);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SeparableConv1D gradients (weights and input) on wasm equal the reference on cpu', async () => {
  await initTfWasm();
  for (const c of [{ s: 1, pad: 'same' }, { s: 2, pad: 'same' }, { s: 2, pad: 'valid' }] as const) {
    const layer = new SeparableConv1D({ filters: 3, kernelSize: 3, strides: c.s, padding: c.pad, depthMultiplier: 2, activation: 'tanh',
      depthwiseInitializer: tf.initializers.glorotUniform({ seed: 1 }), pointwiseInitializer: tf.initializers.glorotUniform({ seed: 2 }) });
    const x = tf.randomNormal([2, 7, 4], 0, 1, 'float32', 5);
    layer.apply(x);
    const [dw, pw, b] = layer.getWeights();
    // reference: the same function through tf.separableConv2d, differentiated on cpu
    const ref = (xx: tf.Tensor, d: tf.Tensor, p: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.square(tf.tanh(tf.add(tf.squeeze(tf.separableConv2d(
      tf.expandDims(xx, 1) as tf.Tensor4D, tf.expandDims(d, 0) as tf.Tensor4D, tf.expandDims(p, 0) as tf.Tensor4D, [1, c.s], c.pad), [1]), bb))));
    await tf.setBackend('cpu');
    const want = tf.grads(ref)([x, dw, pw, b]).map((g) => g.dataSync());
    await tf.setBackend('wasm');
    const got = tf.grads((xx: tf.Tensor) => tf.sum(tf.square(layer.apply(xx) as tf.Tensor)))([x])[0].dataSync();
    assert.ok(maxAbs(got, want[0]) < 1e-5, `input gradient ${JSON.stringify(c)}`);
    const g = tf.variableGrads(() => tf.sum(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar).grads;
    const names = Object.keys(g);
    assert.equal(names.length, 3);
    names.forEach((k, i) => assert.ok(maxAbs(g[k].dataSync(), want[i + 1]) < 1e-5, `${k} ${JSON.stringify(c)}`));
  }
});
