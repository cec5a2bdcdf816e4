import type { TensorData } from '../../onnx/ort.ts';

import type { Engine, EngineSession } from './types.ts';
import { BASE_SESSION_OPTIONS } from '../../onnx/session-options.ts';

/**
 * onnxruntime-node: the default engine, the same runtime as the public head (DESIGN.md
 * decision 1), so what `bench` measures as TEE impact is the TEE's. Imported only when chosen.
 */
export const ortEngine: Engine = {
  name: 'ort',
  async create(modelBytes, options = {}) {
    const ort = await import('onnxruntime-node');
    // The process-wide logger too (read when the first session is made): it logs load warnings.
    ort.env.logLevel = 'fatal';
    // Pinned threads: intra-op as asked; inter-op 1 (sequential execution, the default mode, never
    // uses that pool, so it must not cost an enclave thread slot either).
    const threads = options.intraOpThreads === undefined ? {} : { intraOpNumThreads: options.intraOpThreads, interOpNumThreads: 1 };
    // ORT copies the model into native memory: the caller may zero `modelBytes` afterwards.
    const session = await ort.InferenceSession.create(modelBytes, { ...BASE_SESSION_OPTIONS, ...threads, ...ENGINE_LOG_OPTIONS });
    return wrapSession(session, ort.Tensor);
  },
};

/**
 * Engine logs go to the enclave's stderr, which the host reads and forwards: ORT's warnings and
 * errors name graph nodes, ops, initializers and shapes (`running Add node. Name:'add/Add' …
 * broadcast 2 by 3`), so the engines log nothing below fatal (4), at verbosity 0; a failure
 * reaches the host only as the enclave's generic ENGINE error. Session and run options alike.
 */
export const ENGINE_LOG_OPTIONS = { logSeverityLevel: 4, logVerbosityLevel: 0 } as const;

/** The subset of an onnxruntime InferenceSession both ORT flavours share. */
export interface OrtLikeSession {
  run(feeds: Record<string, unknown>, options?: typeof ENGINE_LOG_OPTIONS): Promise<Record<string, { type: string; dims: readonly number[]; data: unknown }>>;
  release(): Promise<void>;
}

type TensorCtor = new (type: never, data: never, dims: readonly number[]) => unknown;

/** Adapts an onnxruntime session (node or web) to {@link EngineSession}. */
export function wrapSession(session: OrtLikeSession, Tensor: TensorCtor): EngineSession {
  return {
    async run(feeds: Record<string, TensorData>) {
      const input: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(feeds)) input[k] = new Tensor(v.dtype as never, v.data as never, v.dims);
      const r = await session.run(input, ENGINE_LOG_OPTIONS);
      const out: Record<string, TensorData> = {};
      for (const [k, t] of Object.entries(r)) out[k] = { dtype: t.type as TensorData['dtype'], dims: [...t.dims], data: t.data as TensorData['data'] };
      return out;
    },
    release: () => session.release(),
  };
}
