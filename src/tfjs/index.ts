/**
 * TF.js for the example builds and the attack's stand-in models: the WASM backend with the
 * training kernels it lacks, seeded randomness, the TF.js Layers saver, training helpers.
 *
 * @example
 * ```ts
 * await initTfWasm();
 * const model = await withSeededRandom(42, async () => buildAndTrain());
 * saveTfjsModel(model, 'out/mnist/tfjs');
 * ```
 * @module
 */
export { initTfWasm, mulberry32, seededPermutation, withSeededRandom } from './setup.ts';
export { registerWasmTrainingKernels } from './wasm-kernels.ts';
export { loadTfjsModel, saveTfjsModel, WEIGHTS_FILE } from './save-tfjs.ts';
export { accuracy, cpuSeconds, progressCallbacks } from './train-utils.ts';
