import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { expectImportMatches, randomizeWeights } from '../testing.ts';

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
