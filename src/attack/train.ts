/**
 * Training and prediction for substitutes: seeded minibatch Adam over rows kept in plain JS
 * arrays (only one batch at a time lives in the WASM heap, so a 5,000-row conv cut fits), a
 * fixed data order from a seeded permutation, a fixed epoch count scaled to the budget.
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorData } from '../onnx/ort.ts';
import { seededRandom } from '../util/seeded-prng.ts';
import type { Trainable } from './substitute.ts';

/** Rows of several tensors that share their first axis. */
export interface Rows {
  /** By cut tensor name; first axis = rows. */
  tensors: Record<string, TensorData>;
  count: number;
}

/** Copies rows `idx` of `t` into a TF.js tensor (float32, or int32 for integer data). */
export function gatherRows(t: TensorData, idx: ArrayLike<number>, scale = 1): tf.Tensor {
  const width = t.dims.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(idx.length * width);
  const src = t.data;
  for (let r = 0; r < idx.length; r++) {
    const o = idx[r]! * width;
    if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
      for (let j = 0; j < width; j++) out[r * width + j] = Number(src[o + j]!);
    } else if (scale === 1) out.set((src as Float32Array).subarray(o, o + width), r * width);
    else for (let j = 0; j < width; j++) out[r * width + j] = (src as Float32Array)[o + j]! / scale;
  }
  return tf.tensor(out, [idx.length, ...t.dims.slice(1)], 'float32');
}

/** Root mean square of a float tensor's values (1 when empty or zero). */
export function rms(t: TensorData, rows: number): number {
  const width = t.dims.slice(1).reduce((a, b) => a * b, 1);
  const n = Math.min(rows * width, t.data.length);
  if (n === 0 || t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) return 1;
  let s = 0;
  for (let i = 0; i < n; i++) { const v = Number(t.data[i]); s += v * v; }
  const r = Math.sqrt(s / n);
  return r > 0 && Number.isFinite(r) ? r : 1;
}

/** Seeded Fisher–Yates permutation of 0 … n−1. */
export function permutation(n: number, rand: () => number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i]!; p[i] = p[j]!; p[j] = t;
  }
  return p;
}

/**
 * The epoch cap for a budget: clamp(ceil(passes / Q), minEpochs, 100); 0 without data. Small
 * budgets get many epochs, large ones at least `minEpochs` (early stopping ends them sooner).
 */
export function epochsFor(queries: number, passes: number, minEpochs = 1): number {
  if (queries === 0) return 0;
  return Math.min(100, Math.max(minEpochs, 1, Math.ceil(passes / queries)));
}

/** Rows held out for early stopping: 10 % of the budget, at least 2 when Q ≥ 20, none below. */
export function validationRows(queries: number): number {
  return queries < 20 ? 0 : Math.max(2, Math.round(queries / 10));
}

/** Options of {@link trainSubstitute}. */
export interface TrainOptions {
  /** Rows used: the first `count` of `inputs` and `targets`. */
  count: number;
  epochs: number;
  seed: number;
  /** @defaultValue 32 */
  batchSize?: number;
  /** @defaultValue 3e-3 */
  learningRate?: number;
  /** Per-tensor divisor applied to the inputs (the substitute's input scaling). */
  scales: Record<string, number>;
  /**
   * Early stopping: this many of the `count` rows (chosen by a seeded shuffle) are held out and
   * never trained on; training stops after `patience` epochs without a lower loss on them and
   * the weights of the best epoch are restored. 0 = no hold-out, all `epochs` run. @defaultValue 0
   */
  validation?: number;
  /** @defaultValue 4 */
  patience?: number;
}

/** What {@link fitSubstitute} did. */
export interface FitResult {
  /** The last trained epoch's mean training loss. */
  loss: number;
  /** Epochs trained (≤ the cap). */
  epochs: number;
  /** The epoch whose weights were kept (1-based; = epochs without a hold-out). */
  bestEpoch: number;
  /** The kept epoch's loss on the held-out rows (NaN without a hold-out). */
  validationLoss: number;
  /** Whether early stopping ended the training before the cap. */
  stoppedEarly: boolean;
}

/**
 * The loss of `out` (the substitute's output) against `target` rows: cross-entropy over classes,
 * or binary cross-entropy for a single sigmoid unit. Targets are one-hot labels or the victim's
 * probabilities (mode 'prob').
 */
export function substituteLoss(model: Trainable, out: tf.Tensor, target: tf.Tensor): tf.Scalar {
  const single = out.shape[out.rank - 1] === 1;
  if (model.outputKind === 'logits') {
    return single ? tf.losses.sigmoidCrossEntropy(target, out) : tf.losses.softmaxCrossEntropy(target, out);
  }
  const p = tf.clipByValue(out, 1e-7, 1 - 1e-7);
  if (single || model.outputKind === 'sigmoid') {
    return tf.neg(tf.mean(tf.add(tf.mul(target, tf.log(p)), tf.mul(tf.sub(1, target), tf.log(tf.sub(1, p)))))) as tf.Scalar;
  }
  return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.log(p)), -1))) as tf.Scalar;
}

