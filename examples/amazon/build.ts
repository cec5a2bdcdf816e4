/**
 * The paper's Amazon model, as the eNNclave experiments build it (`amazon/train.py` in
 * uibk-iNNference/eNNclave-experiments): a star-rating regression over book reviews —
 * Embedding 20,000 × 32 (sequence length 500) → 4 × (SeparableConv1D 64/128/256/256, kernel 3,
 * 'same', relu → MaxPooling1D 2) → Flatten → Dense 600 relu → Dropout 0.3 → Dense 150 relu →
 * Dropout 0.3 → Dense 150 relu → Dense 1 linear, trained with mean absolute error and Adam.
 * Layer names follow Keras's defaults. Its timing log (`timing_logs/archived/amazon_times_cpu.csv`)
 * has layers_in_enclave 0…15: every layer but the embedding.
 *
 * The experiments' data (the Amazon Books reviews, UCSD) is not available offline here. By
 * default the weights are seeded and untrained: the model exists for timing. `--epochs N` (N > 0)
 * trains it on a **stand-in**: IMDB reviews (../shared/datasets/imdb) with their 1–10 ratings
 * mapped to 1–5 stars (⌈rating / 2⌉), tokenised as {@link loadReviewSequences} says; the printed
 * figure is the mean absolute error on the held-out stand-in reviews, not the paper's.
 *
 * `node --import tsx examples/amazon/build.ts --out DIR [--epochs N] [--quick] [--seed S]` writes
 * DIR/tfjs/model.json + weights and DIR/model.onnx (input: float32 token ids [N, 500]).
 * `--quick` trains on 2,000 reviews (1,000 held out) instead of 25,000 (25,000).
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initTfWasm, withSeededRandom } from '../../src/tfjs/setup.ts';
import { saveTfjsModel } from '../../src/tfjs/save-tfjs.ts';
import { cpuSeconds, progressCallbacks } from '../../src/tfjs/train-utils.ts';
import { exportOnnxIfAvailable, parseBuildArgs, runMain, type BuildOptions } from '../common/build-cli.ts';
import { SeparableConv1D } from '../common/separable-conv1d.ts';
import { datasetDir } from '../../src/datasets/dataset-dir.ts';
import { tokenize } from '../imdb/tfidf.ts';

/** Vocabulary size (Keras `Tokenizer(num_words=20000)`: index 0 is padding). */
export const AMAZON_NUM_WORDS = 20000;
/** Sequence length (`SEQUENCE_LENGTH` in the experiments). */
export const AMAZON_SEQUENCE_LENGTH = 500;

/**
 * The (untrained, seeded) Amazon regression model.
 *
 * @param seed initializer seed
 */
export function createAmazonModel(seed = 42): tf.Sequential {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  // Depthwise kernels: He-uniform over one depthwise filter's true fan-in (3 taps), as in the
  // Rotten Tomatoes example: Glorot on the (k, in, 1) shape shrinks the signal per layer.
  const depthwise = (k: number) => tf.initializers.randomUniform({ minval: -Math.SQRT2, maxval: Math.SQRT2, seed: seed + k });
  const names = ['', '_1', '_2', '_3'];
  const blocks = [64, 128, 256, 256].flatMap((filters, i) => [
    new SeparableConv1D({ name: `separable_conv1d${names[i]}`, filters, kernelSize: 3, padding: 'same', activation: 'relu',
      depthwiseInitializer: depthwise(i + 1), pointwiseInitializer: init(i + 101) }),
    tf.layers.maxPooling1d({ name: `max_pooling1d${names[i]}`, poolSize: 2 }),
  ]);
  return tf.sequential({ name: 'amazon_sepcnn', layers: [
    tf.layers.embedding({ name: 'embedding', inputDim: AMAZON_NUM_WORDS, outputDim: 32, inputLength: AMAZON_SEQUENCE_LENGTH,
      embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed }) }),
    ...blocks,
    tf.layers.flatten({ name: 'flatten' }),
    tf.layers.dense({ name: 'dense', units: 600, activation: 'relu', kernelInitializer: init(5) }),
    tf.layers.dropout({ name: 'dropout', rate: 0.3 }),
    tf.layers.dense({ name: 'dense_1', units: 150, activation: 'relu', kernelInitializer: init(6) }),
    tf.layers.dropout({ name: 'dropout_1', rate: 0.3 }),
    tf.layers.dense({ name: 'dense_2', units: 150, activation: 'relu', kernelInitializer: init(7) }),
    tf.layers.dense({ name: 'dense_3', units: 1, activation: 'linear', kernelInitializer: init(8) }),
  ] });
}

/** Reviews as padded token-id sequences with star ratings. */
export interface ReviewSequences {
  /** float32 token ids, row-major [count, 500] */
  x: Float32Array;
  /** 1–5 stars */
  stars: Float32Array;
  /** rows */
  count: number;
}

