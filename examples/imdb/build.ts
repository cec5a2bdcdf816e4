/**
 * The paper's IMDB model (the Google text-classification guide's n-gram MLP):
 * TF-IDF over unigrams and bigrams (min df 2), the 20,000 features with the highest ANOVA F score
 * between the classes (scikit-learn's SelectKBest(f_classif), as the eNNclave experiments'
 * `imdb_prepare_data.py` before its commit bcfb0fd; see tfidf.ts step 3) → Dropout 0.2 → Dense 64 relu →
 * Dropout 0.2 → Dense 1 sigmoid, trained on ../shared/datasets/imdb (25,000 train reviews,
 * evaluated on the 25,000 test reviews).
 *
 * `node --import tsx examples/imdb/build.ts --out DIR [--epochs N] [--quick] [--seed S]` writes
 * DIR/tfjs/model.json + weights, DIR/vectorizer.json (vocabulary + idf, see tfidf.ts) and, when
 * the importer exists, DIR/model.onnx. Adam 1e-3, batch 128, 4 epochs by default, a seeded
 * permutation of the training rows per epoch. `--quick`: 4,000 train / 2,000 test reviews.
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initTfWasm, seededPermutation, withSeededRandom } from '../../src/tfjs/setup.ts';
import { saveTfjsModel } from '../../src/tfjs/save-tfjs.ts';
import { cpuSeconds } from '../../src/tfjs/train-utils.ts';
import { exportOnnxIfAvailable, parseBuildArgs, runMain, type BuildOptions } from '../common/build-cli.ts';
import { loadImdb } from '../../src/datasets/imdb.ts';
import { densify, fitTfidf, transformTfidf, type SparseRow, type TfidfVectorizer } from './tfidf.ts';
import { EnclaveNnError } from '../../src/errors.ts';

/** Number of TF-IDF features (the model's input width). */
export const IMDB_FEATURES = 20000;

// The reviews loader lives in src/datasets (the attack's example data reads it too).
export { loadImdb, type Review } from '../../src/datasets/imdb.ts';

/**
 * The IMDB test set as model input, for the bench and attack tools: the reviews vectorised
 * with a saved vectorizer (`DIR/vectorizer.json` of a build), float32 [count, 20000], and labels.
 *
 * @param vectorizerPath path of vectorizer.json
 * @param limit at most this many reviews (the first ones; any even prefix is balanced)
 */
export function loadImdbTestVectors(vectorizerPath: string, limit?: number): { x: Float32Array; labels: Uint8Array; count: number; shape: [number, number] } {
  const v = JSON.parse(readFileSync(vectorizerPath, 'utf8')) as TfidfVectorizer;
  if (v.kind !== 'enclave-nn/tfidf' || (v.version !== 1 && v.version !== 2)) {
    throw new EnclaveNnError('VECTORIZER_INVALID', `Cannot read vectorizer ${vectorizerPath}: not an enclave-nn/tfidf v1 or v2 file`);
  }
  const test = loadImdb('test', limit);
  const width = v.vocabulary.length;
  return { x: densify(test.map((r) => transformTfidf(v, r.text)), width), labels: Uint8Array.from(test, (r) => r.label),
    count: test.length, shape: [test.length, width] };
}

/**
 * The (untrained, seeded) IMDB MLP.
 *
 * @param seed initializer seed
 */
export function createImdbModel(seed = 42): tf.Sequential {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  return tf.sequential({ name: 'imdb_mlp', layers: [
    tf.layers.dropout({ name: 'dropout', inputShape: [IMDB_FEATURES], rate: 0.2 }),
    tf.layers.dense({ name: 'dense', units: 64, activation: 'relu', kernelInitializer: init(1) }),
    tf.layers.dropout({ name: 'dropout_1', rate: 0.2 }),
    tf.layers.dense({ name: 'dense_1', units: 1, activation: 'sigmoid', kernelInitializer: init(2) }),
  ] });
}