/** Trains `model` in place on the first `count` rows; returns the final epoch's mean loss. */
export async function trainSubstitute(model: Trainable, inputs: Rows, targets: TensorData, o: TrainOptions): Promise<number> {
  return (await fitSubstitute(model, inputs, targets, o)).loss;
}

const feedsOf = (inputs: Rows, idx: ArrayLike<number>, scales: Record<string, number>) =>
  Object.fromEntries(Object.entries(inputs.tensors).map(([k, t]) => [k, gatherRows(t, idx, scales[k] ?? 1)]));

/** Mean loss of `model` on rows `idx` (no gradient), 256 rows at a time. */
function heldOutLoss(model: Trainable, inputs: Rows, targets: TensorData, idx: Int32Array, scales: Record<string, number>): number {
  let sum = 0;
  for (let s = 0; s < idx.length; s += 256) {
    const part = idx.subarray(s, Math.min(idx.length, s + 256));
    sum += tf.tidy(() => substituteLoss(model, model.forward(feedsOf(inputs, part, scales)), gatherRows(targets, part)).dataSync()[0]!) * part.length;
  }
  return sum / Math.max(1, idx.length);
}

/**
 * Trains `model` in place: seeded minibatch Adam over the first `count` rows for at most
 * `epochs` epochs, with early stopping on `validation` held-out rows (best weights restored).
 */
export async function fitSubstitute(model: Trainable, inputs: Rows, targets: TensorData, o: TrainOptions): Promise<FitResult> {
  const rand = seededRandom(o.seed);
  const hold = Math.min(Math.max(0, o.validation ?? 0), Math.max(0, o.count - 1));
  // The hold-out is a seeded random subset of the attacker's own answered rows: it costs queries, never test labels.
  const split = permutation(o.count, rand);
  const heldOut = split.slice(o.count - hold);
  const train = split.slice(0, o.count - hold);
  const n = train.length;
  const bs = Math.max(1, Math.min(o.batchSize ?? 32, n));
  const patience = o.patience ?? 4;
  const opt = tf.train.adam(o.learningRate ?? 3e-3);
  let last = NaN, best = Infinity, bestEpoch = 0, epochs = 0;
  let kept: tf.Tensor[] | undefined;
  try {
    for (let e = 0; e < o.epochs; e++) {
      const perm = permutation(n, rand);
      let sum = 0, batches = 0;
      for (let s = 0; s < n; s += bs) {
        const idx = perm.subarray(s, Math.min(n, s + bs)).map((i) => train[i]!);
        const feeds = feedsOf(inputs, idx, o.scales);
        const y = gatherRows(targets, idx);
        const cost = opt.minimize(() => substituteLoss(model, model.forward(feeds), y), true, model.variables);
        sum += cost ? (await cost.data())[0]! : 0;
        batches++;
        cost?.dispose();
        tf.dispose([...Object.values(feeds), y]);
      }
      last = sum / Math.max(1, batches);
      epochs = e + 1;
      if (hold === 0) { bestEpoch = epochs; continue; }
      const v = heldOutLoss(model, inputs, targets, heldOut, o.scales);
      if (v < best) {
        best = v; bestEpoch = epochs;
        tf.dispose(kept ?? []);
        kept = model.variables.map((x) => tf.clone(x));
      } else if (epochs - bestEpoch >= patience) break;
    }
    if (kept && bestEpoch < epochs) model.variables.forEach((x, i) => x.assign(kept![i]!));
  } finally {
    tf.dispose(kept ?? []);
    opt.dispose();
  }
  return { loss: last, epochs, bestEpoch, validationLoss: hold ? best : NaN, stoppedEarly: epochs < o.epochs };
}

/** Class per row of an output tensor [N, C] (C = 1: a sigmoid or logit, thresholded). */
export function labelsOf(t: { dims: number[]; data: ArrayLike<number> }, kind: 'probability' | 'logit' = 'probability'): Int32Array {
  const n = t.dims[0]!;
  const c = t.data.length / Math.max(1, n);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (c === 1) { out[i] = t.data[i]! >= (kind === 'logit' ? 0 : 0.5) ? 1 : 0; continue; }
    let best = 0;
    for (let j = 1; j < c; j++) if (t.data[i * c + j]! > t.data[i * c + best]!) best = j;
    out[i] = best;
  }
  return out;
}

/** The substitute's labels for the given rows (inputs already cut tensors). */
export function predictLabels(model: Trainable, inputs: Record<string, TensorData>, rows: number, scales: Record<string, number>): Int32Array {
  const idx = Int32Array.from({ length: rows }, (_, i) => i);
  const out = tf.tidy(() => model.forward(Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, gatherRows(t, idx, scales[k] ?? 1)]))));
  const data = out.dataSync() as Float32Array;
  const dims = out.shape;
  out.dispose();
  return labelsOf({ dims, data: data }, model.outputKind === 'logits' ? 'logit' : 'probability');
}
