import type { TensorData } from '../../onnx/ort.ts';

/**
 * An inference engine inside the enclave (STYLE.md 3): makes a session from ONNX bytes.
 * The bytes are plaintext tail weights: an engine MUST NOT write them anywhere, and the caller
 * zeroes them once `create` resolves.
 */
export interface Engine {
  /** The registry name: `'ort'`, `'wasm'`. */
  readonly name: string;
  /** Builds a session from the tail ONNX bytes. */
  create(modelBytes: Uint8Array): Promise<EngineSession>;
}

/** A loaded model. */
export interface EngineSession {
  /** Runs the model; returns every graph output. */
  run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>;
  /** Frees the engine's memory. */
  release(): Promise<void>;
}
