import type { Engine } from './types.ts';
import { ENGINE_LOG_OPTIONS, wrapSession, type OrtLikeSession } from './ort-engine.ts';
import { requireEngine } from './require-engine.ts';

/**
 * onnxruntime-web's WebAssembly backend, run in Node: a smaller trusted code base (no native
 * library), slower on convolutions. Single-threaded (no worker threads inside the enclave);
 * the .wasm file is loaded from the installed package, never from the network: onnxruntime-web's
 * Node build (`dist/ort.node.min.js`, the package's `node`/`require` export) reads the
 * `ort-wasm-simd-threaded.wasm` beside it, so `env.wasm.wasmPaths` stays unset.
 */
export const wasmEngine: Engine = {
  name: 'wasm',
  warm() { loadOrtWeb(); },
  async create(modelBytes) {
    const ortWeb = loadOrtWeb();
    const session = await ortWeb.InferenceSession.create(modelBytes, { executionProviders: ['wasm'], ...ENGINE_LOG_OPTIONS });
    return wrapSession(session as unknown as OrtLikeSession, ortWeb.Tensor as never);
  },
};

/** The package, single-threaded, in-process and quiet. */
function loadOrtWeb(): typeof import('onnxruntime-web') {
  const ortWeb = requireEngine<typeof import('onnxruntime-web')>('onnxruntime-web');
  ortWeb.env.wasm.numThreads = 1;
  ortWeb.env.wasm.proxy = false;
  ortWeb.env.logLevel = 'fatal'; // see ENGINE_LOG_OPTIONS: engine logs name tail nodes
  return ortWeb;
}
