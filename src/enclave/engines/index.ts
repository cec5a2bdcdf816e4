/**
 * Engines inside the enclave, by name (STYLE.md 3): `ort` (onnxruntime-node, default) and
 * `wasm` (onnxruntime-web's WebAssembly backend).
 *
 * @example
 * ```ts
 * const session = await getEngine('ort').create(tailBytes);
 * ```
 */
import { EnclaveNnError } from '../../errors.ts';
import { ortEngine } from './ort-engine.ts';
import type { Engine } from './types.ts';
import { wasmEngine } from './wasm-engine.ts';

export type { Engine, EngineOptions, EngineSession } from './types.ts';
export { chooseIntraOpThreads, ORT_THREADS_CROSSOVER_FLOPS, type ThreadChoice } from './threads.ts';
export { ortSessionOptions } from './ort-engine.ts';

/** Every engine by name. */
export const ENGINES: Record<string, Engine> = { ort: ortEngine, wasm: wasmEngine };

/** The default engine. */
export const DEFAULT_ENGINE = 'ort';

/** The engine `name`; an unknown name throws `ENGINE_UNKNOWN` listing the known ones. */
export function getEngine(name: string): Engine {
  const e = Object.hasOwn(ENGINES, name) ? ENGINES[name] : undefined;
  if (!e) throw new EnclaveNnError('ENGINE_UNKNOWN', `Cannot use engine '${name}': unknown; known: ${Object.keys(ENGINES).join(', ')}`);
  return e;
}
