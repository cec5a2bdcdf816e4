/**
 * `.npy` files for the attack tool (`--data`, `--test`, `--labels`): the runtime's codec
 * (src/runtime/npy.ts: versions 1.0–3.0, C order, little-endian; float32, float64, int32, int64,
 * uint8, bool) with file reading, atomic writing and one-line errors that name the file.
 * @module
 */
import { readFileSync } from 'node:fs';
import { EnclaveNnError } from '../errors.ts';
import type { TensorData } from '../onnx/ort.ts';
import { readNpy as decodeNpy, writeNpy as encodeTensor } from '../runtime/npy.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

/** Parses `.npy` bytes; `what` names the file in error messages (NPY_FORMAT). */
export function parseNpy(bytes: Uint8Array, what = '<bytes>'): TensorData {
  try {
    return decodeNpy(bytes);
  } catch (e) {
    throw new EnclaveNnError('NPY_FORMAT', `Cannot read ${what}: ${(e as Error).message}`, { cause: e });
  }
}

/** Reads a `.npy` file; a missing file is a one-line NPY_READ error. */
export function readNpy(path: string): TensorData {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new EnclaveNnError('NPY_READ', `Cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return parseNpy(bytes, path);
}

/** Encodes a float32 or int32 tensor as `.npy` bytes. */
export function encodeNpy(t: { dims: number[]; data: Float32Array | Int32Array }): Uint8Array {
  return encodeTensor({ dtype: t.data instanceof Float32Array ? 'float32' : 'int32', dims: t.dims, data: t.data });
}

/** Writes a `.npy` file atomically (temporary file in the same folder, then rename). */
export function writeNpy(path: string, t: { dims: number[]; data: Float32Array | Int32Array }): void {
  writeFileAtomic(path, encodeNpy(t));
}
