/**
 * The paper's Rotten Tomatoes sepCNN (Google's text-classification guide, 2 blocks):
 * Embedding 200 → Dropout 0.2 → SeparableConv1D 64 k3 relu ×2 → MaxPooling1D 3 →
 * SeparableConv1D 128 k3 relu ×2 → GlobalAveragePooling1D → Dropout 0.2 → Dense 2 softmax,
 * trained on ../shared/datasets/rt-polarity (seeded 90/10 split, see data.ts).
 *
 * `node --import tsx examples/rt-polarity/build.ts --out DIR [--epochs N] [--quick] [--seed S]`
 * writes DIR/tfjs/model.json + weights, DIR/tokenizer.json (words, sequence length) and, when the
 * importer exists, DIR/model.onnx. Input: float32 token ids [N, L]. Adam 1e-3, batch 64,
 * 4 epochs by default (`--quick`: 1 epoch).
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initTfWasm, withSeededRandom } from '../../src/tfjs/setup.ts';
import { saveTfjsModel } from '../../src/tfjs/save-tfjs.ts';
import { exportOnnxIfAvailable, parseBuildArgs, runMain, type BuildOptions } from '../common/build-cli.ts';
import { accuracy, cpuSeconds, progressCallbacks } from '../../src/tfjs/train-utils.ts';
import { SeparableConv1D } from '../common/separable-conv1d.ts';
import { loadRtPolarity } from '../../src/datasets/rt-polarity.ts';

/**
 * The (untrained, seeded) sepCNN.
 *
 * @param vocabSize embedding input_dim
 * @param maxLength sequence length
 * @param seed initializer seed
 */
export function createRtModel(vocabSize: number, maxLength: number, seed = 42): tf.Sequential {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  // Depthwise kernels: He-uniform over the true fan-in of one depthwise filter (k = 3 taps),
  // limit √(6/3). Glorot/He on the (k, in, 1) shape would count `in` as fan-in and shrink the
  // signal ~100× per layer, leaving the loss on a plateau at ln 2 for epochs.
  const depthwise = (k: number) => tf.initializers.randomUniform({ minval: -Math.SQRT2, maxval: Math.SQRT2, seed: seed + k });
  const sep = (name: string, filters: number, k: number) => new SeparableConv1D({ name, filters, kernelSize: 3, padding: 'same',
    activation: 'relu', depthwiseInitializer: depthwise(k), pointwiseInitializer: init(k + 100) });
  return tf.sequential({ name: 'rt_sepcnn', layers: [
    tf.layers.embedding({ name: 'embedding', inputDim: vocabSize, outputDim: 200, inputLength: maxLength,
      embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed }) }),
    tf.layers.dropout({ name: 'dropout', rate: 0.2 }),
    sep('separable_conv1d', 64, 1),
    sep('separable_conv1d_1', 64, 2),
    tf.layers.maxPooling1d({ name: 'max_pooling1d', poolSize: 3 }),
    sep('separable_conv1d_2', 128, 3),
    sep('separable_conv1d_3', 128, 4),
    tf.layers.globalAveragePooling1d({ name: 'global_average_pooling1d' }),
    tf.layers.dropout({ name: 'dropout_1', rate: 0.2 }),
    tf.layers.dense({ name: 'dense', units: 2, activation: 'softmax', kernelInitializer: init(5) }),
  ] });
}

/**
 * Builds, trains, evaluates and saves the Rotten Tomatoes model.
 *
 * @param opts `out`, `epochs` (default 4), `quick`, `seed` (default 42)
 */
export async function buildRtModel(opts: BuildOptions): Promise<{ testAccuracy: number; modelJsonPath: string; seconds: number }> {
  const t0 = performance.now();
  const seed = opts.seed ?? 42;
  const epochs = opts.epochs ?? (opts.quick ? 1 : 4);
  await initTfWasm();
  const data = loadRtPolarity(seed);
  console.log(`rt-polarity: ${data.train.count} train / ${data.test.count} test sentences, vocabulary ${data.vocabSize}, length ${data.maxLength}`);
  const model = await withSeededRandom(seed, async () => {
    const m = createRtModel(data.vocabSize, data.maxLength, seed);
    m.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const x = tf.tensor2d(data.train.x, [data.train.count, data.maxLength]);
    const y = tf.oneHot(tf.tensor1d(data.train.labels, 'int32'), 2);
    await m.fit(x, y, { epochs, batchSize: 64, shuffle: true, verbose: 0, callbacks: progressCallbacks('rt-polarity', 50) });
    tf.dispose([x, y]);
    return m;
  });
  const xt = tf.tensor2d(data.test.x, [data.test.count, data.maxLength]);
  const testAccuracy = accuracy(model, xt, data.test.labels);
  xt.dispose();
  const { modelJsonPath } = await saveTfjsModel(model, join(opts.out, 'tfjs'));
  mkdirSync(opts.out, { recursive: true });
  const tpath = join(opts.out, 'tokenizer.json');
  writeFileSync(`${tpath}.tmp-${process.pid}`, JSON.stringify({ kind: 'enclave-nn/rt-tokenizer', version: 1, maxLength: data.maxLength,
    padding: 'pre', truncating: 'pre', words: data.words }));
  renameSync(`${tpath}.tmp-${process.pid}`, tpath);
  await exportOnnxIfAvailable(modelJsonPath, join(opts.out, 'model.onnx'));
  const seconds = (performance.now() - t0) / 1000;
  console.log(`rt-polarity: test accuracy ${(testAccuracy * 100).toFixed(2)}% on ${data.test.count} sentences; saved ${modelJsonPath}; ${seconds.toFixed(1)} s wall, ${cpuSeconds().toFixed(1)} s CPU`);
  return { testAccuracy, modelJsonPath, seconds };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runMain(() => buildRtModel(parseBuildArgs(process.argv.slice(2), 'rt-polarity')));
}
