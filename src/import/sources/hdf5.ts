import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import type { Dataset, File as H5File, Group } from 'h5wasm/node';
import { EnclaveNnError } from '../../errors.ts';
import { flavorOf, type KerasModelSource } from '../convert.ts';
import type { KerasModelConfig } from '../keras-format.ts';
import type { StoredWeight } from '../weights.ts';

/** Opens an HDF5 file with h5wasm (a real path: its Node build reads the file system directly). */
export async function withH5<T>(path: string, fn: (f: H5File) => T): Promise<T> {
  checkHdf5File(path);
  await h5wasm.ready;
  let f: H5File;
  try {
    f = new h5wasm.File(path, 'r');
  } catch (e) {
    throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${path}: not a readable HDF5 file`, { cause: e });
  }
  // h5wasm reports a failed open as a negative id, not as an exception.
  if (Number(f.file_id) < 0) throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${path}: not a readable HDF5 file`);
  try {
    return fn(f);
  } finally {
    f.close();
  }
}

// HDF5 1.10 §III.A: the superblock signature sits at byte 0, 512, 1024, 2048, … (after a user block).
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Checks the superblock before handing the file to libhdf5 (whose errors are 40 lines of
 * HDF5-DIAG on stderr): the signature, and that the file is as long as its superblock's
 * end-of-file address says (a truncated download or copy).
 */
function checkHdf5File(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(64);
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      const n = readSync(fd, buf, 0, 64, at);
      if (!SIGNATURE.every((b, i) => buf[i] === b)) continue;
      const expected = superblockEnd(buf.subarray(0, n));
      if (expected !== undefined && size < expected) throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${path}: truncated HDF5 file: ${size} of ${expected} bytes`);
      return;
    }
    throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${path}: not an HDF5 file (no HDF5 signature)`);
  } finally {
    closeSync(fd);
  }
}

/**
 * The file size a superblock promises: base address + end-of-file address (HDF5 format spec
 * §II.A; versions 0/1: the fields after 16 (v0) or 20 (v1) bytes of versions, sizes and K
 * values; versions 2/3: after 4 bytes). `undefined` when the superblock is not one we know.
 */
function superblockEnd(sb: Uint8Array): number | undefined {
  const version = sb[8];
  const fieldsAt = version === 0 ? 24 : version === 1 ? 28 : version === 2 || version === 3 ? 12 : undefined;
  const offsetSize = version === 0 || version === 1 ? sb[13] : sb[9];
  if (fieldsAt === undefined || offsetSize !== 8 || sb.byteLength < fieldsAt + 24) return undefined;
  const v = new DataView(sb.buffer, sb.byteOffset, sb.byteLength);
  const base = v.getBigUint64(fieldsAt, true);
  const eof = v.getBigUint64(fieldsAt + 16, true); // v0/1: after the free-space address; v2/3: after the extension address
  const end = base + eof;
  return end <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(end) : undefined;
}

