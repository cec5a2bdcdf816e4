/**
 * Test helpers for converters: build a model in TF.js, import it, run both on the same random
 * inputs, compare. Used by every converter test (and the recurrent family's).
 *
 * @example
 * ```ts
 * const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, activation: 'relu' })] });
 * await expectImportMatches(m);                      // throws (assert) when ORT and TF.js differ
 * ```
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ModelProto } from 'onnx-buf';
import { runOnnx, type TensorData } from '../onnx/ort.ts';
import { importTfjsArtifacts, type TfjsArtifacts } from './index.ts';
import { seededRandom } from '../util/seeded-prng.ts';

let backendReady: Promise<boolean> | undefined;
/** Selects TF.js's pure-JS CPU backend once (deterministic, no native addon). */
export function tfReady(): Promise<boolean> {
  backendReady ??= tf.setBackend('cpu');
  return backendReady;
}

export { seededRandom };

/**
 * Sets every weight of a TF.js model to seeded uniform values in [-scale, scale); weights named
 * `moving_variance` get [0.5, 1.5) so batch norms stay well defined. Makes tests independent of
 * initializers (zero biases, unit batch-norm statistics would hide mistakes).
 */
export function randomizeWeights(model: tf.LayersModel, seed = 1, scale = 0.5): void {
  const rand = seededRandom(seed);
  const values = model.weights.map((w) => {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const variance = /moving_variance/.test(w.originalName ?? w.name);
    return tf.tensor(Float32Array.from({ length: n }, () => (variance ? 0.5 + rand() : (rand() * 2 - 1) * scale)), shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** Saves a TF.js model in memory: topology, weight specs and weight bytes. */
export async function saveTfjsArtifacts(model: tf.LayersModel): Promise<TfjsArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    saved = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const a = saved!;
  return {
    modelTopology: a.modelTopology, weightSpecs: a.weightSpecs as TfjsArtifacts['weightSpecs'],
    weightData: a.weightData as ArrayBuffer | ArrayBuffer[], format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy,
  };
}

/**
 * Writes a TF.js model to `dir` as `model.json` + `weights.bin` (the TF.js Layers file format).
 * With `shardSize`, the weights are split into several shard files (one manifest group).
 */
export async function saveTfjsModelToDir(model: tf.LayersModel, dir: string, options: { shardSize?: number } = {}): Promise<string> {
  const a = await saveTfjsArtifacts(model);
  const data = a.weightData instanceof ArrayBuffer ? new Uint8Array(a.weightData)
    : Array.isArray(a.weightData) ? new Uint8Array(Buffer.concat(a.weightData.map((b) => new Uint8Array(b)))) : new Uint8Array(0);
  mkdirSync(dir, { recursive: true });
  const size = options.shardSize ?? Math.max(1, data.byteLength);
  const paths: string[] = [];
  for (let o = 0, i = 1; o < data.byteLength || paths.length === 0; o += size, i++) {
    const p = `group1-shard${i}of${Math.max(1, Math.ceil(data.byteLength / size))}.bin`;
    writeFileSync(join(dir, p), data.subarray(o, o + size));
    paths.push(p);
  }
  const json = { format: a.format ?? 'layers-model', generatedBy: a.generatedBy, convertedBy: a.convertedBy ?? null, modelTopology: a.modelTopology, weightsManifest: [{ paths, weights: a.weightSpecs }] };
  const path = join(dir, 'model.json');
  writeFileSync(path, JSON.stringify(json));
  return path;
}

/** A TF.js IOHandler that loads a Layers `model.json` and its shards from the file system. */
export function fileLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; format?: string; generatedBy?: string; convertedBy?: string };
      const parts = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(modelJsonPath), decodeURIComponent(p)))));
      const all = Buffer.concat(parts);
      return {
        modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

/** Options of {@link expectImportMatches} and {@link compareWithTfjs}. */
export interface MatchOptions {
  /** Inputs to feed (batch included), one per model input; random when absent. */
  inputs?: tf.Tensor[];
  /** Batch size of random inputs. @defaultValue 2 */
  batch?: number;
  /** Size given to unknown non-batch dimensions of random inputs. @defaultValue 5 */
  dynamicDim?: number;
  /** Random inputs are integers in [0, n) (token ids for an Embedding) instead of uniform [-1, 1). */
  integerInputs?: number;
  /** Seed of random inputs. @defaultValue 7 */
  seed?: number;
  /** The largest accepted relative error (see {@link relativeError}). @defaultValue 1e-4 */
  tolerance?: number;
  /** Names the case in assertion messages. */
  label?: string;
}

/**
 * The relative error of `got` against `want`: the largest absolute difference divided by the
 * reference's scale (its largest magnitude, floored at 1). Infinity when shapes differ.
 */
export function relativeError(got: TensorData, want: { dims: number[]; data: ArrayLike<number> }): number {
  if (got.dims.join() !== want.dims.join() || got.data.length !== want.data.length) return Infinity;
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < want.data.length; i++) {
    const w = Number(want.data[i]);
    const d = Math.abs(Number(got.data[i]) - w);
    if (Number.isNaN(d)) return Infinity;
    if (d > diff) diff = d;
    if (Math.abs(w) > scale) scale = Math.abs(w);
  }
  return diff / scale;
}

