import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadTfjsModel, saveTfjsModel, WEIGHTS_FILE } from './save-tfjs.ts';

test('saveTfjsModel writes a layers-model model.json + one shard that loads back to the same predictions', async () => {
  await tf.setBackend('cpu');
  const dir = mkdtempSync(join(tmpdir(), 'save-tfjs-'));
  try {
    const model = tf.sequential({ layers: [
      tf.layers.dense({ name: 'd1', inputShape: [4], units: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), biasInitializer: 'ones' }),
      tf.layers.dense({ name: 'd2', units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ] });
    const out = join(dir, 'm', 'tfjs');
    const { modelJsonPath, weightsSize } = await saveTfjsModel(model, out);
    assert.deepEqual(readdirSync(join(dir, 'm')), ['tfjs'], 'no temporary directory left behind');
    const json = JSON.parse(readFileSync(modelJsonPath, 'utf8'));
    assert.equal(json.format, 'layers-model');
    assert.equal(json.modelTopology.class_name, 'Sequential');
    assert.deepEqual(json.weightsManifest[0].paths, [WEIGHTS_FILE]);
    assert.deepEqual(json.weightsManifest[0].weights.map((w: { name: string; shape: number[] }) => [w.name, w.shape]),
      [['d1/kernel', [4, 3]], ['d1/bias', [3]], ['d2/kernel', [3, 2]], ['d2/bias', [2]]]);
    assert.equal(weightsSize, (12 + 3 + 6 + 2) * 4);
    assert.equal(statSync(join(out, WEIGHTS_FILE)).size, weightsSize);
    const back = await loadTfjsModel(modelJsonPath);
    const x = tf.tensor2d([[1, -2, 3, 0.5], [0, 1, 0, -1]]);
    assert.deepEqual(Array.from((back.predict(x) as tf.Tensor).dataSync()), Array.from((model.predict(x) as tf.Tensor).dataSync()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
