/**
 * The attacker (docs/attack.md §2–3). It receives only an {@link AttackSurface}: the public head,
 * the public header and a query function. It runs the head on its own inputs, queries the
 * enclave with the cut tensors, trains substitute tails on (cut → answer) and predicts with
 * head + substitute. This file and its imports never touch src/split, src/bundle, src/enclave,
 * src/runtime or src/crypto (a test checks the import graph): the tail is simply not reachable.
 * @module
 */
import * as ort from 'onnxruntime-node';
import { EnclaveNnError } from '../errors.ts';
import { fromOrtResults, ORT_SESSION_OPTIONS, toOrtFeeds, type TensorData } from '../onnx/ort.ts';
import { seededRandom } from '../util/seeded-prng.ts';
import { concatRows, rowCount, sliceFeeds } from './rows.ts';
import { architectureSubstitute, genericSubstitute, type CutStats, type Trainable } from './substitute.ts';
import { initTf } from './tf-backend.ts';
import { pretrainedSubstitute } from './pretrained.ts';
import { epochsFor, fitSubstitute, labelsOf, predictLabels, rms, validationRows, type Rows } from './train.ts';
import type { AttackOptions, AttackSurface, AttackerKind, PublicInterface, StolenPrediction } from './types.ts';
import { UnsupportedOpError } from './tf-graph.ts';

/** Runs the public head on batches of inputs and returns the cut tensors. */
export class PublicHead {
  readonly #session: ort.InferenceSession | null;
  readonly #header: PublicInterface;
  private constructor(session: ort.InferenceSession | null, header: PublicInterface) {
    this.#session = session;
    this.#header = header;
  }

  /** Loads the head bytes (empty = the whole model is private: the cut is the input). */
  static async create(head: Uint8Array, header: PublicInterface): Promise<PublicHead> {
    return new PublicHead(head.byteLength > 0 ? await ort.InferenceSession.create(head, ORT_SESSION_OPTIONS) : null, header);
  }

  /** The cut tensors for `feeds` (model inputs), `batch` rows at a time. */
  async cut(feeds: Record<string, TensorData>, batch: number): Promise<Record<string, TensorData>> {
    const n = rowCount(feeds);
    const parts: Record<string, TensorData[]> = Object.fromEntries(this.#header.inputs.map((t) => [t.name, []]));
    for (let s = 0; s < n; s += batch) {
      const f = sliceFeeds(feeds, s, Math.min(n, s + batch));
      const produced = this.#session ? this.#session.outputNames.filter((o) => o in parts) : [];
      const out = this.#session && produced.length > 0
        ? fromOrtResults(await this.#session.run(toOrtFeeds(pickInputs(f, this.#session.inputNames)), produced))
        : {};
      for (const t of this.#header.inputs) {
        const v = out[t.name] ?? f[t.name];
        if (!v) throw new EnclaveNnError('ATTACK_CUT', `Cannot run the head: cut tensor '${t.name}' comes neither from the head nor from the inputs`, { exitCode: 1 });
        parts[t.name]!.push(copy(v));
      }
    }
    return Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, concatRows(v)]));
  }

  /** Releases the head's session. */
  async close(): Promise<void> {
    await this.#session?.release();
  }
}

const copy = (t: TensorData): TensorData => ({ dtype: t.dtype, dims: [...t.dims], data: t.data.slice() as TensorData['data'] });
const pickInputs = (f: Record<string, TensorData>, names: readonly string[]) => Object.fromEntries(names.map((n) => [n, f[n]!]));

/** Rows per call for a spec whose batch axis may be fixed (then exactly that many). */
function chunkFor(header: PublicInterface, fallback: number): number {
  const fixed = [...header.headInputs, ...header.inputs].map((s) => s.shape[0]).find((d) => typeof d === 'number');
  return typeof fixed === 'number' ? fixed : fallback;
}

