/**
 * Tensor data types of the Open Inference Protocol (docs/serve.md §2; the protocol's "Tensor
 * Data Types" table) and their mapping to the project's dtypes (onnxruntime spelling).
 */
import type { TensorData } from '../onnx/ort.ts';
import type { DType } from '../onnx/tensor-spec.ts';

/** The protocol's datatype names, by dtype. BYTES (strings) and FP16/BF16 are named but not served. */
export const OIP_DATATYPE: Readonly<Record<DType, string>> = {
  bool: 'BOOL', uint8: 'UINT8', uint16: 'UINT16', uint32: 'UINT32', uint64: 'UINT64',
  int8: 'INT8', int16: 'INT16', int32: 'INT32', int64: 'INT64',
  float16: 'FP16', float32: 'FP32', float64: 'FP64', bfloat16: 'BF16', string: 'BYTES',
};

type Ctor = { new (n: number): TensorData['data']; new (b: ArrayBuffer, offset: number, length: number): TensorData['data']; BYTES_PER_ELEMENT: number };

/** The typed array of each dtype this server carries (JSON and binary); others are refused. */
const ARRAYS: Partial<Record<DType, Ctor>> = {
  bool: Uint8Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array,
  int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array,
  float32: Float32Array, float64: Float64Array,
};

/** The typed array constructor for `dtype`, or undefined when this server does not carry it. */
export function arrayOf(dtype: DType): Ctor | undefined {
  return ARRAYS[dtype];
}

/**
 * Binary tensor data is little-endian (the binary extension's first paragraph); typed arrays use
 * the host's byte order, so the binary path is offered only where the two agree.
 */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
