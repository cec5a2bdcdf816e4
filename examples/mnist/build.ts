/**
 * The eNNclave experiments' MNIST CNN (`mnist/train.py` in uibk-iNNference/eNNclave-experiments),
 * trained with TF.js on the WASM backend: Conv2D 32 3×3 relu 'same' → Conv2D 64 3×3 relu 'same' →
 * MaxPool 2 → Flatten (14·14·64 = 12,544) → Dropout 0.4 → Dense 128 relu → Dropout 0.4 →
 * Dense 10 softmax; 1.63 M parameters, 1.61 M of them in the first Dense layer. (Until
 * 2026-12 this example used 'valid' convolutions — 9,216 features, 1.2 M parameters — and the
 * results in docs/results/protection.md and training.md dated before then are of that variant.) Layer names follow Keras's defaults
 * (conv2d, conv2d_1, max_pooling2d, flatten, dropout, dense, dropout_1, dense_1).
 *
 * `node --import tsx examples/mnist/build.ts --out DIR [--epochs N] [--quick] [--seed S]`
 * writes DIR/tfjs/model.json + weights (and DIR/model.onnx when the importer exists) and
 * prints the test accuracy. Full: 60,000 images, Adam 1e-3, batch 128, 2 epochs by default.
 * `--quick`: the first 5,000 training images, 1 epoch at batch 64 with Adam 2e-3, evaluated on the
 * first 2,000 test images (for the README's demo: under a minute on 2 cores).
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initTfWasm, withSeededRandom } from '../../src/tfjs/setup.ts';
import { saveTfjsModel } from '../../src/tfjs/save-tfjs.ts';
import { exportOnnxIfAvailable, parseBuildArgs, runMain, type BuildOptions } from '../common/build-cli.ts';
import { accuracy, cpuSeconds, progressCallbacks } from '../../src/tfjs/train-utils.ts';
import { loadMnist } from '../../src/datasets/mnist.ts';

/** What a build produced. */
export interface BuildResult {
  /** test-set accuracy in [0, 1] */
  testAccuracy: number;
  /** DIR/tfjs/model.json */
  modelJsonPath: string;
  /** DIR/model.onnx, when the importer was available */
  onnxPath?: string;
  /** wall time of the whole build, seconds */
  seconds: number;
}

/**
 * Creates the (untrained, seeded) MNIST CNN.
 *
 * @param seed initializer seed
 */
export function createMnistModel(seed = 42): tf.Sequential {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  return tf.sequential({ name: 'mnist_cnn', layers: [
    tf.layers.conv2d({ name: 'conv2d', inputShape: [28, 28, 1], filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }),
    tf.layers.conv2d({ name: 'conv2d_1', filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }),
    tf.layers.maxPooling2d({ name: 'max_pooling2d', poolSize: 2 }),
    tf.layers.flatten({ name: 'flatten' }),
    tf.layers.dropout({ name: 'dropout', rate: 0.4 }),
    tf.layers.dense({ name: 'dense', units: 128, activation: 'relu', kernelInitializer: init(3) }),
    tf.layers.dropout({ name: 'dropout_1', rate: 0.4 }),
    tf.layers.dense({ name: 'dense_1', units: 10, activation: 'softmax', kernelInitializer: init(4) }),
  ] });
}

/**
 * Builds, trains, evaluates and saves the MNIST model.
 *
 * @param opts `out` directory; `quick` for the short demo training; `epochs` (default 2, quick 1); `seed` (default 42)
 * @example
 * ```ts
 * const { testAccuracy, modelJsonPath } = await buildMnistModel({ out: 'out/mnist', quick: true });
 * ```
 */
export async function buildMnistModel(opts: BuildOptions): Promise<BuildResult> {
  const t0 = performance.now();
  const log = opts.log ?? console.log;
  const seed = opts.seed ?? 42;
  const epochs = opts.epochs ?? (opts.quick ? 1 : 2);
  await initTfWasm();
  const train = loadMnist('train', opts.quick ? 5000 : undefined);
  const test = loadMnist('test', opts.quick ? 2000 : undefined);
  const batchSize = opts.quick ? 64 : 128;
  const model = await withSeededRandom(seed, async () => {
    const m = createMnistModel(seed);
    // quick: a larger step size makes up for the fewer steps (79 instead of 938)
    m.compile({ optimizer: tf.train.adam(opts.quick ? 2e-3 : 1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const x = tf.tensor4d(train.images, train.shape);
    const y = tf.oneHot(tf.tensor1d(train.labels, 'int32'), 10);
    log(`mnist: training on ${train.count} images, ${epochs} epoch(s), batch ${batchSize}, backend ${tf.getBackend()}`);
    // fit's shuffle draws from Math.random, which withSeededRandom has seeded: a fixed data order.
    await m.fit(x, y, { epochs, batchSize, shuffle: true, verbose: 0, callbacks: progressCallbacks('mnist', 100, log) });
    tf.dispose([x, y]);
    return m;
  });
  const xt = tf.tensor4d(test.images, test.shape);
  const testAccuracy = accuracy(model, xt, test.labels);
  xt.dispose();
  const { modelJsonPath } = await saveTfjsModel(model, join(opts.out, 'tfjs'));
  const onnxPath = join(opts.out, 'model.onnx');
  const wrote = await exportOnnxIfAvailable(modelJsonPath, onnxPath, log);
  const seconds = (performance.now() - t0) / 1000;
  log(`mnist: test accuracy ${(testAccuracy * 100).toFixed(2)}% on ${test.count} images; saved ${modelJsonPath}; ${seconds.toFixed(1)} s wall, ${cpuSeconds().toFixed(1)} s CPU`);
  return { testAccuracy, modelJsonPath, onnxPath: wrote ? onnxPath : undefined, seconds };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runMain(() => buildMnistModel(parseBuildArgs(process.argv.slice(2), 'mnist')));
}
