/**
 * The paper's Flowers model, as the eNNclave experiments build it (`flowers/train.py` in
 * uibk-iNNference/eNNclave-experiments): every layer of Keras's VGG19 convolution base at
 * 224×224×3 (16 Conv2D 3×3 relu 'same' in 5 blocks of 2, 2, 4, 4, 4, a 2×2 max pooling after each
 * block; Keras's names block1_conv1 … block5_pool), then Flatten → Dense 800 relu → Dense 800 relu →
 * Dense 600 relu → Dense 5 softmax. 26 layers, the 26 splits of the experiments' timing log
 * (`timing_logs/archived/flowers_times_cpu.csv`, layers_in_enclave 0…26).
 *
 * Seeded random weights, no training: the model exists for timing (about 41 M parameters, 165 MB of
 * weights; 20 M of them in the first Dense layer). The experiments trained only the dense layers on
 * the Kaggle flowers data (ImageNet weights frozen); neither is available offline here.
 *
 * `node --import tsx examples/flowers/build.ts --out DIR [--seed S]` writes DIR/tfjs/model.json +
 * weights and DIR/model.onnx, and prints one forward pass's time. `--epochs` and `--quick` are
 * accepted and ignored.
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initTfWasm } from '../../src/tfjs/setup.ts';
import { saveTfjsModel } from '../../src/tfjs/save-tfjs.ts';
import { cpuSeconds } from '../../src/tfjs/train-utils.ts';
import { exportOnnxIfAvailable, parseBuildArgs, runMain, type BuildOptions } from '../common/build-cli.ts';
import { vggBase, VGG19_BLOCKS } from '../common/vgg.ts';

/** Number of flower classes (daisy, dandelion, rose, sunflower, tulip). */
export const FLOWER_CLASSES = 5;

/**
 * The Flowers model with seeded random weights (He-uniform convolutions so activations stay
 * finite through 16 layers; Glorot-uniform dense layers; zero biases).
 *
 * @param seed initializer seed
 */
export function createFlowersModel(seed = 42): tf.Sequential {
  const base = vggBase(VGG19_BLOCKS, seed);
  const layers = base.layers;
  let k = base.next;
  const dense = (name: string, units: number, activation: 'relu' | 'softmax') =>
    tf.layers.dense({ name, units, activation, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + k++ }) });
  layers.push(
    tf.layers.flatten({ name: 'flatten' }),
    dense('dense', 800, 'relu'),
    dense('dense_1', 800, 'relu'),
    dense('dense_2', 600, 'relu'),
    dense('dense_3', FLOWER_CLASSES, 'softmax'),
  );
  return tf.sequential({ name: 'flowers_vgg19', layers });
}

/**
 * Builds and saves the Flowers model (no training).
 *
 * @param opts `out`, `seed` (default 42)
 */
export async function buildFlowersModel(opts: BuildOptions): Promise<{ modelJsonPath: string; forwardMs: number; seconds: number }> {
  const t0 = performance.now();
  const log = opts.log ?? console.log;
  await initTfWasm();
  const model = createFlowersModel(opts.seed ?? 42);
  const x = tf.randomUniform([1, 224, 224, 3], -1, 1, 'float32', opts.seed ?? 42);
  (model.predict(x) as tf.Tensor).dispose();
  const tf0 = performance.now();
  const y = model.predict(x) as tf.Tensor;
  const top = y.argMax(1).dataSync()[0];
  const forwardMs = performance.now() - tf0;
  tf.dispose([x, y]);
  const { modelJsonPath, weightsSize } = await saveTfjsModel(model, join(opts.out, 'tfjs'));
  await exportOnnxIfAvailable(modelJsonPath, join(opts.out, 'model.onnx'), log);
  const seconds = (performance.now() - t0) / 1000;
  log(`flowers: ${model.countParams()} parameters (${(weightsSize / 1e6).toFixed(1)} MB); one 224×224 forward pass on TF.js wasm ${forwardMs.toFixed(0)} ms (top class ${top}); saved ${modelJsonPath}; ${seconds.toFixed(1)} s wall, ${cpuSeconds().toFixed(1)} s CPU`);
  return { modelJsonPath, forwardMs, seconds };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runMain(() => buildFlowersModel(parseBuildArgs(process.argv.slice(2), 'flowers')));
}
