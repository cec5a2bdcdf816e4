/**
 * NumPy `.npy` files (format versions 1.0–3.0, C order, little-endian), the attack tool's data
 * format: `--data`, `--test`, `--labels`. Reads float32, float64, int32, int64, uint8 and bool;
 * writes float32 and int32 (what the tests and the example exports need).
 *
 * A reader MUST reject: a wrong magic, an unknown major version, a big-endian or Fortran-order
 * array, an unsupported dtype, and a payload whose size disagrees with the shape.
 * @module
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { EnclaveNnError } from '../errors.ts';
import type { TensorData } from '../onnx/ort.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR: Record<string, { dtype: TensorData['dtype']; size: number; make: (b: ArrayBuffer, n: number) => TensorData['data'] }> = {
  '<f4': { dtype: 'float32', size: 4, make: (b, n) => new Float32Array(b, 0, n) },
  '<f8': { dtype: 'float64', size: 8, make: (b, n) => new Float64Array(b, 0, n) },
  '<i4': { dtype: 'int32', size: 4, make: (b, n) => new Int32Array(b, 0, n) },
  '<i8': { dtype: 'int64', size: 8, make: (b, n) => new BigInt64Array(b, 0, n) },
  '|u1': { dtype: 'uint8', size: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  '|b1': { dtype: 'bool', size: 1, make: (b, n) => new Uint8Array(b, 0, n) },
};

/**
 * Parses `.npy` bytes. `what` names the file in error messages.
 *
 * @example
 * ```ts
 * const x = parseNpy(readFileSync('x.npy'), 'x.npy'); // { dtype: 'float32', dims: [100, 28, 28, 1], data }
 * ```
 */
export function parseNpy(bytes: Uint8Array, what = '<bytes>'): TensorData {
  const fail = (why: string) => new EnclaveNnError('NPY_FORMAT', `Cannot read ${what}: ${why}`);
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw fail('not a .npy file (bad magic)');
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw fail(`unsupported .npy version ${major}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLen;
  if (start > bytes.length) throw fail('truncated header');
  const header = new TextDecoder().decode(bytes.subarray(major === 1 ? 10 : 12, start));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw fail('malformed header');
  if (fortran === 'True') throw fail('Fortran-order arrays are not supported');
  const kind = DESCR[descr === '<u1' ? '|u1' : descr === '<b1' ? '|b1' : descr];
  if (!kind) throw fail(`unsupported dtype '${descr}' (float32, float64, int32, int64, uint8, bool)`);
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw fail(`bad shape (${shapeText})`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - start !== count * kind.size) throw fail(`payload is ${bytes.length - start} bytes, shape (${dims.join(', ')}) needs ${count * kind.size}`);
  // Copy into a fresh, aligned buffer (the payload offset need not be a multiple of the element size).
  const buf = bytes.slice(start).buffer;
  return { dtype: kind.dtype, dims, data: kind.make(buf, count) };
}

/** Reads a `.npy` file (see {@link parseNpy}); a missing file is a one-line NPY_READ error. */
export function readNpy(path: string): TensorData {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new EnclaveNnError('NPY_READ', `Cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return parseNpy(bytes, path);
}

/** Encodes a float32 or int32 tensor as `.npy` version 1.0 bytes. */
export function encodeNpy(t: { dims: number[]; data: Float32Array | Int32Array }): Uint8Array {
  const descr = t.data instanceof Float32Array ? '<f4' : '<i4';
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // The header (with its newline) pads the payload start to a multiple of 64 bytes (NEP 1).
  header = header.padEnd(Math.ceil((10 + header.length + 1) / 64) * 64 - 10 - 1, ' ') + '\n';
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + h.length + t.data.byteLength);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(h, 10);
  out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 10 + h.length);
  return out;
}

/** Writes a `.npy` file atomically (temporary file in the same folder, then rename). */
export function writeNpy(path: string, t: { dims: number[]; data: Float32Array | Int32Array }): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  writeFileSync(tmp, encodeNpy(t));
  renameSync(tmp, path);
}
