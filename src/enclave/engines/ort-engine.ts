import type { TensorData } from '../../onnx/ort.ts';

import type { Engine, EngineOptions, EngineSession } from './types.ts';
import { BASE_SESSION_OPTIONS } from '../../onnx/session-options.ts';
import { requireEngine } from './require-engine.ts';

type OrtNode = typeof import('onnxruntime-node');

/**
 * onnxruntime-node: the default engine, the same runtime as the public head (DESIGN.md
 * decision 1), so what `bench` measures as TEE impact is the TEE's. Loaded (with require) only
 * when chosen.
 *
 * Sessions run synchronously where the package allows it: onnxruntime-node's `run()` only wraps
 * its native binding's synchronous `run` in `setImmediate` (dist/backend.js), which costs the
 * enclave one event-loop turn per FORWARD. Calling the binding's session directly runs the same
 * native call on the same thread, minus that hop — see {@link nativeBinding} for when it is used.
 */
export const ortEngine: Engine = {
  name: 'ort',
  warm() {
    loadOrt();
    nativeBinding()?.initOrt(); // the native library and its environment, ahead of the first session
  },
  async create(modelBytes, options = {}) {
    const ort = loadOrt();
    const sessionOptions = ortSessionOptions(options);
    const native = nativeBinding();
    if (native) {
      native.initOrt();
      const s = new native.binding.InferenceSession();
      // Same call as the package's own handler (backend.js); ORT copies the model into native
      // memory, so the caller may zero `modelBytes` afterwards.
      s.loadModel(modelBytes.buffer, modelBytes.byteOffset, modelBytes.byteLength, sessionOptions);
      return nativeSession(s, ort.Tensor as unknown as TensorCtor);
    }
    // Fallback: the package's public, asynchronous API (same session, one setImmediate per run).
    const session = await ort.InferenceSession.create(modelBytes, sessionOptions);
    return wrapSession(session, ort.Tensor);
  },
};

/** The package, with its process-wide logger quiet (read when ORT starts): it logs load warnings. */
function loadOrt(): OrtNode {
  const ort = requireEngine<OrtNode>('onnxruntime-node');
  ort.env.logLevel = 'fatal';
  return ort;
}

/**
 * The session options of every engine session, and of the bench's native baseline (so the
 * comparison stays fair): spinning off, engine logs off, and — when asked — pinned threads:
 * intra-op as asked; inter-op 1 (sequential execution, the default mode, never uses that pool,
 * so it must not cost an enclave thread slot either).
 */
export function ortSessionOptions(options: EngineOptions = {}): Record<string, unknown> {
  const threads = options.intraOpThreads === undefined ? {} : { intraOpNumThreads: options.intraOpThreads, interOpNumThreads: 1 };
  return { ...BASE_SESSION_OPTIONS, ...threads, ...ENGINE_LOG_OPTIONS };
}

/**
 * Engine logs go to the enclave's stderr, which the host reads and forwards: ORT's warnings and
 * errors name graph nodes, ops, initializers and shapes (`running Add node. Name:'add/Add' …
 * broadcast 2 by 3`), so the engines log nothing below fatal (4), at verbosity 0; a failure
 * reaches the host only as the enclave's generic ENGINE error. Session and run options alike.
 */
export const ENGINE_LOG_OPTIONS = { logSeverityLevel: 4, logVerbosityLevel: 0 } as const;

/** The subset of an onnxruntime InferenceSession both ORT flavours share. */
export interface OrtLikeSession {
  run(feeds: Record<string, unknown>, options?: typeof ENGINE_LOG_OPTIONS): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

interface OrtTensorLike { type: string; dims: readonly number[]; data: unknown }
type TensorCtor = new (type: never, data: never, dims: readonly number[]) => unknown;

/** onnxruntime-node's native session (dist/binding.js), as its own backend.js uses it. */
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: Record<string, unknown>): void;
  readonly inputMetadata: readonly { name: string }[];
  readonly outputMetadata: readonly { name: string }[];
  run(feeds: Record<string, unknown>, fetches: Record<string, null>, options: typeof ENGINE_LOG_OPTIONS): Record<string, OrtTensorLike>;
  dispose(): void;
}
interface NativeBinding { binding: { InferenceSession: new () => NativeSession }; initOrt(): void }

/**
 * The package's native binding module, or `undefined` when this onnxruntime-node does not have
 * the layout the fast path was written against (1.2x–1.30: `dist/binding.js` exporting
 * `binding.InferenceSession` with loadModel/run/dispose and `initOrt`) — then the public API is
 * used. Sound because it is the object the public API itself calls: `initOrt` is idempotent and
 * reads the same `env.logLevel`, and the public wrapper adds only argument checks (our feeds
 * always name every input: they were checked against the header) and the setImmediate hop.
 */
export function nativeBinding(): NativeBinding | undefined {
  try {
    const m = requireEngine<Partial<NativeBinding>>('onnxruntime-node/dist/binding.js');
    const proto = m.binding?.InferenceSession?.prototype as Partial<NativeSession> | undefined;
    const ok = typeof m.initOrt === 'function' && typeof proto?.loadModel === 'function' && typeof proto.run === 'function' && typeof proto.dispose === 'function';
    return ok ? (m as NativeBinding) : undefined;
  } catch {
    return undefined;
  }
}

const toTensorData = (t: OrtTensorLike): TensorData => ({ dtype: t.type as TensorData['dtype'], dims: [...t.dims], data: t.data as TensorData['data'] });

/**
 * A session on the native binding: names fixed at load (no per-call lookups), every output
 * fetched, run synchronously (the returned promise is already settled: no event-loop turn).
 */
function nativeSession(s: NativeSession, Tensor: TensorCtor): EngineSession {
  const inputs = s.inputMetadata.map((m) => m.name);
  const fetches: Record<string, null> = Object.fromEntries(s.outputMetadata.map((m) => [m.name, null]));
  return {
    async run(feeds: Record<string, TensorData>) {
      const input: Record<string, unknown> = {};
      for (const k of inputs) {
        const v = feeds[k];
        // The public API's own check (inference-session-impl.js), kept: the binding would crash.
        if (!v) throw new Error('an input of the model is missing in the feeds');
        input[k] = new Tensor(v.dtype as never, v.data as never, v.dims);
      }
      const r = s.run(input, fetches, ENGINE_LOG_OPTIONS);
      const out: Record<string, TensorData> = {};
      for (const k in r) out[k] = toTensorData(r[k]!);
      return out;
    },
    release: async () => s.dispose(),
  };
}

/** Adapts an onnxruntime session (node or web) to {@link EngineSession}. */
export function wrapSession(session: OrtLikeSession, Tensor: TensorCtor): EngineSession {
  return {
    async run(feeds: Record<string, TensorData>) {
      const input: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(feeds)) input[k] = new Tensor(v.dtype as never, v.data as never, v.dims);
      const r = await session.run(input, ENGINE_LOG_OPTIONS);
      const out: Record<string, TensorData> = {};
      for (const [k, t] of Object.entries(r)) out[k] = toTensorData(t);
      return out;
    },
    release: () => session.release(),
  };
}