/** Sends every row of `cut` to the enclave, `batch` rows a call; returns every output it declares, rows concatenated. */
async function queryAll(surface: AttackSurface, cut: Record<string, TensorData>, batch: number): Promise<Record<string, TensorData>> {
  const n = rowCount(cut);
  const names = surface.header.outputs.map((o) => o.name);
  const parts: Record<string, TensorData[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (let s = 0; s < n; s += batch) {
    const r = await surface.query(sliceFeeds(cut, s, Math.min(n, s + batch)));
    for (const k of names) {
      const v = r[k] ?? (names.length === 1 ? Object.values(r)[0] : undefined);
      if (!v) throw new EnclaveNnError('ATTACK_QUERY', `Cannot query the enclave: it returned no output '${k}'`, { exitCode: 1 });
      parts[k]!.push(copy(v));
    }
  }
  return Object.fromEntries(names.map((k) => [k, concatRows(parts[k]!)]));
}

const isInteger = (t: TensorData) => t.data instanceof BigInt64Array || t.data instanceof BigUint64Array || t.data instanceof Int32Array;
const numbers = (t: TensorData) => Array.from(t.data as ArrayLike<number | bigint>, Number);

/** One-hot rows [n, classes] of integer labels. */
function oneHot(labels: ArrayLike<number>, classes: number): TensorData {
  const out = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) out[i * classes + Math.min(classes - 1, Math.max(0, labels[i]!))] = 1;
  return { dtype: 'float32', dims: [labels.length, classes], data: out };
}

/**
 * How an answer looks, from its tensors alone (the attacker sees the header's specs and the
 * values; the sealed policy is hidden): `label` — one integer tensor [N] (policy `label`);
 * `top-k` — a float [N, K] and an integer [N, K] of class indices (policy `top-k:K`);
 * `scores` — one float [N, C] (probabilities, rounded or perturbed scores, or logits).
 */
export function answerKind(answers: Record<string, TensorData>): 'label' | 'top-k' | 'scores' {
  const ts = Object.values(answers);
  if (ts.length === 1 && isInteger(ts[0]!) && ts[0]!.dims.length === 1) return 'label';
  if (ts.length === 2 && ts.some(isInteger) && ts.some((t) => !isInteger(t))) return 'top-k';
  return 'scores';
}

/** The class the answer names first for each row (what an honest user reads as the prediction). */
export function answerLabels(answers: Record<string, TensorData>): Int32Array {
  const kind = answerKind(answers);
  const ts = Object.values(answers);
  if (kind === 'label') return Int32Array.from(numbers(ts[0]!));
  if (kind === 'top-k') {
    const idx = ts.find(isInteger)!;
    const k = idx.dims[1] ?? 1;
    return Int32Array.from({ length: idx.dims[0]! }, (_, i) => Number(idx.data[i * k]!));
  }
  return labelsOf({ dims: ts[0]!.dims, data: Float32Array.from(ts[0]!.data as Float32Array, Number) }, ts[0]!.dims[1] === 1 && numbers(ts[0]!).some((v) => v < 0 || v > 1) ? 'logit' : 'probability');
}

/** The class count an attacker reads off the answers when nobody told it: the widest row, or the largest class index + 1 (≥ 2). */
export function classesOfAnswers(answers: Record<string, TensorData>): number {
  const kind = answerKind(answers);
  const ts = Object.values(answers);
  if (kind === 'scores') return ts[0]!.data.length / Math.max(1, ts[0]!.dims[0]!);
  const idx = ts.find(isInteger)!;
  return Math.max(2, ...numbers(idx).map((v) => v + 1));
}

/**
 * The training targets [N, classes] from the enclave's answers, whatever the output policy made
 * of them (docs/attack.md §3.3): a `label` answer → one-hot; a `top-k` answer → its K scores at
 * their classes and the remaining mass (1 − Σ) spread evenly over the other classes ('prob') or
 * the one-hot of its first class ('label'); scores → {@link targetsFrom}.
 */
export function answerTargets(answers: Record<string, TensorData>, mode: 'label' | 'prob', classes = classesOfAnswers(answers)): TensorData {
  const kind = answerKind(answers);
  const ts = Object.values(answers);
  if (kind === 'scores') return targetsFrom(ts[0]!, mode);
  const labels = answerLabels(answers);
  if (kind === 'label' || mode === 'label') return oneHot(labels, classes);
  const idx = ts.find(isInteger)!;
  const p = ts.find((t) => !isInteger(t))!;
  const [n, k] = idx.dims as [number, number];
  const out = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.max(0, Number(p.data[i * k + j]!));
    const rest = classes > k ? Math.max(0, 1 - sum) / (classes - k) : 0;
    out.fill(rest, i * classes, (i + 1) * classes);
    for (let j = 0; j < k; j++) out[i * classes + Number(idx.data[i * k + j]!)] = Math.max(0, Number(p.data[i * k + j]!));
    let total = 0;
    for (let c = 0; c < classes; c++) total += out[i * classes + c]!;
    for (let c = 0; c < classes; c++) out[i * classes + c] = total > 0 ? out[i * classes + c]! / total : 1 / classes;
  }
  return { dtype: 'float32', dims: [n, classes], data: out };
}

/**
 * The training targets from the enclave's answers: one-hot labels ('label') or probabilities
 * ('prob'; logits are passed through a softmax/sigmoid first). A single output unit stays one
 * column (binary).
 */
