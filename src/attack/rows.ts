/**
 * Row slicing and concatenation of plain tensors (first axis = rows), for batching inputs
 * through the head and the enclave.
 * @module
 */
import type { TensorData } from '../onnx/ort.ts';

/** Rows [start, end) of `t`, sharing its buffer. */
export function sliceRows(t: TensorData, start: number, end: number): TensorData {
  const width = t.dims.slice(1).reduce((a, b) => a * b, 1);
  return { dtype: t.dtype, dims: [end - start, ...t.dims.slice(1)], data: t.data.subarray(start * width, end * width) as TensorData['data'] };
}

/** The rows of every tensor of `feeds` in [start, end). */
export function sliceFeeds(feeds: Record<string, TensorData>, start: number, end: number): Record<string, TensorData> {
  return Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, sliceRows(t, start, end)]));
}

/** Concatenates tensors along the first axis (same dtype and trailing dims). */
export function concatRows(parts: TensorData[]): TensorData {
  const first = parts[0]!;
  const total = parts.reduce((a, p) => a + p.dims[0]!, 0);
  const width = first.dims.slice(1).reduce((a, b) => a * b, 1);
  const Ctor = first.data.constructor as new (n: number) => TensorData['data'];
  const data = new Ctor(total * width);
  let o = 0;
  for (const p of parts) {
    (data as Float32Array).set(p.data as Float32Array, o);
    o += p.data.length;
  }
  return { dtype: first.dtype, dims: [total, ...first.dims.slice(1)], data };
}

/** Rows of a feed dictionary (all tensors must agree). Throws RangeError when they do not. */
export function rowCount(feeds: Record<string, TensorData>): number {
  const counts = new Set(Object.values(feeds).map((t) => t.dims[0]!));
  if (counts.size !== 1) throw new RangeError(`inputs disagree on the row count: ${[...counts].join(', ')}`);
  return [...counts][0]!;
}
