import { BASE_SESSION_OPTIONS } from './session-options.ts';
import * as ort from 'onnxruntime-node';
import type { ModelProto } from 'onnx-buf';
import { encodeModel } from './codec.ts';
import type { Dim, TensorSpec } from './tensor-spec.ts';

/**
 * Session options used for every onnxruntime-node session the project creates (public head,
 * native tail, the enclave's engine), so that all sides run the same configuration.
 * Spinning is off: ORT's intra-op threads otherwise busy-wait after each run, and several idle
 * sessions (the bench keeps one enclave per split alive) would steal the cores from the one
 * being measured. Only errors are logged (`logSeverityLevel` 3): ORT's warnings (unused
 * initializers, …) are for model authors and must not reach a user's terminal.
 */
export const ORT_SESSION_OPTIONS = { ...BASE_SESSION_OPTIONS, logSeverityLevel: 3 } as const;

/** A plain tensor: what sessions take and return, independent of any engine. */
export interface TensorData {
  dtype: TensorSpec['dtype'];
  dims: number[];
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | BigUint64Array;
}

/** Concrete dimensions for a spec: symbolic dimensions take `batch` when first, else 1. */
export function concreteDims(shape: readonly Dim[], batch: number): number[] {
  return shape.map((d, i) => (typeof d === 'number' ? d : i === 0 ? batch : 1));
}

/** Random feeds for a list of specs: float uniform in [-1, 1), integers in [0, 10), bool 0/1. */
export function randomFeeds(specs: readonly TensorSpec[], batch: number, rand: () => number): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {};
  for (const s of specs) {
    const dims = concreteDims(s.shape, batch);
    const n = dims.reduce((a, b) => a * b, 1);
    let data: TensorData['data'];
    switch (s.dtype) {
      case 'float32': data = Float32Array.from({ length: n }, () => rand() * 2 - 1); break;
      case 'float64': data = Float64Array.from({ length: n }, () => rand() * 2 - 1); break;
      case 'int64': data = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rand() * 10))); break;
      case 'int32': data = Int32Array.from({ length: n }, () => Math.floor(rand() * 10)); break;
      case 'bool': case 'uint8': data = Uint8Array.from({ length: n }, () => Math.floor(rand() * 2)); break;
      default: throw new RangeError(`randomFeeds: unsupported dtype ${s.dtype} for '${s.name}'`);
    }
    feeds[s.name] = { dtype: s.dtype, dims, data };
  }
  return feeds;
}

/** Wraps TensorData as onnxruntime-node tensors. */
export function toOrtFeeds(feeds: Record<string, TensorData>): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(v.dtype as 'float32', v.data as Float32Array, v.dims)]));
}

/** Unwraps onnxruntime-node results as TensorData. */
export function fromOrtResults(results: Record<string, ort.Tensor>): Record<string, TensorData> {
  return Object.fromEntries(Object.entries(results).map(([k, t]) => [k, { dtype: t.type as TensorSpec['dtype'], dims: [...t.dims], data: t.data as TensorData['data'] }]));
}

/** Runs a model once on onnxruntime-node (a session is created and released). */
export async function runOnnx(model: ModelProto | Uint8Array, feeds: Record<string, TensorData>, outputs?: string[]): Promise<Record<string, TensorData>> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  const session = await ort.InferenceSession.create(bytes, ORT_SESSION_OPTIONS);
  try {
    const r = outputs ? await session.run(toOrtFeeds(feeds), outputs) : await session.run(toOrtFeeds(feeds));
    return fromOrtResults(r);
  } finally {
    await session.release();
  }
}

/** The largest absolute difference between two tensors' values (Infinity when shapes differ). */
export function maxAbsDiff(a: TensorData, b: TensorData): number {
  if (a.data.length !== b.data.length || a.dims.join() !== b.dims.join()) return Infinity;
  let m = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(Number(a.data[i]) - Number(b.data[i]));
    if (Number.isNaN(d)) { if (!(Number.isNaN(Number(a.data[i])) && Number.isNaN(Number(b.data[i])))) return Infinity; } else if (d > m) m = d;
  }
  return m;
}