/** As {@link withH5}, for bytes (written to a private temporary file, removed after). */
export async function withH5Bytes<T>(bytes: Uint8Array, label: string, fn: (f: H5File) => T): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-nn-h5-'));
  const path = join(dir, 'model.h5');
  try {
    writeFileSync(path, bytes);
    return await withH5(path, fn).catch((e: unknown) => {
      if (e instanceof EnclaveNnError) throw new EnclaveNnError(e.code, e.message.replace(path, label), { cause: e });
      throw e;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function attrString(g: Group, name: string): string | undefined {
  const a = g.attrs[name];
  if (!a) return undefined;
  const v = a.value;
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return undefined;
}

function attrStrings(g: Group, name: string): string[] {
  const a = g.attrs[name];
  if (!a) return [];
  const v = a.value;
  const list = Array.isArray(v) ? v : v === null ? [] : [v];
  return list.map((x) => (x instanceof Uint8Array ? new TextDecoder().decode(x) : String(x)));
}

/** A dataset's values as float32. */
function readFloat(d: Dataset): { shape: number[]; data: Float32Array } {
  const v = d.value;
  const shape = d.shape ?? [];
  if (v instanceof Float32Array) return { shape, data: v };
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    return { shape, data: Float32Array.from(v as unknown as ArrayLike<number | bigint>, (x) => Number(x)) };
  }
  if (typeof v === 'number') return { shape, data: Float32Array.of(v) };
  throw new EnclaveNnError('IMPORT_WEIGHTS', `Cannot import weight '${d.path}': dtype ${JSON.stringify(d.dtype)} is not numeric`);
}

/**
 * Reads a Keras 2.x / tf.keras HDF5 model (`model.save('x.h5')`): the `model_config` attribute and
 * `model_weights/<layer>/` groups listed by `layer_names`, each with its `weight_names`.
 * A weights-only file (`save_weights`) has no `model_config`: IMPORT_NO_CONFIG.
 */
export function readKerasH5(f: H5File, label: string): KerasModelSource {
  const configText = attrString(f, 'model_config');
  if (!configText) {
    throw new EnclaveNnError('IMPORT_NO_CONFIG', `Cannot import ${label}: the HDF5 file holds weights only (no 'model_config' attribute, as written by save_weights); save the whole model with model.save() and import that`);
  }
  let model: KerasModelConfig;
  try {
    model = JSON.parse(configText) as KerasModelConfig;
  } catch (e) {
    throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${label}: model_config is not JSON (${(e as Error).message})`, { cause: e });
  }
  const root = (f.get('model_weights') as Group | null) ?? f;
  const weights: StoredWeight[] = [];
  const layerNames = attrStrings(root, 'layer_names');
  for (const layer of layerNames.length ? layerNames : root.keys()) {
    const g = root.get(layer) as Group | null;
    if (!g || !('keys' in g)) continue;
    for (const wn of attrStrings(g, 'weight_names').filter((w) => w !== '')) {
      const d = g.get(wn) as Dataset | null;
      if (!d || 'keys' in d) throw new EnclaveNnError('IMPORT_WEIGHTS', `Cannot import ${label}: weight '${layer}/${wn}' is listed but missing`);
      weights.push({ name: wn.replace(/:\d+$/, ''), group: layer, ...readFloat(d) });
    }
  }
  const kerasVersion = attrString(f, 'keras_version');
  return { model, weights, flavor: flavorOf(kerasVersion, false), format: 'hdf5', kerasVersion };
}

/**
 * Reads the weights of a Keras 3 `model.weights.h5`: `layers/<name>/vars/<i>`, nested
 * (`layers/<model>/layers/<name>/vars/<i>`, `layers/<wrapper>/forward_layer/cell/vars/<i>`).
 * Names become `<name>/<sub…>/vars/<i>` (without the `layers` levels), in Keras order.
 */
export function readKeras3Weights(f: H5File): StoredWeight[] {
  const out: StoredWeight[] = [];
  const order = (keys: string[]) => [...keys].sort((a, b) => {
    const na = /^\d+$/.test(a) ? Number(a) : NaN;
    const nb = /^\d+$/.test(b) ? Number(b) : NaN;
    if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
    const rank = (k: string) => (k.startsWith('forward') ? 0 : k.startsWith('backward') ? 1 : 0);
    return rank(a) - rank(b);
  });
  const walk = (g: Group, path: string[]) => {
    for (const k of order(g.keys())) {
      const e = g.get(k);
      if (!e) continue;
      if ('keys' in e) walk(e as Group, k === 'layers' ? path : [...path, k]);
      else if (path.at(-1) === 'vars') out.push({ name: [...path, k].join('/'), ...readFloat(e as Dataset) });
    }
  };
  const layers = f.get('layers') as Group | null;
  if (layers && 'keys' in layers) walk(layers, []);
  return out;
}
