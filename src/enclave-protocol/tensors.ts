/**
 * Named tensors on the wire (docs/enclave-protocol.md §5): name, ONNX dtype code, dims, pad8,
 * raw little-endian data. Decoding views the data in place when it is aligned (the frame body
 * is its own allocation, so it is); encoding hands each tensor's buffer to the writer uncopied.
 */
import type { TensorData } from '../onnx/ort.ts';
import { DTYPE_BY_ONNX, DTYPE_SIZE, ONNX_BY_DTYPE, type DType } from '../onnx/tensor-spec.ts';
import { ProtocolError } from './errors.ts';
import type { PayloadReader, PayloadWriter } from './payload.ts';

/** Most dimensions a wire tensor may have (§5). */
export const MAX_RANK = 8;

type Ctor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => TensorData['data'];
const ARRAY_OF: Partial<Record<DType, Ctor>> = {
  float32: Float32Array, float64: Float64Array, int32: Int32Array, int64: BigInt64Array, uint8: Uint8Array,
  bool: Uint8Array, int8: Int8Array, int16: Int16Array, uint16: Uint16Array, float16: Uint16Array,
  uint32: Uint32Array, uint64: BigUint64Array,
};

/** Element count of `dims` (1 for a scalar). */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Writes `count ‖ tensor*` (§5). */
export function writeTensors(w: PayloadWriter, tensors: Record<string, TensorData>): void {
  const entries = Object.entries(tensors);
  w.u16(entries.length);
  for (const [name, t] of entries) {
    const code = ONNX_BY_DTYPE[t.dtype];
    if (!ARRAY_OF[t.dtype] || code === undefined) throw new ProtocolError('INPUT', `Cannot send tensor '${name}': dtype ${t.dtype} is not supported on the wire`);
    if (t.dims.length > MAX_RANK) throw new ProtocolError('INPUT', `Cannot send tensor '${name}': rank ${t.dims.length} exceeds ${MAX_RANK}`);
    const count = elementCount(t.dims);
    if (t.data.length !== count) throw new ProtocolError('INPUT', `Cannot send tensor '${name}': dims [${t.dims.join(',')}] need ${count} elements, data has ${t.data.length}`);
    w.str(name).u8(code).u8(t.dims.length);
    for (const d of t.dims) w.u32(d);
    w.pad8();
    w.raw(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
}

/**
 * Reads `count ‖ tensor*` (§5). Data are views into the frame body when aligned, else copies.
 * Rejects unknown dtypes, rank > 8, duplicate names and short data (`BAD_PAYLOAD`).
 */
export function readTensors(r: PayloadReader): Record<string, TensorData> {
  const count = r.u16('tensor count');
  const out: Record<string, TensorData> = {};
  for (let i = 0; i < count; i++) {
    const name = r.str('tensor name');
    const code = r.u8('dtype');
    const dtype = DTYPE_BY_ONNX[code];
    const Arr = dtype ? ARRAY_OF[dtype] : undefined;
    if (!dtype || !Arr) throw new ProtocolError('BAD_PAYLOAD', `Cannot read tensor '${name}': unsupported dtype code ${code}`);
    const rank = r.u8('rank');
    if (rank > MAX_RANK) throw new ProtocolError('BAD_PAYLOAD', `Cannot read tensor '${name}': rank ${rank} exceeds ${MAX_RANK}`);
    const dims: number[] = [];
    for (let d = 0; d < rank; d++) dims.push(r.u32('dimension'));
    r.pad8();
    const n = elementCount(dims);
    const size = n * DTYPE_SIZE[dtype];
    if (!Number.isSafeInteger(size)) throw new ProtocolError('BAD_PAYLOAD', `Cannot read tensor '${name}': size overflows`);
    if (Object.hasOwn(out, name)) throw new ProtocolError('BAD_PAYLOAD', `Cannot read tensors: duplicate name '${name}'`);
    const bytes = r.raw(size, `data of tensor '${name}'`);
    const elem = DTYPE_SIZE[dtype];
    const data = bytes.byteOffset % elem === 0
      ? new Arr(bytes.buffer, bytes.byteOffset, n)
      : new Arr(bytes.slice().buffer, 0, n);
    out[name] = { dtype, dims, data };
  }
  return out;
}
