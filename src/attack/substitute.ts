/**
 * The substitutes an attacker trains in place of the hidden tail (docs/attack.md §3): a
 * generic one chosen from the cut's shape alone, or the true architecture (revealed by the
 * evaluator) with fresh weights. Both are {@link Trainable}: variables plus a forward function.
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelProto } from 'onnx-buf';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import { architectureSubstituteOnnx, conv1dSubstituteOnnx, convSubstituteOnnx, embeddingSubstituteOnnx, mlpSubstituteOnnx } from './substitute-onnx.ts';
import { TfGraph } from './tf-graph.ts';

/** What the training loop needs of a substitute. */
export interface Trainable {
  /** The learned tensors. */
  readonly variables: tf.Variable[];
  /** Cut tensors (by name, batch first) → output [N, C]. Call inside `tf.tidy`. */
  forward(feeds: Record<string, tf.Tensor>): tf.Tensor;
  /** What the output is: class probabilities, a sigmoid, or logits. */
  readonly outputKind: 'softmax' | 'sigmoid' | 'logits';
  /** Whether inputs are divided by their RMS over the training data first. */
  readonly scaleInputs: boolean;
  /** One line for the report, e.g. 'conv 16-32 + dense'. */
  readonly description: string;
  /** The trained substitute as ONNX: cut tensors in (divided by `scales`), probabilities out (src/attack/substitute-onnx.ts). */
  toOnnx?(scales: Record<string, number>): Promise<ModelProto> | ModelProto;
  dispose(): void;
}

/** Statistics of the attacker's cut data that the generic choice may use. */
export interface CutStats {
  /** Per cut tensor: all values are non-negative integers (token or category ids). */
  integer: Record<string, boolean>;
  /** Per cut tensor: the largest value (for an embedding's size). */
  max: Record<string, number>;
}

function glorot(shape: number[], fanIn: number, fanOut: number, rand: () => number): tf.Variable {
  return uniformVar(shape, Math.sqrt(6 / (fanIn + fanOut)), rand);
}
function uniformVar(shape: number[], lim: number, rand: () => number): tf.Variable {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (rand() * 2 - 1) * lim;
  return tf.variable(tf.tensor(v, shape), true);
}
const zeros = (shape: number[]) => tf.variable(tf.zeros(shape), true);

/** Whether a rank-4 cut [N, a, b, c] is channels-last: square spatial axes decide, else the smaller end is the channels. */
export function channelsLast(shape: readonly (number | string)[]): boolean {
  const [, a, b, c] = shape.map((d) => (typeof d === 'number' ? d : -1));
  if (a === b) return true;
  if (b === c) return false;
  return c! <= a!;
}

const dimsOf = (s: TensorSpec) => s.shape.slice(1).map((d) => (typeof d === 'number' ? d : 1));
const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

/**
 * The generic substitute for a cut (docs/attack.md §3.1), from its shape and the data seen:
 * - one rank-4 float cut: conv 3×3 16 → relu → max pool 2 → conv 3×3 32 → relu → max pool 2 → flatten → dense;
 * - one rank-3 float cut [N, T, C]: conv1d 3 64 → relu → global max over T → dense;
 * - one rank-2 cut of non-negative integers (token ids): embedding 32 → mean → dense;
 * - otherwise every cut flattened and concatenated: dense 128 → relu → dense.
 * The output has `classes` units (1 = a sigmoid), as logits.
 */
