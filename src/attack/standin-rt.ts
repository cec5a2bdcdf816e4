/**
 * A stand-in Rotten Tomatoes classifier: the "earlier runs" of docs/results/protection.md used it
 * while the paper's sepCNN build (examples/rt-polarity/build.ts) did not learn yet (50 %, loss
 * ln 2); kept so that table can be reproduced. Same data, tokenizer and sequence length as the
 * example; a small CNN:
 * Embedding 32 → Conv1D 32 k3 relu → GlobalMaxPooling1D → Dense 16 relu → Dense 2 softmax.
 * Delete this file with that table.
 *
 * `node --import tsx src/attack/standin-rt.ts --out DIR [--epochs N] [--seed S]`
 * writes DIR/tfjs/model.json and DIR/model.onnx and prints the test accuracy.
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { initTfWasm, withSeededRandom } from '../tfjs/setup.ts';
import { saveTfjsModel } from '../tfjs/save-tfjs.ts';
import { accuracy } from '../tfjs/train-utils.ts';
import { loadRtPolarity } from '../datasets/rt-polarity.ts';
import { encodeModel } from '../onnx/codec.ts';
import { importModel } from '../import/index.ts';

/** Trains the stand-in; returns its test accuracy and the ONNX path. */
export async function buildRtStandin(out: string, epochs = 3, seed = 42): Promise<{ testAccuracy: number; onnxPath: string }> {
  await initTfWasm();
  const d = loadRtPolarity(seed);
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  const model = await withSeededRandom(seed, async () => {
    const m = tf.sequential({ name: 'rt_standin', layers: [
      tf.layers.embedding({ name: 'embedding', inputDim: d.vocabSize, outputDim: 32, inputLength: d.maxLength,
        embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed }) }),
      tf.layers.conv1d({ name: 'conv1d', filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.globalMaxPooling1d({ name: 'global_max_pooling1d' }),
      tf.layers.dense({ name: 'dense', units: 16, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.dense({ name: 'dense_1', units: 2, activation: 'softmax', kernelInitializer: init(3) }),
    ] });
    m.compile({ optimizer: tf.train.adam(3e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const x = tf.tensor2d(d.train.x, [d.train.count, d.maxLength]);
    const y = tf.oneHot(tf.tensor1d(d.train.labels, 'int32'), 2);
    await m.fit(x, y, { epochs, batchSize: 64, shuffle: true, verbose: 0,
      callbacks: { onEpochEnd: async (e, logs) => console.log(`rt-standin: epoch ${e + 1}: loss ${logs?.loss?.toFixed(4)} acc ${(logs?.acc ?? logs?.accuracy)?.toFixed(4)}`) } });
    tf.dispose([x, y]);
    return m;
  });
  const xt = tf.tensor2d(d.test.x, [d.test.count, d.maxLength]);
  const testAccuracy = accuracy(model, xt, d.test.labels);
  xt.dispose();
  mkdirSync(out, { recursive: true });
  const { modelJsonPath } = await saveTfjsModel(model, join(out, 'tfjs'));
  const onnxPath = join(out, 'model.onnx');
  writeFileSync(onnxPath, encodeModel(await importModel(modelJsonPath)));
  return { testAccuracy, onnxPath };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { out: { type: 'string' }, epochs: { type: 'string' }, seed: { type: 'string' } } });
  if (!values.out) {
    process.stderr.write('usage: node --import tsx src/attack/standin-rt.ts --out DIR [--epochs N] [--seed S]\n');
    process.exit(2);
  }
  const r = await buildRtStandin(values.out, Number(values.epochs ?? 3), Number(values.seed ?? 42));
  console.log(`rt-standin: test accuracy ${(r.testAccuracy * 100).toFixed(2)}%; wrote ${r.onnxPath}`);
}
