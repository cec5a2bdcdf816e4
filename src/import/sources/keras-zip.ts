import { strFromU8, Unzip, UnzipInflate, UnzipPassThrough } from 'fflate';
import { EnclaveNnError } from '../../errors.ts';
import type { KerasModelSource } from '../convert.ts';
import type { KerasLayerConfig, KerasModelConfig } from '../keras-format.ts';
import type { StoredWeight } from '../weights.ts';
import { readKeras3Weights, withH5Bytes } from './hdf5.ts';

/** The entries a `.keras` archive needs; no other entry is inflated. */
const KERAS_ENTRIES = new Set(['config.json', 'model.weights.h5', 'metadata.json']);
/**
 * An entry may inflate to at most this many times its compressed size (or the archive's, when the
 * entry does not say)… Deflate reaches ~1,030× on zeros; model weights compress ~1.1×, configs ~10×.
 */
export const MAX_INFLATE_RATIO = 100;
/** …but always to this many bytes, whatever its ratio (small, very repetitive configs). */
export const MIN_INFLATE_ALLOWANCE = 16 * 1024 * 1024;
/** No entry inflates beyond this (the largest typed array is 2³² − 1 bytes on 64-bit V8, well above real models). */
export const MAX_ENTRY_SIZE = 4 * 1024 * 1024 * 1024 - 1;
/** Input is fed to the inflater in slices of this size, so no single output chunk exceeds ~1,030 × it. */
const SLICE = 16 * 1024;

/**
 * Unzips the entries of {@link KERAS_ENTRIES}, refusing (before inflating further) any entry that
 * grows beyond its declared size or beyond max({@link MIN_INFLATE_ALLOWANCE},
 * {@link MAX_INFLATE_RATIO} × compressed size): a zip bomb costs at most that much memory.
 */
function unzipBounded(bytes: Uint8Array, label: string): Record<string, Uint8Array> {
  // A zip starts with a local file header (PK\x03\x04), or is an empty archive (PK\x05\x06).
  if (bytes.byteLength < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b || !((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6))) {
    throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${label}: not a zip archive (no zip signature at its start)`);
  }
  const files: Record<string, Uint8Array> = {};
  let failure: unknown;
  const unzip = new Unzip((file) => {
    if (!KERAS_ENTRIES.has(file.name) || failure) return; // never started: never inflated
    const compressed = file.size ?? bytes.byteLength;
    const limit = Math.min(MAX_ENTRY_SIZE, file.originalSize || MAX_ENTRY_SIZE, Math.max(MIN_INFLATE_ALLOWANCE, MAX_INFLATE_RATIO * compressed));
    const chunks: Uint8Array[] = [];
    let size = 0;
    file.ondata = (err, chunk, final) => {
      if (failure) return;
      if (err) { failure = err; return; }
      size += chunk.byteLength;
      if (size > limit) {
        failure = new EnclaveNnError('IMPORT_ZIP_LIMIT', `Cannot import ${label}: ${file.name} inflates beyond ${limit} bytes (${file.originalSize ? `declared ${file.originalSize}, ` : ''}${compressed} compressed; at most ${MAX_INFLATE_RATIO}× is accepted): refused as a zip bomb`);
        file.terminate();
        return;
      }
      chunks.push(chunk);
      if (final) files[file.name] = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  unzip.register(UnzipPassThrough);
  try {
    for (let at = 0; at < bytes.byteLength && !failure; at += SLICE) unzip.push(bytes.subarray(at, at + SLICE), at + SLICE >= bytes.byteLength);
  } catch (e) {
    failure ??= e;
  }
  if (failure instanceof EnclaveNnError) throw failure;
  if (failure) throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${label}: not a zip archive (${(failure as Error).message})`, { cause: failure });
  return files;
}

/** Reads a Keras 3 `.keras` zip: `config.json` (the model config), `model.weights.h5`, `metadata.json`. */
export async function readKerasZip(bytes: Uint8Array, label: string): Promise<KerasModelSource> {
  const files = unzipBounded(bytes, label);
  const config = files['config.json'];
  if (!config) throw new EnclaveNnError('IMPORT_NO_CONFIG', `Cannot import ${label}: the .keras archive has no config.json`);
  const weightsBytes = files['model.weights.h5'];
  if (!weightsBytes) throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${label}: the .keras archive has no model.weights.h5`);
  let model: KerasModelConfig;
  let meta: { keras_version?: string } = {};
  try {
    model = JSON.parse(strFromU8(config)) as KerasModelConfig;
    if (files['metadata.json']) meta = JSON.parse(strFromU8(files['metadata.json'])) as { keras_version?: string };
  } catch (e) {
    throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${label}: config.json is not JSON (${(e as Error).message})`, { cause: e });
  }
  const stored = await withH5Bytes(weightsBytes, `${label}:model.weights.h5`, readKeras3Weights);
  const weights = nameByLayer(stored, layerKeys(model));
  return { model, weights, flavor: { kerasMajor: 3, tfjs: false }, format: 'keras', kerasVersion: meta.keras_version };
}

/** Keras 3 `naming.to_snake_case` (class name → weights-file key). */
export function snakeCase(name: string): string {
  return name.replace(/\W+/g, '').replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

interface LayerKey { name: string; children?: Map<string, LayerKey> }

const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);

/**
 * Keras 3 stores a model's layers under keys made from their class names, not their layer names
 * (`saving_lib._save_container_state`: `dense`, `dense_1`, … in `model.layers` order, per class);
 * this rebuilds that key → layer mapping from the config, nested models included.
 */
function layerKeys(model: KerasModelConfig | KerasLayerConfig): Map<string, LayerKey> {
  const c = model.config as unknown;
  const layers = (Array.isArray(c) ? c : (c as { layers?: KerasLayerConfig[] }).layers ?? []) as KerasLayerConfig[];
  const used = new Map<string, number>();
  const out = new Map<string, LayerKey>();
  for (const l of layers) {
    const base = snakeCase(l.class_name);
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    const key = n === undefined ? base : `${base}_${n + 1}`;
    out.set(key, { name: l.config.name ?? l.name ?? key, children: MODEL_CLASSES.has(l.class_name) ? layerKeys(l) : undefined });
  }
  return out;
}

/** Renames `dense_1/vars/0` to `<layer name>/vars/0` with the layer as its group (nested keys followed). */
function nameByLayer(weights: StoredWeight[], keys: Map<string, LayerKey>): StoredWeight[] {
  return weights.map((w) => {
    const parts = w.name.split('/');
    let map: Map<string, LayerKey> | undefined = keys;
    let layer: string | undefined;
    let i = 0;
    while (map && i < parts.length && map.has(parts[i]!)) {
      const k: LayerKey = map.get(parts[i]!)!;
      layer = k.name;
      map = k.children;
      i++;
    }
    return layer ? { ...w, name: [layer, ...parts.slice(i)].join('/'), group: layer } : w;
  });
}
