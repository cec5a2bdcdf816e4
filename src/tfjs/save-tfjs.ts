/**
 * Saves a tfjs-layers model in the TF.js Layers format on disk, without tfjs-node:
 * `DIR/model.json` (`format: 'layers-model'`, `modelTopology`, `weightsManifest`) and one
 * weights file `DIR/group1-shard1of1.bin` (the weights concatenated little-endian in manifest
 * order). This is what `model.save('file://DIR')` writes under tfjs-node, with a single shard.
 *
 * The directory appears atomically: files are written to a temporary sibling directory,
 * which is then renamed (an existing DIR is replaced).
 *
 * @example
 * ```ts
 * await saveTfjsModel(model, 'out/mnist/tfjs');
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The weights file's name (one shard). */
export const WEIGHTS_FILE = 'group1-shard1of1.bin';

/** Joins `ArrayBuffer | ArrayBuffer[]` (tfjs ≥ 4.10 may hand either) into one buffer. */
function concatWeights(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  const parts = Array.isArray(data) ? data : [data];
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) { out.set(new Uint8Array(p), off); off += p.byteLength; }
  return out;
}

/**
 * Saves `model` as `dir/model.json` + `dir/group1-shard1of1.bin`.
 *
 * @param model a tfjs-layers model (Sequential or functional)
 * @param dir target directory (created; replaced if it exists)
 * @returns the path of model.json and the weight bytes written
 */
export async function saveTfjsModel(model: tf.LayersModel, dir: string): Promise<{ modelJsonPath: string; weightsSize: number }> {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.${basename(dir)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  let weightsSize = 0;
  try {
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData === undefined ? new Uint8Array(0) : concatWeights(artifacts.weightData);
      weightsSize = weights.byteLength;
      const modelJson = {
        format: 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      };
      writeFileSync(join(tmp, WEIGHTS_FILE), weights);
      writeFileSync(join(tmp, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }));
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { modelJsonPath: join(dir, 'model.json'), weightsSize };
}

/**
 * Loads a model written by {@link saveTfjsModel} (or any single-directory TF.js Layers model)
 * from disk, reading shard files from the same directory.
 *
 * @param modelJsonPath path of model.json
 */
export async function loadTfjsModel(modelJsonPath: string): Promise<tf.LayersModel> {
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as {
    modelTopology: object; weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  };
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const bufs = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(modelJsonPath), p))));
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}
