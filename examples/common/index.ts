/**
 * Shared pieces of the example builds: TF.js on the WASM backend with the training kernels it
 * lacks, seeded randomness, the TF.js Layers saver, the Keras-compatible SeparableConv1D layer,
 * the build command line and the optional ONNX export.
 * @module
 */
export { initTfWasm, mulberry32, seededPermutation, withSeededRandom } from '../../src/tfjs/setup.ts';
export { registerWasmTrainingKernels } from '../../src/tfjs/wasm-kernels.ts';
export { loadTfjsModel, saveTfjsModel, WEIGHTS_FILE } from '../../src/tfjs/save-tfjs.ts';
export { SeparableConv1D, type SeparableConv1DArgs } from './separable-conv1d.ts';
export { exportOnnxIfAvailable, parseBuildArgs, repoRoot, runMain, type BuildOptions } from './build-cli.ts';
export { datasetDir, datasetsBase } from '../../src/datasets/dataset-dir.ts';
export { accuracy, cpuSeconds, progressCallbacks } from '../../src/tfjs/train-utils.ts';
export { vggBase, VGG16_BLOCKS, VGG19_BLOCKS, type VggBlocks } from './vgg.ts';
