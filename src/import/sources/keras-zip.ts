import { unzipSync, strFromU8 } from 'fflate';
import { EnclaveNnError } from '../../errors.ts';
import type { KerasModelSource } from '../convert.ts';
import type { KerasLayerConfig, KerasModelConfig } from '../keras-format.ts';
import type { StoredWeight } from '../weights.ts';
import { readKeras3Weights, withH5Bytes } from './hdf5.ts';

/** Reads a Keras 3 `.keras` zip: `config.json` (the model config), `model.weights.h5`, `metadata.json`. */
export async function readKerasZip(bytes: Uint8Array, label: string): Promise<KerasModelSource> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${label}: not a zip archive (${(e as Error).message})`, { cause: e });
  }
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
