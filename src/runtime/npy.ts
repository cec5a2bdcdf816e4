/**
 * A tiny `.npy` reader and writer (NumPy format 1.0/2.0/3.0: magic, version, header dict,
 * raw data) for float32, float64, int64, int32, uint8 and bool tensors in C order, little-endian.
 * Enough for `enclave-nn run --input x.npy --output y.npy`.
 */
import type { TensorData } from '../onnx/ort.ts';
import type { DType } from '../onnx/tensor-spec.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const DESCR: Partial<Record<DType, string>> = { float32: '<f4', float64: '<f8', int64: '<i8', int32: '<i4', uint8: '|u1', bool: '|b1' };
const BY_DESCR: Record<string, DType> = { '<f4': 'float32', '<f8': 'float64', '<i8': 'int64', '<i4': 'int32', '|u1': 'uint8', '<u1': 'uint8', '|b1': 'bool' };
type Ctor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => TensorData['data'];
const ARRAY: Partial<Record<DType, Ctor>> = { float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, uint8: Uint8Array, bool: Uint8Array };
const SIZE: Partial<Record<DType, number>> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };

/**
 * Parses `.npy` bytes. Throws SyntaxError naming what is wrong (bad magic, Fortran order,
 * big-endian or unsupported dtype, data size not matching the shape).
 *
 * @example
 * ```ts
 * const x = readNpy(readFileSync('x.npy')); // { dtype: 'float32', dims: [1, 784], data: Float32Array }
 * ```
 */
export function readNpy(bytes: Uint8Array): TensorData {
  if (bytes.byteLength < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw new SyntaxError('not a .npy file (bad magic)');
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new SyntaxError(`unsupported .npy version ${major}.${bytes[7]}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? v.getUint16(8, true) : v.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLen;
  if (start > bytes.byteLength) throw new SyntaxError('.npy header is truncated');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(major === 1 ? 10 : 12, start));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new SyntaxError('.npy header lacks descr, fortran_order or shape');
  if (fortran === 'True') throw new SyntaxError('.npy data in Fortran order is not supported (save with C order)');
  const dtype = BY_DESCR[descr];
  if (!dtype) throw new SyntaxError(`.npy dtype '${descr}' is not supported (float32, float64, int64, int32, uint8, bool; little-endian)`);
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const n = Number(s.replace(/L$/, ''));
    if (!Number.isInteger(n) || n < 0) throw new SyntaxError(`.npy shape has a bad dimension '${s}'`);
    return n;
  });
  const count = dims.reduce((a, b) => a * b, 1);
  const size = count * SIZE[dtype]!;
  if (bytes.byteLength - start !== size) throw new SyntaxError(`.npy data is ${bytes.byteLength - start} bytes, shape (${dims.join(', ')}) of ${descr} needs ${size}`);
  const copy = new Uint8Array(bytes.subarray(start)).buffer; // a copy: aligned and owned (Buffer.slice would be a view)
  return { dtype, dims, data: new ARRAY[dtype]!(copy, 0, count) };
}

/**
 * Encodes a tensor as `.npy` (version 1.0, C order, little-endian).
 *
 * @example
 * ```ts
 * writeFileSync('y.npy', writeNpy(outputs.probs));
 * ```
 */
export function writeNpy(t: TensorData): Uint8Array {
  const descr = DESCR[t.dtype];
  if (!descr) throw new RangeError(`Cannot write .npy: dtype ${t.dtype} is not supported`);
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad with spaces and a final newline so that magic + version + length + header is a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1; out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, total);
  return out;
}