export function targetsFrom(answers: TensorData, mode: 'label' | 'prob'): TensorData {
  const n = answers.dims[0]!;
  const c = answers.data.length / Math.max(1, n);
  const x = Float32Array.from(answers.data as Float32Array, Number);
  const out = new Float32Array(n * c);
  // Scores in [0, 1] are probabilities (rounded or perturbed ones may not sum to 1: renormalised below).
  const isProb = (i: number) => { for (let j = 0; j < c; j++) { const v = x[i * c + j]!; if (v < 0 || v > 1) return false; } return true; };
  const labels = labelsOf({ dims: [n, c], data: x }, 'probability');
  for (let i = 0; i < n; i++) {
    if (mode === 'label') {
      if (c === 1) out[i] = isProb(i) ? (x[i]! >= 0.5 ? 1 : 0) : (x[i]! >= 0 ? 1 : 0);
      else out[i * c + labels[i]!] = 1;
      continue;
    }
    if (isProb(i)) {
      let sum = 0;
      for (let j = 0; j < c; j++) sum += x[i * c + j]!;
      for (let j = 0; j < c; j++) out[i * c + j] = c === 1 ? x[i]! : sum > 0 ? x[i * c + j]! / sum : 1 / c;
      continue;
    }
    if (c === 1) { out[i] = 1 / (1 + Math.exp(-x[i]!)); continue; }
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, x[i * c + j]!);
    let s = 0;
    for (let j = 0; j < c; j++) { out[i * c + j] = Math.exp(x[i * c + j]! - m); s += out[i * c + j]!; }
    for (let j = 0; j < c; j++) out[i * c + j]! /= s;
  }
  return { dtype: 'float32', dims: [n, c], data: out };
}

function cutStats(cut: Record<string, TensorData>): CutStats {
  const stats: CutStats = { integer: {}, max: {} };
  for (const [k, t] of Object.entries(cut)) {
    let integer = true, max = -Infinity;
    const d = t.data as ArrayLike<number | bigint>;
    for (let i = 0; i < d.length; i++) {
      const v = Number(d[i]);
      if (v < 0 || !Number.isInteger(v)) integer = false;
      if (v > max) max = v;
    }
    stats.integer[k] = integer;
    stats.max[k] = max;
  }
  return stats;
}

/**
 * Steals the tail behind `surface` once per seed, attacker and query budget, and predicts the
 * labels of `options.predictOn` with head + substitute. Deterministic for a seed (TF.js WASM
 * backend). The enclave is queried once (max Q rows); every seed trains on the same answers.
 *
 * @example
 * ```ts
 * const preds = await stealTail({ head, header, query }, { data: { x }, queries: [50, 500], predictOn: { x: xTest } });
 * // preds[i].labels: the substitute's class for each test row
 * ```
 */
