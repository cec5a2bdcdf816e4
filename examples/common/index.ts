/**
 * Shared pieces of the example builds: TF.js on the WASM backend with the training kernels it
 * lacks, seeded randomness, the TF.js Layers saver, the Keras-compatible SeparableConv1D layer,
 * the build command line and the optional ONNX export.
 * @module
 */
export { initTfWasm, mulberry32, seededPermutation, withSeededRandom } from './tf-setup.ts';
export { registerWasmTrainingKernels } from './wasm-kernels.ts';
export { loadTfjsModel, saveTfjsModel, WEIGHTS_FILE } from './save-tfjs.ts';
export { SeparableConv1D, type SeparableConv1DArgs } from './separable-conv1d.ts';
export { exportOnnxIfAvailable, parseBuildArgs, repoRoot, runMain, type BuildOptions } from './build-cli.ts';
export { datasetDir, datasetsBase } from './datasets.ts';
export { accuracy, cpuSeconds, progressCallbacks } from './train-utils.ts';
