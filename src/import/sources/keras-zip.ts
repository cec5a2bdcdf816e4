import { unzipSync, strFromU8 } from 'fflate';
import { EnclaveNnError } from '../../errors.ts';
import type { KerasModelSource } from '../convert.ts';
import type { KerasModelConfig } from '../keras-format.ts';
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
  const weights = await withH5Bytes(weightsBytes, `${label}:model.weights.h5`, readKeras3Weights);
  return { model, weights, flavor: { kerasMajor: 3, tfjs: false }, format: 'keras', kerasVersion: meta.keras_version };
}