function accuracyOf(model: tf.LayersModel, rows: SparseRow[], labels: number[]): number {
  let correct = 0;
  for (let s = 0; s < rows.length; s += 512) {
    const batch = rows.slice(s, s + 512);
    const p = tf.tidy(() => (model.predict(tf.tensor2d(densify(batch, IMDB_FEATURES), [batch.length, IMDB_FEATURES])) as tf.Tensor).dataSync());
    p.forEach((v, i) => { if ((v >= 0.5 ? 1 : 0) === labels[s + i]) correct++; });
  }
  return correct / rows.length;
}

/**
 * Builds, trains, evaluates and saves the IMDB model and its vectorizer.
 *
 * @param opts `out`, `epochs` (default 4), `quick`, `seed` (default 42)
 */
export async function buildImdbModel(opts: BuildOptions): Promise<{ testAccuracy: number; modelJsonPath: string; seconds: number }> {
  const t0 = performance.now();
  const seed = opts.seed ?? 42;
  const epochs = opts.epochs ?? (opts.quick ? 2 : 4);
  await initTfWasm();
  const train = loadImdb('train', opts.quick ? 4000 : undefined);
  const test = loadImdb('test', opts.quick ? 2000 : undefined);
  const vectorizer = fitTfidf(train.map((r) => r.text), { maxFeatures: IMDB_FEATURES, selection: 'f_classif', labels: train.map((r) => r.label) });
  if (vectorizer.vocabulary.length < IMDB_FEATURES) {
    throw new EnclaveNnError('DATASET_TOO_SMALL', `Cannot build the IMDB model: only ${vectorizer.vocabulary.length} terms have df ≥ 2 (need ${IMDB_FEATURES})`);
  }
  console.log(`imdb: ${vectorizer.vocabulary.length + (vectorizer.normTerms?.length ?? 0)} terms with df ≥ 2; kept the ${vectorizer.vocabulary.length} with the highest F score (f_classif)`);
  const trainRows = train.map((r) => transformTfidf(vectorizer, r.text));
  const testRows = test.map((r) => transformTfidf(vectorizer, r.text));
  console.log(`imdb: vectorised ${train.length} train / ${test.length} test reviews in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const model = await withSeededRandom(seed, async () => {
    const m = createImdbModel(seed);
    m.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
    const batchSize = 128;
    for (let e = 0; e < epochs; e++) {
      const te = performance.now();
      const perm = seededPermutation(trainRows.length, seed * 1000 + e);
      let loss = 0, steps = 0;
      for (let s = 0; s < perm.length; s += batchSize) {
        const idx = Array.from(perm.subarray(s, s + batchSize));
        const x = tf.tensor2d(densify(idx.map((i) => trainRows[i]), IMDB_FEATURES), [idx.length, IMDB_FEATURES]);
        const y = tf.tensor2d(idx.map((i) => train[i].label), [idx.length, 1]);
        const r = await m.trainOnBatch(x, y);
        loss += Array.isArray(r) ? r[0] : r;
        steps++;
        tf.dispose([x, y]);
      }
      console.log(`imdb epoch ${e + 1}/${epochs}: loss ${(loss / steps).toFixed(4)} (${((performance.now() - te) / 1000).toFixed(1)} s)`);
    }
    return m;
  });
  const testAccuracy = accuracyOf(model, testRows, test.map((r) => r.label));
  const { modelJsonPath } = await saveTfjsModel(model, join(opts.out, 'tfjs'));
  mkdirSync(opts.out, { recursive: true });
  const vpath = join(opts.out, 'vectorizer.json');
  writeFileSync(`${vpath}.tmp-${process.pid}`, JSON.stringify(vectorizer));
  renameSync(`${vpath}.tmp-${process.pid}`, vpath);
  await exportOnnxIfAvailable(modelJsonPath, join(opts.out, 'model.onnx'));
  const seconds = (performance.now() - t0) / 1000;
  console.log(`imdb: test accuracy ${(testAccuracy * 100).toFixed(2)}% on ${test.length} reviews; saved ${modelJsonPath} and ${vpath}; ${seconds.toFixed(1)} s wall, ${cpuSeconds().toFixed(1)} s CPU`);
  return { testAccuracy, modelJsonPath, seconds };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runMain(() => buildImdbModel(parseBuildArgs(process.argv.slice(2), 'imdb')));
}
