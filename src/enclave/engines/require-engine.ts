/**
 * Loads an engine package with `require` (createRequire), not `import()`: inside the trusted
 * program (one CommonJS file) a dynamic `import()` starts Node's ES module loader just to wrap a
 * CommonJS package, which costs boot time the enclave's setup pays (issue 14, item 3). Host and
 * enclave share the module cache entry, so both see one onnxruntime binding per process.
 * @module
 */
import { createRequire } from 'node:module';

/**
 * Set by the trusted program's build (esbuild `define`) when its file lives outside node_modules
 * (a read-only install): the `package.json` the engine packages resolve from. Undeclared (so
 * `typeof` is `'undefined'`) everywhere else: packages resolve from this module's own file.
 */
declare const __ENCLAVE_NN_ENGINE_BASE__: string | undefined;

/** The engine packages the trusted program may load (kept external by its build). */
export type EnginePackage = 'onnxruntime-node' | 'onnxruntime-web' | 'onnxruntime-node/dist/binding.js';

/**
 * `require(name)` resolved from the right place: the engine package, synchronously.
 *
 * @example
 * ```ts
 * const ort = requireEngine<typeof import('onnxruntime-node')>('onnxruntime-node');
 * ```
 */
export function requireEngine<T>(name: EnginePackage): T {
  const base = typeof __ENCLAVE_NN_ENGINE_BASE__ === 'string' ? __ENCLAVE_NN_ENGINE_BASE__ : import.meta.url;
  return createRequire(base)(name) as T;
}
