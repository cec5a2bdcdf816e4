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
import { epochsFor, labelsOf, predictLabels, rms, trainSubstitute, type Rows } from './train.ts';
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

/** Sends every row of `cut` to the enclave, `batch` rows a call; returns its first output. */
async function queryAll(surface: AttackSurface, cut: Record<string, TensorData>, batch: number): Promise<TensorData> {
  const n = rowCount(cut);
  const out = surface.header.outputs[0]!.name;
  const parts: TensorData[] = [];
  for (let s = 0; s < n; s += batch) {
    const r = await surface.query(sliceFeeds(cut, s, Math.min(n, s + batch)));
    const v = r[out] ?? Object.values(r)[0];
    if (!v) throw new EnclaveNnError('ATTACK_QUERY', 'Cannot query the enclave: it returned no output', { exitCode: 1 });
    parts.push(copy(v));
  }
  return concatRows(parts);
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
  const isProb = (i: number) => { let s = 0; for (let j = 0; j < c; j++) { const v = x[i * c + j]!; if (v < 0 || v > 1) return false; s += v; } return c === 1 || Math.abs(s - 1) < 1e-3; };
  const labels = labelsOf({ dims: [n, c], data: x }, 'probability');
  for (let i = 0; i < n; i++) {
    if (mode === 'label') {
      if (c === 1) out[i] = isProb(i) ? (x[i]! >= 0.5 ? 1 : 0) : (x[i]! >= 0 ? 1 : 0);
      else out[i * c + labels[i]!] = 1;
      continue;
    }
    if (isProb(i)) { out.set(x.subarray(i * c, (i + 1) * c), i * c); continue; }
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
 * Steals the tail behind `surface` once per attacker and query budget, and predicts the labels
 * of `options.predictOn` with head + substitute. Deterministic for a seed (TF.js WASM backend).
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
  const seed = options.seed ?? 1;
  const passes = options.trainPasses ?? 10000;
  const attackers: AttackerKind[] = options.attackers ?? ['generic'];
  const log = options.progress ?? (() => {});
  const qMax = Math.max(0, ...options.queries);
  const dataRows = rowCount(options.data);
  if (qMax > dataRows) throw new EnclaveNnError('ATTACK_DATA', `Cannot attack with ${qMax} queries: --data has only ${dataRows} rows`);
  for (const s of surface.header.headInputs) {
    if (!options.data[s.name]) throw new EnclaveNnError('ATTACK_DATA', `Cannot attack: the attacker's data lacks the model input '${s.name}'`);
  }
  const batch = chunkFor(surface.header, options.queryBatch ?? 256);
  const head = await PublicHead.create(surface.head, surface.header);
  try {
    // Budgets are nested: a substitute with budget Q uses the first Q rows, so one pass of
    // queries serves every Q (each answer is what a fresh attacker with that budget would get).
    const cut = qMax > 0 ? await head.cut(sliceFeeds(options.data, 0, qMax), batch) : {};
    const answers = qMax > 0 ? await queryAll(surface, cut, batch) : undefined;
    const outSpec = surface.header.outputs[0]!;
    const lastDim = outSpec.shape[outSpec.shape.length - 1];
    const classes = answers ? answers.data.length / answers.dims[0]! : typeof lastDim === 'number' ? lastDim : 2;
    const targets = answers ? targetsFrom(answers, mode) : { dtype: 'float32' as const, dims: [0, classes], data: new Float32Array(0) };
    const stats = cutStats(cut);
    log(`queried the enclave ${qMax} times; ${classes} output unit(s); training ${attackers.length * options.queries.length} substitute(s)`);
    const testCut = await head.cut(options.predictOn, batch);
    const testRows = rowCount(options.predictOn);
    const results: StolenPrediction[] = [];
    const rows: Rows = { tensors: cut, count: qMax };
    for (const attacker of attackers) {
      for (const q of options.queries) {
        const rand = seededRandom(seed * 7919 + q);
        if (q === 0) {
          // No answers: nothing ties any substitute's output units to classes, so the best the
          // attacker can do is guess. The chance baseline, as a seeded uniform guess.
          const labels = Int32Array.from({ length: testRows }, () => Math.floor(rand() * Math.max(2, classes)));
          results.push({ attacker, queries: 0, substitute: 'uniform guess (no answers)', epochs: 0, trainSeconds: 0, labels });
          continue;
        }
        let model: Trainable | undefined;
        try {
          if (attacker === 'architecture') {
            if (!options.architecture) throw new UnsupportedOpError('no architecture given');
            model = architectureSubstitute(options.architecture.onnx, rand);
          } else {
            model = genericSubstitute(surface.header.inputs, classes, stats, rand);
          }
          const scales = Object.fromEntries(Object.entries(cut).map(([k, t]) => [k, model!.scaleInputs && !stats.integer[k] ? rms(t, q) : 1]));
          const epochs = epochsFor(q, passes);
          const t0 = performance.now();
          const loss = await trainSubstitute(model, rows, targets, { count: q, epochs, seed: seed + q, scales });
          const trainSeconds = (performance.now() - t0) / 1000;
          const labels = new Int32Array(testRows);
          for (let s = 0; s < testRows; s += 256) {
            const e = Math.min(testRows, s + 256);
            labels.set(predictLabels(model, sliceFeeds(testCut, s, e), e - s, scales), s);
          }
          results.push({ attacker, queries: q, substitute: model.description, epochs, trainSeconds, labels });
          log(`${attacker} Q=${q}: ${model.description}, ${epochs} epoch(s), loss ${loss.toFixed(4)}, ${trainSeconds.toFixed(1)} s`);
        } catch (e) {
          // An architecture the interpreter cannot express: reported as skipped, never guessed.
          if (!(e instanceof UnsupportedOpError)) throw e;
          results.push({ attacker, queries: q, substitute: '-', epochs: 0, trainSeconds: 0, labels: new Int32Array(0), skipped: e.message });
          log(`${attacker} Q=${q}: skipped (${e.message})`);
        } finally {
          model?.dispose();
        }
      }
    }
    return results;
  } finally {
    await head.close();
  }
}
