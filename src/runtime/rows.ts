/**
 * Rows of a batch: slicing feeds along the batch dimension and joining outputs back, so that a
 * batch whose cut tensor exceeds the enclave protocol's frame limit can go through in several
 * FORWARDs (docs/enclave-protocol.md §2, §4.5).
 */
import type { TensorData } from '../onnx/ort.ts';
import { DTYPE_SIZE, type TensorSpec } from '../onnx/tensor-spec.ts';

/**
 * The batch size shared by `feeds` when every input's first dimension is dynamic, or
 * `undefined` when the batch cannot be split (a fixed first dimension, rank 0, or inputs that
 * disagree on their row count).
 */
export function splittableRows(specs: readonly TensorSpec[], feeds: Record<string, TensorData>): number | undefined {
  let rows: number | undefined;
  for (const s of specs) {
    const t = feeds[s.name];
    if (!t || t.dims.length === 0 || typeof s.shape[0] === 'number') return undefined;
    if (rows !== undefined && t.dims[0] !== rows) return undefined;
    rows = t.dims[0];
  }
  return rows;
}

/** Rows `[start, start + count)` of every tensor (views, not copies). */
export function sliceRows(feeds: Record<string, TensorData>, start: number, count: number): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const [k, t] of Object.entries(feeds)) {
    const width = rowWidth(t);
    out[k] = { dtype: t.dtype, dims: [count, ...t.dims.slice(1)], data: t.data.subarray(start * width, (start + count) * width) as TensorData['data'] };
  }
  return out;
}

/** Joins per-chunk outputs along the first dimension (every chunk has the same names and trailing dims). */
export function concatRows(chunks: readonly Record<string, TensorData>[]): Record<string, TensorData> {
  if (chunks.length === 1) return chunks[0]!;
  const out: Record<string, TensorData> = {};
  for (const name of Object.keys(chunks[0] ?? {})) {
    const parts = chunks.map((c) => c[name]!);
    const first = parts[0]!;
    const rows = parts.reduce((a, t) => a + (t.dims[0] ?? 1), 0);
    const data = new (first.data.constructor as new (n: number) => TensorData['data'])(parts.reduce((a, t) => a + t.data.length, 0));
    let at = 0;
    for (const t of parts) { (data as Float32Array).set(t.data as Float32Array, at); at += t.data.length; }
    out[name] = { dtype: first.dtype, dims: [rows, ...first.dims.slice(1)], data };
  }
  return out;
}

/** Bytes one row of these tensors takes (the product of the dimensions after the first, times the element size). */
export function bytesPerRow(tensors: Iterable<TensorData>): number {
  let n = 0;
  for (const t of tensors) n += rowWidth(t) * (DTYPE_SIZE[t.dtype] || 1);
  return n;
}

/** Bytes per row of specs whose dimensions after the first are all fixed; `undefined` otherwise. */
export function specBytesPerRow(specs: readonly TensorSpec[]): number | undefined {
  let n = 0;
  for (const s of specs) {
    const rest = s.shape.slice(1);
    if (rest.some((d) => typeof d !== 'number')) return undefined;
    n += (rest as number[]).reduce((a, b) => a * b, 1) * (DTYPE_SIZE[s.dtype] || 1);
  }
  return n;
}

function rowWidth(t: TensorData): number {
  return t.dims.slice(1).reduce((a, b) => a * b, 1);
}
