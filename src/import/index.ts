/**
 * Keras and TF.js → ONNX (DESIGN.md: "import"). An op table of layer converters
 * (`registry.ts`), one file per layer family under `layers/`, readers per file type under `sources/`.
 *
 * @example
 * ```ts
 * const model = await importModel('model.json');        // TF.js Layers format
 * const other = await importModel('model.h5');           // Keras 2 HDF5
 * writeFileSync('model.onnx', encodeModel(model));
 * ```
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { ModelProto } from 'onnx-buf';
import { EnclaveNnError } from '../errors.ts';
import { convertKerasModel, type KerasModelSource } from './convert.ts';
import type { TfjsModelJson, TfjsWeightEntry } from './keras-format.ts';
import { readKerasH5, withH5, withH5Bytes } from './sources/hdf5.ts';
import { readKerasZip } from './sources/keras-zip.ts';
import { concat, readTfjsModel, readTfjsModelFile } from './sources/tfjs.ts';

export { convertKerasModel, IMPORT_OPSET, type KerasModelSource } from './convert.ts';
export { converters, supportedLayers } from './registry.ts';
export { UNSUPPORTED_LAYER, type ConvertContext, type KerasFlavor, type KerasLayer, type LayerConverter, type LayerWeight, type SymTensor } from './types.ts';

/** The file types {@link importModel} reads. */
export type ImportFormat = 'tfjs' | 'hdf5' | 'keras';

/** Options of {@link importModel}. */
export interface ImportOptions {
  /**
   * The file type; detected from the extension when absent (`.json` TF.js, `.h5`/`.hdf5` Keras
   * HDF5, `.keras` Keras 3 zip).
   */
  format?: ImportFormat;
}

/** The format a path's extension names, or undefined. */
export function formatOf(path: string): ImportFormat | undefined {
  const ext = extname(path).toLowerCase();
  return ext === '.json' ? 'tfjs' : ext === '.h5' || ext === '.hdf5' ? 'hdf5' : ext === '.keras' ? 'keras' : undefined;
}

/**
 * Imports a Keras / TF.js model file as ONNX (opset 17). The model keeps the Keras interface:
 * inputs named after the Keras input layers, outputs after the output layers, channels-last
 * shapes with a symbolic 'batch' dimension, the same dtypes; every node is named
 * `<keras layer>/<op>` so `inspect` and `split --at` speak Keras layer names.
 *
 * Throws EnclaveNnError: IMPORT_UNSUPPORTED_LAYER (naming the layer, its class and the supported
 * classes), IMPORT_NO_CONFIG (a weights-only HDF5), IMPORT_FORMAT, IMPORT_CONFIG, IMPORT_WEIGHTS.
 */
export async function importModel(path: string, options: ImportOptions = {}): Promise<ModelProto> {
  return convertKerasModel(await readModelSource(path, options));
}

/** Reads a model file into a {@link KerasModelSource} without converting it. */
export async function readModelSource(path: string, options: ImportOptions = {}): Promise<KerasModelSource> {
  const format = options.format ?? formatOf(path);
  switch (format) {
    case 'tfjs': return readTfjsModelFile(path);
    case 'hdf5': return withH5(path, (f) => readKerasH5(f, path));
    case 'keras': return readKerasZip(readBytes(path), path);
    default: throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${path}: unknown file type (expected model.json, .h5, .hdf5 or .keras)`);
  }
}

/** Imports a Keras HDF5 or `.keras` model from bytes (`label` names it in errors). */
export async function importModelBytes(bytes: Uint8Array, options: { format: 'hdf5' | 'keras'; label?: string }): Promise<ModelProto> {
  const label = options.label ?? `${options.format} bytes`;
  const src = options.format === 'keras' ? await readKerasZip(bytes, label) : await withH5Bytes(bytes, label, (f) => readKerasH5(f, label));
  return convertKerasModel(src);
}

/**
 * What TF.js's `model.save(tf.io.withSaveHandler(…))` hands over: the topology, the weight
 * specs and the weight bytes (one buffer, or a list of buffers in order).
 */
export interface TfjsArtifacts {
  modelTopology: unknown;
  weightSpecs?: TfjsWeightEntry[];
  weightData?: ArrayBuffer | ArrayBuffer[] | Uint8Array;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

/** Imports TF.js model artifacts held in memory (as a save handler receives them). */
export function importTfjsArtifacts(artifacts: TfjsArtifacts): ModelProto {
  const data = artifacts.weightData;
  const bytes = data === undefined ? new Uint8Array(0)
    : data instanceof Uint8Array ? data
      : Array.isArray(data) ? concat(data.map((b) => new Uint8Array(b))) : new Uint8Array(data);
  const json = {
    format: artifacts.format, generatedBy: artifacts.generatedBy, convertedBy: artifacts.convertedBy,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [], weights: artifacts.weightSpecs ?? [] }],
  } as TfjsModelJson;
  return convertKerasModel(readTfjsModel(json, bytes));
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new EnclaveNnError('IMPORT_FORMAT', `Cannot import ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}
