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
  create(modelBytes: Uint8Array, options?: EngineOptions): Promise<EngineSession>;
  /**
   * Loads the engine's package ahead of `create` (the enclave calls it right after HELLO, so a
   * pre-spawned enclave has it loaded before its bundle arrives). Throws if it cannot be loaded.
   */
  warm?(): void;
}

/** How an engine may use the machine. */
export interface EngineOptions {
  /**
   * Threads of onnxruntime's intra-op pool, the calling thread included (ORT starts this many
   * minus one). Inside an SGX enclave every thread takes one of `sgx.max_threads` slots, so the
   * Gramine manifest pins it (docs/deploy-sgx.md). @defaultValue onnxruntime's own: one per core
   */
  intraOpThreads?: number;
}

/** A loaded model. */
export interface EngineSession {
  /** Runs the model; returns every graph output. */
  run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>;
  /** Frees the engine's memory. */
  release(): Promise<void>;
}