/**
 * The stand-in data: IMDB reviews as Keras-style sequences. Tokens are the IMDB example's
 * (`tokenize` in examples/imdb/tfidf.ts); the vocabulary is fitted on the training rows only
 * (words by count, descending, ties by code-unit order; rank r → index r + 1 for r + 1 < 20,000);
 * sequences keep their last 500 kept tokens and are padded with 0 in front (Keras
 * `pad_sequences` defaults); stars = ⌈rating / 2⌉.
 *
 * @param trainLimit training reviews (the first ones of train.jsonl; rows alternate pos/neg)
 * @param testLimit held-out reviews (the first ones of test.jsonl)
 */
export function loadReviewSequences(trainLimit?: number, testLimit?: number): { train: ReviewSequences; test: ReviewSequences } {
  const read = (split: string, limit?: number) => readFileSync(join(datasetDir('imdb'), `${split}.jsonl`), 'utf8').split('\n')
    .filter((l) => l.length > 0).slice(0, limit).map((l) => JSON.parse(l) as { text: string; rating: number });
  const train = read('train', trainLimit);
  const test = read('test', testLimit);
  const counts = new Map<string, number>();
  for (const r of train) for (const w of tokenize(r.text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const ranked = [...counts].sort((a, b) => (b[1] - a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const index = new Map(ranked.slice(0, AMAZON_NUM_WORDS - 1).map(([w], i) => [w, i + 1]));
  const encode = (rows: Array<{ text: string; rating: number }>): ReviewSequences => {
    const L = AMAZON_SEQUENCE_LENGTH;
    const x = new Float32Array(rows.length * L);
    rows.forEach((r, k) => {
      const ids = tokenize(r.text).map((w) => index.get(w)).filter((i): i is number => i !== undefined).slice(-L);
      x.set(ids, k * L + L - ids.length);
    });
    return { x, stars: Float32Array.from(rows, (r) => Math.ceil(r.rating / 2)), count: rows.length };
  };
  return { train: encode(train), test: encode(test) };
}

/**
 * Builds (and with `epochs` > 0 trains on the IMDB stand-in) and saves the Amazon model.
 *
 * @param opts `out`, `epochs` (default 0: seeded, untrained), `quick`, `seed` (default 42)
 */
export async function buildAmazonModel(opts: BuildOptions): Promise<{ modelJsonPath: string; testMae?: number; seconds: number }> {
  const t0 = performance.now();
  const log = opts.log ?? console.log;
  const seed = opts.seed ?? 42;
  const epochs = opts.epochs ?? 0;
  await initTfWasm();
  let testMae: number | undefined;
  const model = await withSeededRandom(seed, async () => {
    const m = createAmazonModel(seed);
    if (epochs === 0) return m;
    const data = loadReviewSequences(opts.quick ? 2000 : undefined, opts.quick ? 1000 : undefined);
    log(`amazon: training on the IMDB stand-in (${data.train.count} reviews, stars = ⌈rating/2⌉), ${epochs} epoch(s), batch 32`);
    m.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanAbsoluteError' });
    const L = AMAZON_SEQUENCE_LENGTH;
    const x = tf.tensor2d(data.train.x, [data.train.count, L]);
    const y = tf.tensor2d(data.train.stars, [data.train.count, 1]);
    await m.fit(x, y, { epochs, batchSize: 32, shuffle: true, verbose: 0, callbacks: progressCallbacks('amazon', 50, log) });
    tf.dispose([x, y]);
    const xt = tf.tensor2d(data.test.x, [data.test.count, L]);
    const p = tf.tidy(() => (m.predict(xt) as tf.Tensor).dataSync()) as Float32Array;
    xt.dispose();
    testMae = p.reduce((s, v, i) => s + Math.abs(v - data.test.stars[i]), 0) / data.test.count;
    log(`amazon: stand-in test MAE ${testMae.toFixed(3)} stars on ${data.test.count} held-out IMDB reviews`);
    return m;
  });
  const { modelJsonPath, weightsSize } = await saveTfjsModel(model, join(opts.out, 'tfjs'));
  await exportOnnxIfAvailable(modelJsonPath, join(opts.out, 'model.onnx'), log);
  const seconds = (performance.now() - t0) / 1000;
  log(`amazon: ${model.countParams()} parameters (${(weightsSize / 1e6).toFixed(1)} MB)${epochs === 0 ? ', seeded (untrained)' : ''}; saved ${modelJsonPath}; ${seconds.toFixed(1)} s wall, ${cpuSeconds().toFixed(1)} s CPU`);
  return { modelJsonPath, testMae, seconds };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runMain(() => buildAmazonModel(parseBuildArgs(process.argv.slice(2), 'amazon')));
}
