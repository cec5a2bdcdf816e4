import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { importTfjsArtifacts } from '../index.ts';
import { runOnnx } from '../../onnx/ort.ts';
import { expectImportMatches, randomizeWeights, relativeError, tfReady } from '../support.testkit.ts';

/** A functional model: two inputs through small Dense layers, merged. */
function twoBranch(merge: (xs: tf.SymbolicTensor[]) => tf.SymbolicTensor, shape = [6], units = 4, count = 2): tf.LayersModel {
  const inputs = Array.from({ length: count }, (_, i) => tf.input({ shape, name: `in_${i}` }));
  const branches = inputs.map((x, i) => tf.layers.dense({ units, name: `d_${i}` }).apply(x) as tf.SymbolicTensor);
  const m = tf.model({ inputs, outputs: merge(branches) });
  randomizeWeights(m);
  return m;
}

test('Add/Multiply/Average/Maximum/Minimum with 2 and 3 inputs', async () => {
  const ops = {
    add: (xs: tf.SymbolicTensor[]) => tf.layers.add({ name: 'merge' }).apply(xs) as tf.SymbolicTensor,
    multiply: (xs: tf.SymbolicTensor[]) => tf.layers.multiply({ name: 'merge' }).apply(xs) as tf.SymbolicTensor,
    average: (xs: tf.SymbolicTensor[]) => tf.layers.average({ name: 'merge' }).apply(xs) as tf.SymbolicTensor,
    maximum: (xs: tf.SymbolicTensor[]) => tf.layers.maximum({ name: 'merge' }).apply(xs) as tf.SymbolicTensor,
    minimum: (xs: tf.SymbolicTensor[]) => tf.layers.minimum({ name: 'merge' }).apply(xs) as tf.SymbolicTensor,
  };
  for (const [name, op] of Object.entries(ops)) {
    for (const count of [2, 3]) {
      const { onnx } = await expectImportMatches(twoBranch(op, [6], 4, count), { label: `${name} ×${count}` });
      assert.equal(onnx.graph!.output[0]!.name, 'merge');
    }
  }
});

test('Concatenate on the last and middle axes, 2 and 3 inputs (channels-last kept)', async () => {
  await expectImportMatches(twoBranch((xs) => tf.layers.concatenate().apply(xs) as tf.SymbolicTensor));
  await expectImportMatches(twoBranch((xs) => tf.layers.concatenate({ axis: 1 }).apply(xs) as tf.SymbolicTensor, [3, 5]));
  await expectImportMatches(twoBranch((xs) => tf.layers.concatenate({ axis: 2 }).apply(xs) as tf.SymbolicTensor, [3, 5], 4, 3));
  // Conv feature maps concatenated on channels: the layout stays NHWC at the boundary.
  const x = tf.input({ shape: [6, 6, 2], name: 'img' });
  const a = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(x) as tf.SymbolicTensor;
  const m = tf.model({ inputs: x, outputs: tf.layers.concatenate().apply([a, b]) as tf.SymbolicTensor });
  randomizeWeights(m);
  await expectImportMatches(m);
});

test('Dot: rank 2 (axes 1, normalize) and rank 3 (all axis pairs)', async () => {
  await expectImportMatches(twoBranch((xs) => tf.layers.dot({ axes: 1 }).apply(xs) as tf.SymbolicTensor));
  await expectImportMatches(twoBranch((xs) => tf.layers.dot({ axes: -1, normalize: true }).apply(xs) as tf.SymbolicTensor));
  for (const axes of [[2, 2], [1, 1], [2, 1], [1, 2]] as [number, number][]) {
    await expectImportMatches(twoBranch((xs) => tf.layers.dot({ axes }).apply(xs) as tf.SymbolicTensor, [4, 4], 4), { label: `dot axes ${axes}` });
  }
});

test('Subtract (no TF.js layer): a hand-written Keras config matches a − b', async () => {
  await tfReady();
  const layers = [
    { class_name: 'InputLayer', name: 'a', config: { name: 'a', batch_input_shape: [null, 3, 4], dtype: 'float32' }, inbound_nodes: [] },
    { class_name: 'InputLayer', name: 'b', config: { name: 'b', batch_input_shape: [null, 3, 4], dtype: 'float32' }, inbound_nodes: [] },
    { class_name: 'Subtract', name: 'sub', config: { name: 'sub' }, inbound_nodes: [[['a', 0, 0, {}], ['b', 0, 0, {}]]] },
  ];
  const onnx = importTfjsArtifacts({ modelTopology: { class_name: 'Model', config: { name: 'm', layers, input_layers: [['a', 0, 0], ['b', 0, 0]], output_layers: [['sub', 0, 0]] } } });
  const a = tf.randomUniform([2, 3, 4], -1, 1, 'float32', 1);
  const b = tf.randomUniform([2, 3, 4], -1, 1, 'float32', 2);
  const got = await runOnnx(onnx, { a: { dtype: 'float32', dims: [2, 3, 4], data: a.dataSync() as Float32Array }, b: { dtype: 'float32', dims: [2, 3, 4], data: b.dataSync() as Float32Array } });
  const want = a.sub(b);
  assert.ok(relativeError(got.sub!, { dims: want.shape, data: want.dataSync() }) < 1e-6);
});
