/**
 * TF.js for the substitutes: the WASM backend with the training kernels it lacks (shared with
 * the example trainings in examples/common/), started once per process.
 * @module
 */
import { initTfWasm } from '../tfjs/setup.ts';

let ready: Promise<string> | undefined;

/** Selects TF.js's WASM backend (once); resolves to the backend's name. */
export function initTf(): Promise<string> {
  ready ??= initTfWasm();
  return ready;
}
