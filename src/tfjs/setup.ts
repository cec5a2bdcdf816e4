/**
 * TF.js in Node without tfjs-node: the WASM backend (XNNPACK, SIMD), plus the training kernels
 * it lacks, and a seeded `Math.random` so that runs are reproducible.
 *
 * TF.js draws every unseeded random number (initializers without a seed, dropout masks,
 * `fit`'s shuffle) from a generator seeded by `Math.random()`. Replacing `Math.random` with a
 * seeded generator for the duration of a build therefore fixes weights, masks and data order.
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from './wasm-kernels.ts';
import { seededRandom } from '../util/seeded-prng.ts';
import { EnclaveNnError } from '../errors.ts';

/**
 * Selects the 'wasm' backend (falls back to nothing: failure raises) and registers the
 * missing training kernels.
 *
 * @returns the backend name in use ('wasm')
 */
export async function initTfWasm(): Promise<string> {
  registerWasmTrainingKernels();
  if (tf.getBackend() !== 'wasm') {
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new EnclaveNnError('TFJS_BACKEND_FAILED', 'Cannot initialise TF.js: the wasm backend failed to start', { exitCode: 1 });
  }
  await tf.ready();
  return tf.getBackend();
}

/** A small, fast, seeded PRNG (mulberry32) returning floats in [0, 1): the library's one. */
export const mulberry32 = seededRandom;

/**
 * Runs `fn` with `Math.random` replaced by a seeded generator and restores it afterwards
 * (also on error). Not for concurrent use with other code that relies on `Math.random`.
 *
 * @param seed the seed
 * @param fn the build/train function
 * @example
 * ```ts
 * const model = await withSeededRandom(42, async () => buildAndTrain());
 * ```
 */
export async function withSeededRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const saved = Math.random;
  Math.random = mulberry32(seed);
  try {
    return await fn();
  } finally {
    Math.random = saved;
  }
}

/**
 * A deterministic Fisher–Yates shuffle of `0 … n-1`.
 *
 * @param n length
 * @param seed the seed
 */
export function seededPermutation(n: number, seed: number): Int32Array {
  const rand = mulberry32(seed);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p;
}