export async function stealTail(surface: AttackSurface, options: AttackOptions): Promise<StolenPrediction[]> {
  await initTf();
  const mode = options.mode ?? 'label';
  const seeds = options.seeds ?? [options.seed ?? 1];
  const passes = options.trainPasses ?? 10000;
  const attackers: AttackerKind[] = options.attackers ?? ['generic'];
  const log = options.progress ?? (() => {});
  const qMax = Math.max(0, ...options.queries);
  const dataRows = rowCount(options.data);
  if (qMax > dataRows) throw new EnclaveNnError('ATTACK_DATA', `Cannot attack with ${qMax} queries: --data has only ${dataRows} rows`);
  for (const s of surface.header.headInputs) {
    if (!options.data[s.name]) throw new EnclaveNnError('ATTACK_DATA', `Cannot attack: the attacker's data lacks the model input '${s.name}'`);
  }
  if (attackers.includes('own-data') && (!options.ownLabels || options.ownLabels.length < qMax)) {
    throw new EnclaveNnError('ATTACK_DATA', `Cannot run the own-data baseline: it needs ${qMax} labels of the attacker's data, got ${options.ownLabels?.length ?? 0}`);
  }
  const batch = chunkFor(surface.header, options.queryBatch ?? 256);
  const head = await PublicHead.create(surface.head, surface.header);
  try {
    // Budgets are nested: a substitute with budget Q uses the first Q rows, so one pass of
    // queries serves every Q (each answer is what a fresh attacker with that budget would get).
    const querying = attackers.some((a) => a !== 'own-data');
    const cut = qMax > 0 ? await head.cut(sliceFeeds(options.data, 0, qMax), batch) : {};
    const answers = qMax > 0 && querying ? await queryAll(surface, cut, batch) : undefined;
    const outSpec = surface.header.outputs[0]!;
    const lastDim = outSpec.shape[outSpec.shape.length - 1];
    const classes = options.classes ?? (answers ? classesOfAnswers(answers) : typeof lastDim === 'number' ? lastDim : 2);
    const empty = { dtype: 'float32' as const, dims: [0, classes], data: new Float32Array(0) };
    const targets = answers ? answerTargets(answers, mode, classes) : empty;
    const own = options.ownLabels && qMax > 0 ? oneHot(options.ownLabels.subarray(0, qMax), classes) : empty;
    const stats = cutStats(cut);
    log(`queried the enclave ${answers ? qMax : 0} times (${answers ? answerKind(answers) : 'no'} answers); ${classes} class(es); training ${seeds.length * attackers.length * options.queries.length} substitute(s)`);
    const testCut = await head.cut(options.predictOn, batch);
    const testRows = rowCount(options.predictOn);
    const results: StolenPrediction[] = [];
    const rows: Rows = { tensors: cut, count: qMax };
    for (const seed of seeds) {
      for (const attacker of attackers) {
        for (const q of options.queries) {
          const rand = seededRandom(seed * 7919 + q);
          if (q === 0 && attacker !== 'pretrained') {
            // No answers: nothing ties any substitute's output units to classes, so the best the
            // attacker can do is guess. The chance baseline, as a seeded uniform guess.
            const labels = Int32Array.from({ length: testRows }, () => Math.floor(rand() * Math.max(2, classes)));
            results.push({ attacker, queries: 0, seed, substitute: 'uniform guess (no answers)', epochs: 0, bestEpoch: 0, trainSeconds: 0, labels });
            continue;
          }
          let model: Trainable | undefined;
          try {
            if (attacker === 'architecture') {
              if (!options.architecture) throw new UnsupportedOpError('no architecture given');
              model = architectureSubstitute(options.architecture.onnx, rand);
            } else if (attacker === 'pretrained') {
              if (!options.pretrained) throw new UnsupportedOpError('no public pretrained model given');
              if (surface.header.inputs.length !== 1) throw new UnsupportedOpError('a pretrained start needs one cut tensor');
              model = await pretrainedSubstitute(options.pretrained, surface.header.inputs[0]!, classes);
            } else {
              model = genericSubstitute(surface.header.inputs, classes, stats, rand);
            }
            const scales = Object.fromEntries(Object.entries(cut).map(([k, t]) => [k, model!.scaleInputs && !stats.integer[k] ? rms(t, q) : 1]));
            const cap = epochsFor(q, passes, options.minEpochs ?? 1);
            const t0 = performance.now();
            const fit = q === 0
              ? { loss: NaN, epochs: 0, bestEpoch: 0, validationLoss: NaN, stoppedEarly: false }
              : await fitSubstitute(model, rows, attacker === 'own-data' ? own : targets, {
                count: q, epochs: cap, seed: seed + q, scales, validation: options.earlyStopping === false ? 0 : validationRows(q), patience: options.patience,
              });
            const trainSeconds = (performance.now() - t0) / 1000;
            const labels = new Int32Array(testRows);
            for (let s = 0; s < testRows; s += 256) {
              const e = Math.min(testRows, s + 256);
              labels.set(predictLabels(model, sliceFeeds(testCut, s, e), e - s, scales), s);
            }
            const p: StolenPrediction = { attacker, queries: q, seed, substitute: model.description, epochs: fit.epochs, bestEpoch: fit.bestEpoch, trainSeconds, labels };
            if (options.onSubstitute && model.toOnnx) await options.onSubstitute(p, await model.toOnnx(scales));
            results.push(p);
            log(`${attacker} Q=${q} seed ${seed}: ${model.description}, ${fit.epochs}/${cap} epoch(s)${fit.stoppedEarly ? ` (stopped early, best ${fit.bestEpoch})` : ''}, loss ${fit.loss.toFixed(4)}, ${trainSeconds.toFixed(1)} s`);
          } catch (e) {
            // An architecture the interpreter cannot express: reported as skipped, never guessed.
            if (!(e instanceof UnsupportedOpError)) throw e;
            results.push({ attacker, queries: q, seed, substitute: '-', epochs: 0, bestEpoch: 0, trainSeconds: 0, labels: new Int32Array(0), skipped: e.message });
            log(`${attacker} Q=${q}: skipped (${e.message})`);
          } finally {
            model?.dispose();
          }
        }
      }
    }
    return results;
  } finally {
    await head.close();
  }
}