export function genericSubstitute(cut: TensorSpec[], classes: number, stats: CutStats, rand: () => number): Trainable {
  const vars: tf.Variable[] = [];
  const add = (v: tf.Variable) => { vars.push(v); return v; };
  const out = classes;
  const base = { outputKind: 'logits' as const, get variables() { return vars; }, dispose: () => vars.forEach((v) => v.dispose()) };
  const only = cut.length === 1 ? cut[0]! : undefined;
  if (only && only.dtype === 'float32' && only.shape.length === 4) {
    const last = channelsLast(only.shape);
    const d = dimsOf(only);
    const [h, w, c] = last ? [d[0]!, d[1]!, d[2]!] : [d[1]!, d[2]!, d[0]!];
    const k1 = add(glorot([3, 3, c, 16], 9 * c, 9 * 16, rand)), b1 = add(zeros([16]));
    const k2 = add(glorot([3, 3, 16, 32], 9 * 16, 9 * 32, rand)), b2 = add(zeros([32]));
    const flat = Math.ceil(Math.ceil(h / 2) / 2) * Math.ceil(Math.ceil(w / 2) / 2) * 32;
    const wd = add(glorot([flat, out], flat, out, rand)), bd = add(zeros([out]));
    return {
      ...base, scaleInputs: true, description: `conv 3x3 16 + pool + conv 3x3 32 + pool + dense (${last ? 'NHWC' : 'NCHW'})`,
      toOnnx(scales) { return convSubstituteOnnx(only, last, vars, scales[only.name] ?? 1, this.description); },
      forward(feeds) {
        let x = feeds[only.name]! as tf.Tensor4D;
        if (!last) x = tf.transpose(x, [0, 2, 3, 1]);
        // Stride-1 convolutions and max pools rather than strided convolutions: the WASM
        // backend's input gradient of a strided Conv2D is a naive loop (2.4× slower per step here).
        const y1 = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, k1 as tf.Tensor4D, 1, 'same'), b1)) as tf.Tensor4D, 2, 2, 'same');
        const y2 = tf.maxPool(tf.relu(tf.add(tf.conv2d(y1, k2 as tf.Tensor4D, 1, 'same'), b2)) as tf.Tensor4D, 2, 2, 'same');
        return tf.add(tf.matMul(tf.reshape(y2, [-1, flat]) as tf.Tensor2D, wd as tf.Tensor2D), bd);
      },
    };
  }
  if (only && only.dtype === 'float32' && only.shape.length === 3) {
    const [, c] = dimsOf(only) as [number, number];
    const k1 = add(glorot([1, 3, c, 64], 3 * c, 3 * 64, rand)), b1 = add(zeros([64]));
    const wd = add(glorot([64, out], 64, out, rand)), bd = add(zeros([out]));
    return {
      ...base, scaleInputs: true, description: 'conv1d 3 64 + global max + dense',
      toOnnx(scales) { return conv1dSubstituteOnnx(only, vars, scales[only.name] ?? 1, this.description); },
      forward(feeds) {
        const x = tf.expandDims(feeds[only.name]!, 1) as tf.Tensor4D; // [N, 1, T, C]
        const y = tf.relu(tf.add(tf.conv2d(x, k1 as tf.Tensor4D, 1, 'same'), b1));
        return tf.add(tf.matMul(tf.max(y, [1, 2]) as tf.Tensor2D, wd as tf.Tensor2D), bd);
      },
    };
  }
  if (only && only.shape.length === 2 && stats.integer[only.name] && stats.max[only.name]! >= 2) {
    const vocab = Math.ceil(stats.max[only.name]!) + 1;
    const emb = add(uniformVar([vocab, 32], 0.05, rand)); // ±0.05, as Keras embeddings
    const wd = add(glorot([32, out], 32, out, rand)), bd = add(zeros([out]));
    return {
      ...base, scaleInputs: false, description: `embedding ${vocab}x32 + mean + dense`,
      toOnnx() { return embeddingSubstituteOnnx(only, vars, this.description); },
      forward(feeds) {
        const ids = tf.cast(feeds[only.name]!, 'int32');
        const e = tf.mean(tf.gather(emb, ids), 1) as tf.Tensor2D;
        return tf.add(tf.matMul(e, wd as tf.Tensor2D), bd);
      },
    };
  }
  const widths = cut.map((s) => prod(dimsOf(s)));
  const inDim = widths.reduce((a, b) => a + b, 0);
  const w1 = add(glorot([inDim, 128], inDim, 128, rand)), b1 = add(zeros([128]));
  const w2 = add(glorot([128, out], 128, out, rand)), b2 = add(zeros([out]));
  return {
    ...base, scaleInputs: true, description: `mlp ${inDim}-128-${out}`,
    toOnnx(scales) { return mlpSubstituteOnnx(cut, widths, vars, scales, this.description); },
    forward(feeds) {
      const parts = cut.map((s, i) => tf.reshape(tf.cast(feeds[s.name]!, 'float32'), [-1, widths[i]!]));
      const x = (parts.length === 1 ? parts[0]! : tf.concat(parts, 1)) as tf.Tensor2D;
      const h = tf.relu(tf.add(tf.matMul(x, w1 as tf.Tensor2D), b1)) as tf.Tensor2D;
      return tf.add(tf.matMul(h, w2 as tf.Tensor2D), b2);
    },
  };
}

/**
 * The worst-case substitute: the tail's true architecture (from the evaluator's skeleton) with
 * fresh seeded weights. Throws UnsupportedOpError for an op the interpreter lacks.
 */
export function architectureSubstitute(onnx: Uint8Array, rand: () => number): Trainable {
  const g = TfGraph.fromOnnx(onnx, rand);
  // Trained on the logits before a final Softmax/Sigmoid: the same function, a stable loss.
  const logits = g.logitsName;
  return {
    variables: g.variables,
    forward: (feeds) => g.forward(feeds, logits),
    outputKind: 'logits',
    // Dividing the inputs by one positive scalar loses nothing: the first learned layer absorbs it.
    scaleInputs: true,
    description: `tail architecture (${g.parameterCount} parameters, retrained)`,
    toOnnx: (scales) => architectureSubstituteOnnx(onnx, g.variables, scales),
    dispose: () => g.dispose(),
  };
}
