/**
 * A named tensor's public description: what crosses a cut, what a bundle header lists,
 * what a session's `run()` takes and returns.
 */
export interface TensorSpec {
  /** The tensor's name in the ONNX graph. */
  name: string;
  /** The element type, ONNX Runtime spelling: 'float32', 'int64', 'uint8', … */
  dtype: DType;
  /** The dimensions; a string is a symbolic (dynamic) dimension such as 'batch'. */
  shape: Dim[];
}

/** One dimension: a fixed size, or a symbolic name for a dynamic size. */
export type Dim = number | string;

/** Element types, spelled as onnxruntime's Tensor types. */
export type DType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'bool' | 'string';

/** ONNX TensorProto.DataType code → dtype. */
export const DTYPE_BY_ONNX: Readonly<Record<number, DType>> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64',
  8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

/** dtype → ONNX TensorProto.DataType code. */
export const ONNX_BY_DTYPE: Readonly<Record<DType, number>> = Object.fromEntries(
  Object.entries(DTYPE_BY_ONNX).map(([k, v]) => [v, Number(k)]),
) as Record<DType, number>;

/** Bytes per element (0 for 'string', whose elements vary). */
export const DTYPE_SIZE: Readonly<Record<DType, number>> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int8: 1, int16: 2, int32: 4, int64: 8,
  uint8: 1, uint16: 2, uint32: 4, uint64: 8, bool: 1, string: 0,
};

/** Renders a shape as `[batch,28,28,1]`. */
export function formatShape(shape: readonly Dim[]): string {
  return `[${shape.join(',')}]`;
}
