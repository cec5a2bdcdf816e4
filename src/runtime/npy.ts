/**
 * A tiny `.npy` reader and writer (NumPy format 1.0/2.0/3.0: magic, version, header dict,
 * raw data) for float32, float64, int64, int32, uint8 and bool tensors in C order, little-endian.
 * Enough for `enclave-nn run --input x.npy --output y.npy`.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { TensorData } from '../onnx/ort.ts';
import type { DType } from '../onnx/tensor-spec.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const DESCR: Partial<Record<DType, string>> = { float32: '<f4', float64: '<f8', int64: '<i8', int32: '<i4', uint8: '|u1', bool: '|b1' };
const BY_DESCR: Record<string, DType> = { '<f4': 'float32', '<f8': 'float64', '<i8': 'int64', '<i4': 'int32', '|u1': 'uint8', '<u1': 'uint8', '|b1': 'bool' };
type Ctor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => TensorData['data'];
const ARRAY: Partial<Record<DType, Ctor>> = { float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, uint8: Uint8Array, bool: Uint8Array };
const SIZE: Partial<Record<DType, number>> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };

/** A parsed `.npy` header: what the data is and where it starts. */
export interface NpyHeader {
  dtype: DType;
  dims: number[];
  /** Byte offset of the data (after magic, version, length and header dict). */
  dataOffset: number;
  /** Bytes of the data the shape needs. */
  dataSize: number;
}

/**
 * Parses the header at the start of `.npy` bytes (the first 64 KiB is always enough for the
 * files NumPy writes). Throws SyntaxError naming what is wrong (bad magic, Fortran order,
 * big-endian or unsupported dtype).
 */
export function readNpyHeader(bytes: Uint8Array): NpyHeader {
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
  return { dtype, dims, dataOffset: start, dataSize: dims.reduce((a, b) => a * b, 1) * SIZE[dtype]! };
}

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
  const { dtype, dims, dataOffset: start, dataSize: size } = readNpyHeader(bytes);
  if (bytes.byteLength - start !== size) throw new SyntaxError(`.npy data is ${bytes.byteLength - start} bytes, shape (${dims.join(', ')}) of ${DESCR[dtype]} needs ${size}`);
  const copy = new Uint8Array(bytes.subarray(start)).buffer; // a copy: aligned and owned (Buffer.slice would be a view)
  return { dtype, dims, data: new ARRAY[dtype]!(copy, 0, size / SIZE[dtype]!) };
}

/**
 * A `.npy` file read by rows, a chunk at a time: any number of rows without holding them all
 * in memory. The header is checked when opened (also that the file holds all the data).
 *
 * @example
 * ```ts
 * const f = NpyFile.open('x.npy');
 * for (let r = 0; r < f.rows; r += 1000) use(f.readRows(r, Math.min(1000, f.rows - r)));
 * f.close();
 * ```
 */
export class NpyFile {
  /** The file's header. */
  readonly header: NpyHeader;
  readonly #fd: number;

  private constructor(fd: number, header: NpyHeader) {
    this.#fd = fd;
    this.header = header;
  }

  /** Opens and checks `path`; throws SyntaxError for a bad header or missing data. */
  static open(path: string): NpyFile {
    const fd = openSync(path, 'r');
    try {
      const head = new Uint8Array(65536);
      const n = readSync(fd, head, 0, head.byteLength, 0);
      const header = readNpyHeader(head.subarray(0, n));
      const size = fstatSync(fd).size;
      if (size - header.dataOffset !== header.dataSize) throw new SyntaxError(`.npy data is ${size - header.dataOffset} bytes, shape (${header.dims.join(', ')}) of ${DESCR[header.dtype]} needs ${header.dataSize}`);
      return new NpyFile(fd, header);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Rows along the first dimension (1 for a scalar). */
  get rows(): number { return this.header.dims[0] ?? 1; }

  /** Rows `[start, start + count)` as a tensor of dims `[count, …rest]`. */
  readRows(start: number, count: number): TensorData {
    const { dtype, dims, dataOffset } = this.header;
    const rest = dims.slice(1);
    const width = rest.reduce((a, b) => a * b, 1) * SIZE[dtype]!;
    const buf = new Uint8Array(count * width);
    let got = 0;
    while (got < buf.byteLength) {
      const n = readSync(this.#fd, buf, got, buf.byteLength - got, dataOffset + start * width + got);
      if (n === 0) throw new SyntaxError('.npy data ended early');
      got += n;
    }
    return { dtype, dims: dims.length === 0 ? [] : [count, ...rest], data: new ARRAY[dtype]!(buf.buffer, 0, buf.byteLength / SIZE[dtype]!) };
  }

  /** Closes the file. */
  close(): void { closeSync(this.#fd); }
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