/** Random inputs for a TF.js model's inputs. */
export function randomInputs(model: tf.LayersModel, options: MatchOptions = {}): tf.Tensor[] {
  const rand = seededRandom(options.seed ?? 7);
  return model.inputs.map((inp) => {
    const shape = inp.shape.map((d, i) => (d === null ? (i === 0 ? options.batch ?? 2 : options.dynamicDim ?? 5) : d));
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, () => (options.integerInputs ? Math.floor(rand() * options.integerInputs) : rand() * 2 - 1));
    return tf.tensor(data, shape, 'float32');
  });
}

/**
 * Runs an imported ONNX model and the TF.js model on the same inputs; asserts that the inputs
 * and outputs line up (count, shapes) and that every output's relative error is within tolerance.
 * Returns the largest relative error.
 */
export async function compareWithTfjs(onnx: ModelProto, model: tf.LayersModel, options: MatchOptions = {}): Promise<number> {
  await tfReady();
  const label = options.label ?? model.name;
  const inputs = options.inputs ?? randomInputs(model, options);
  const graph = onnx.graph!;
  assert.equal(graph.input.length, inputs.length, `${label}: ${graph.input.length} ONNX inputs for ${inputs.length} Keras inputs`);
  const feeds: Record<string, TensorData> = {};
  graph.input.forEach((vi, i) => {
    const t = inputs[i]!;
    const elem = vi.type?.value.case === 'tensorType' ? vi.type.value.value.elemType : 1;
    const values = t.dataSync();
    feeds[vi.name] = elem === 6 ? { dtype: 'int32', dims: t.shape, data: Int32Array.from(values) }
      : elem === 7 ? { dtype: 'int64', dims: t.shape, data: BigInt64Array.from(values, (v) => BigInt(Math.round(v))) }
        : { dtype: 'float32', dims: t.shape, data: Float32Array.from(values) };
  });
  const predicted = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
  const want = Array.isArray(predicted) ? predicted : [predicted];
  const got = await runOnnx(onnx, feeds);
  assert.equal(graph.output.length, want.length, `${label}: ${graph.output.length} ONNX outputs for ${want.length} Keras outputs`);
  let worst = 0;
  graph.output.forEach((vi, i) => {
    const w = want[i]!;
    const g = got[vi.name]!;
    const err = relativeError(g, { dims: w.shape, data: w.dataSync() });
    assert.deepEqual(g.dims, w.shape, `${label}: output '${vi.name}' has shape [${g.dims}], TF.js [${w.shape}]`);
    assert.ok(err <= (options.tolerance ?? 1e-4), `${label}: output '${vi.name}' relative error ${err} > ${options.tolerance ?? 1e-4}`);
    worst = Math.max(worst, err);
  });
  tf.dispose(want);
  if (!options.inputs) tf.dispose(inputs);
  return worst;
}

/**
 * The converter acceptance check: saves `model` in the TF.js format (in memory), imports it,
 * asserts that the ONNX inputs are named after the Keras inputs, and compares ORT's outputs
 * with `model.predict` on fresh random inputs (max relative error ≤ 1e-4 by default).
 */
export async function expectImportMatches(model: tf.LayersModel, options: MatchOptions = {}): Promise<{ onnx: ModelProto; maxRelError: number }> {
  await tfReady();
  const onnx = importTfjsArtifacts(await saveTfjsArtifacts(model));
  const names = onnx.graph!.input.map((i) => i.name);
  assert.deepEqual(names, model.inputs.map((t) => t.sourceLayer.name), `${options.label ?? model.name}: ONNX input names`);
  const maxRelError = await compareWithTfjs(onnx, model, options);
  return { onnx, maxRelError };
}
