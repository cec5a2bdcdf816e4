/**
 * The paper's MIT67 model: the VGG16 convolution base at 224×224×3 (13 Conv2D 3×3 relu 'same'
 * layers in 5 blocks, 2×2 max pooling after each block; Keras's layer names block1_conv1 …
 * block5_pool) → GlobalAveragePooling2D → Dense 2048 relu → Dropout 0.4 → Dense 2048 relu →
 * Dropout 0.4 → Dense 67 softmax. Seeded random weights, no training: the model exists for
 * timing (about 20 M parameters, 80 MB of weights).
 *
 * `node --import tsx examples/vgg16-gap/build.ts --out DIR [--seed S]` writes DIR/tfjs/model.json +
 * weights (and DIR/model.onnx when the importer exists) and prints one forward pass's time.
 * `--epochs` and `--quick` are accepted and ignored.
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initTfWasm } from '../../src/tfjs/setup.ts';
import { saveTfjsModel } from '../../src/tfjs/save-tfjs.ts';
import { cpuSeconds } from '../../src/tfjs/train-utils.ts';
import { exportOnnxIfAvailable, parseBuildArgs, runMain, type BuildOptions } from '../common/build-cli.ts';
import { vggBase, VGG16_BLOCKS } from '../common/vgg.ts';

/** Number of MIT67 classes. */
export const MIT67_CLASSES = 67;

/**
 * The VGG16-GAP model with seeded random weights (He-uniform convs so activations stay finite
 * through 13 layers; Glorot-uniform dense layers; zero biases).
 *
 * @param seed initializer seed
 */
export function createVgg16Gap(seed = 42): tf.Sequential {
  const base = vggBase(VGG16_BLOCKS, seed);
  const layers = base.layers;
  let k = base.next;
  const dense = (name: string, units: number, activation: 'relu' | 'softmax') =>
    tf.layers.dense({ name, units, activation, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + k++ }) });
  layers.push(
    tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }),
    dense('dense', 2048, 'relu'),
    tf.layers.dropout({ name: 'dropout', rate: 0.4 }),
    dense('dense_1', 2048, 'relu'),
    tf.layers.dropout({ name: 'dropout_1', rate: 0.4 }),
    dense('dense_2', MIT67_CLASSES, 'softmax'),
  );
  return tf.sequential({ name: 'vgg16_gap', layers });
}

/**
 * Builds and saves the VGG16-GAP model (no training).
 *
 * @param opts `out`, `seed` (default 42)
 */
export async function buildVgg16GapModel(opts: BuildOptions): Promise<{ modelJsonPath: string; forwardMs: number; seconds: number }> {
  const t0 = performance.now();
  await initTfWasm();
  const model = createVgg16Gap(opts.seed ?? 42);
  const x = tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', opts.seed ?? 42);
  (model.predict(x) as tf.Tensor).dispose();
  const tf0 = performance.now();
  const y = model.predict(x) as tf.Tensor;
  const top = y.argMax(1).dataSync()[0];
  const forwardMs = performance.now() - tf0;
  tf.dispose([x, y]);
  const { modelJsonPath, weightsSize } = await saveTfjsModel(model, join(opts.out, 'tfjs'));
  await exportOnnxIfAvailable(modelJsonPath, join(opts.out, 'model.onnx'));
  const seconds = (performance.now() - t0) / 1000;
  console.log(`vgg16-gap: ${model.countParams()} parameters (${(weightsSize / 1e6).toFixed(1)} MB); one 224×224 forward pass on TF.js wasm ${forwardMs.toFixed(0)} ms (top class ${top}); saved ${modelJsonPath}; ${seconds.toFixed(1)} s wall, ${cpuSeconds().toFixed(1)} s CPU`);
  return { modelJsonPath, forwardMs, seconds };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runMain(() => buildVgg16GapModel(parseBuildArgs(process.argv.slice(2), 'vgg16-gap')));
}
