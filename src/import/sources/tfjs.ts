import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EnclaveNnError } from '../../errors.ts';
import { flavorOf, type KerasModelSource } from '../convert.ts';
import type { KerasModelConfig, TfjsModelJson, TfjsModelTopology, TfjsWeightEntry } from '../keras-format.ts';
import { decodeTfjsWeights } from '../weights.ts';

/**
 * Reads a TF.js Layers model: `model.json` (current format with `format: 'layers-model'`, or the
 * older one without it, whose `modelTopology` is `{ model_config, … }` or the model config itself)
 * and its weights, given as one buffer holding every shard of every manifest group in order.
 */
export function readTfjsModel(json: TfjsModelJson, weightData: Uint8Array): KerasModelSource {
  if (!json || typeof json !== 'object' || !json.modelTopology) {
    throw new EnclaveNnError('IMPORT_FORMAT', 'Cannot import TF.js model: model.json has no modelTopology');
  }
  if (json.format && json.format !== 'layers-model') {
    throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import TF.js model: format '${json.format}' is not a Layers model (graph models are not supported)`);
  }
  const topo = json.modelTopology as TfjsModelTopology;
  const model: KerasModelConfig | undefined = topo.model_config
    ?? (topo.class_name && topo.config ? { class_name: topo.class_name, config: topo.config } : undefined);
  if (!model) throw new EnclaveNnError('IMPORT_FORMAT', 'Cannot import TF.js model: modelTopology holds no model config');
  const version = topo.keras_version ?? (json.generatedBy ?? undefined);
  const tfjs = /tfjs/i.test(version ?? '') || /tfjs-layers/i.test(json.generatedBy ?? '');
  const entries: TfjsWeightEntry[] = (json.weightsManifest ?? []).flatMap((g) => g.weights);
  return {
    model,
    weights: decodeTfjsWeights(entries, weightData),
    flavor: flavorOf(topo.keras_version, tfjs),
    format: 'tfjs',
    kerasVersion: version,
  };
}

/** Reads `model.json` and its shard files (paths relative to it, concatenated group by group). */
export function readTfjsModelFile(path: string): KerasModelSource {
  let json: TfjsModelJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as TfjsModelJson;
  } catch (e) {
    throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${path}: ${(e as Error).message}`, { cause: e });
  }
  const parts: Uint8Array[] = [];
  for (const g of json.weightsManifest ?? []) {
    for (const p of g.paths) {
      try {
        parts.push(readFileSync(join(dirname(path), decodeURIComponent(p))));
      } catch (e) {
        throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${path}: weight shard '${p}' cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
      }
    }
  }
  return readTfjsModel(json, concat(parts));
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.byteLength; }
  return out;
}
