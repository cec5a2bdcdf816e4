/**
 * The MNIST example: the paper's CNN (`buildMnistModel`, used by the CLI's demo) and the MNIST
 * loaders (`loadMnistTest` for the bench and attack tools).
 * @module
 */
export { buildMnistModel, createMnistModel, type BuildResult } from './build.ts';
export { loadMnist, loadMnistTest, mnistDataDir, type MnistSplit } from '../../src/datasets/mnist.ts';
