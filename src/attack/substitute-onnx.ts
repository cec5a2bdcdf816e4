/**
 * Substitutes as ONNX (`attack --save-substitutes`, docs/attack.md §6): each trained substitute
 * tail is written as an ONNX model that takes the cut tensors (as the bundle's header names
 * them) and returns class probabilities, so that head + substitute runs in onnxruntime without
 * TF.js — the stolen copy as an attacker would ship it. The input scaling the attacker trained
 * with is a `Div` at the front; the output ends in Softmax (or Sigmoid for one unit).
 * @module
 */
import type * as tf from '@tensorflow/tfjs';
import type { ModelProto, NodeProto, TensorProto } from 'onnx-buf';
import { attr, makeModel, node, tensor } from '../onnx/build.ts';
import { decodeModel } from '../onnx/codec.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';

/** The output name of every saved substitute. */
export const SUBSTITUTE_OUTPUT = 'probs';

const values = (v: tf.Variable) => Float32Array.from(v.dataSync() as Float32Array);

/** Transposes a row-major array of `dims` by `perm`. */
function transpose(data: Float32Array, dims: number[], perm: number[]): Float32Array {
  const out = new Float32Array(data.length);
  const outDims = perm.map((p) => dims[p]!);
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const idx = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < perm.length; i++) src += idx[i]! * strides[perm[i]!]!;
    out[o] = data[src]!;
    for (let i = idx.length - 1; i >= 0; i--) { if (++idx[i]! < outDims[i]!) break; idx[i] = 0; }
  }
  return out;
}

/** A graph builder: nodes, initializers, fresh names. */
class Builder {
  readonly nodes: NodeProto[] = [];
  readonly inits: TensorProto[] = [];
  #n = 0;
  name(base: string): string { return `${base}_${this.#n++}`; }
  init(base: string, dims: number[], data: Float32Array | BigInt64Array): string {
    const n = this.name(base);
    this.inits.push(tensor(n, data instanceof BigInt64Array ? 'int64' : 'float32', dims, data));
    return n;
  }
  op(type: string, inputs: string[], attrs: Record<string, ReturnType<typeof attr.int>> = {}): string {
    const out = this.name(type.toLowerCase());
    this.nodes.push(node(type, inputs, [out], attrs));
    return out;
  }
  /** Input `name` divided by its training scale (skipped at 1). */
  scaled(name: string, scale: number): string {
    return scale === 1 ? name : this.op('Div', [name, this.init('scale', [], Float32Array.of(scale))]);
  }
  /** Dense: x [N, in] · w [in, out] + b. */
  dense(x: string, w: tf.Variable, b: tf.Variable): string {
    return this.op('Gemm', [x, this.init('w', w.shape, values(w)), this.init('b', b.shape, values(b))]);
  }
  model(inputs: TensorSpec[], logits: string, classes: number, description: string): ModelProto {
    this.nodes.push(node(classes === 1 ? 'Sigmoid' : 'Softmax', [logits], [SUBSTITUTE_OUTPUT], classes === 1 ? {} : { axis: attr.int(-1) }));
    return makeModel({
      name: 'substitute', inputs: inputs.map((s) => ({ name: s.name, dtype: s.dtype, shape: ['N', ...s.shape.slice(1)] })),
      outputs: [{ name: SUBSTITUTE_OUTPUT, dtype: 'float32', shape: ['N', classes] }],
      nodes: this.nodes, initializers: this.inits, producerName: 'enclave-nn attack', metadata: { substitute: description },
    });
  }
}

/** The generic conv substitute: [NHWC→NCHW] → conv 3×3 → relu → pool 2 → conv 3×3 → relu → pool 2 → NHWC flatten → dense. */
export function convSubstituteOnnx(spec: TensorSpec, channelsLast: boolean, v: tf.Variable[], scale: number, description: string): ModelProto {
  const [k1, b1, k2, b2, wd, bd] = v as [tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable];
  const g = new Builder();
  let x = g.scaled(spec.name, scale);
  if (channelsLast) x = g.op('Transpose', [x], { perm: attr.ints([0, 3, 1, 2]) });
  const conv = (input: string, k: tf.Variable, b: tf.Variable) => {
    // TF.js kernels are [h, w, in, out]; ONNX Conv wants [out, in, h, w]. 'same' 3×3 stride 1 = pads 1.
    const w = g.init('k', [k.shape[3]!, k.shape[2]!, k.shape[0]!, k.shape[1]!], transpose(values(k), k.shape, [3, 2, 0, 1]));
    const c = g.op('Conv', [input, w, g.init('b', b.shape, values(b))], { pads: attr.ints([1, 1, 1, 1]), kernel_shape: attr.ints([3, 3]) });
    // TF 'same' max pool 2/2 = ceil(h/2) outputs with the pad never winning: ceil_mode.
    return g.op('MaxPool', [g.op('Relu', [c])], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1) });
  };
  const y = conv(conv(x, k1, b1), k2, b2);
  // The dense layer was trained on the NHWC flattening.
  const flat = g.op('Reshape', [g.op('Transpose', [y], { perm: attr.ints([0, 2, 3, 1]) }), g.init('shape', [2], BigInt64Array.of(-1n, BigInt(wd.shape[0]!)))]);
  return g.model([spec], g.dense(flat, wd, bd), bd.shape[0]!, description);
}

/** The generic conv1d substitute: [N, T, C] → conv1d 3 → relu → max over T → dense. */
export function conv1dSubstituteOnnx(spec: TensorSpec, v: tf.Variable[], scale: number, description: string): ModelProto {
  const [k1, b1, wd, bd] = v as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
  const g = new Builder();
  const x = g.op('Transpose', [g.scaled(spec.name, scale)], { perm: attr.ints([0, 2, 1]) });
  // TF.js kernel [1, 3, C, 64] → ONNX [64, C, 3].
  const w = g.init('k', [k1.shape[3]!, k1.shape[2]!, k1.shape[1]!], transpose(values(k1), k1.shape, [3, 2, 0, 1]));
  const c = g.op('Relu', [g.op('Conv', [x, w, g.init('b', b1.shape, values(b1))], { pads: attr.ints([1, 1]), kernel_shape: attr.ints([3]) })]);
  const m = g.op('ReduceMax', [c], { axes: attr.ints([2]), keepdims: attr.int(0) });
  return g.model([spec], g.dense(m, wd, bd), bd.shape[0]!, description);
}

/** The generic embedding substitute: ids → embedding → mean over positions → dense. */
export function embeddingSubstituteOnnx(spec: TensorSpec, v: tf.Variable[], description: string): ModelProto {
  const [emb, wd, bd] = v as [tf.Variable, tf.Variable, tf.Variable];
  const g = new Builder();
  const ids = g.op('Cast', [spec.name], { to: attr.int(7) });
  const e = g.op('Gather', [g.init('emb', emb.shape, values(emb)), ids], { axis: attr.int(0) });
  const m = g.op('ReduceMean', [e], { axes: attr.ints([1]), keepdims: attr.int(0) });
  return g.model([spec], g.dense(m, wd, bd), bd.shape[0]!, description);
}

/** The generic MLP substitute: every cut flattened (and scaled), concatenated → dense → relu → dense. */
export function mlpSubstituteOnnx(specs: TensorSpec[], widths: number[], v: tf.Variable[], scales: Record<string, number>, description: string): ModelProto {
  const [w1, b1, w2, b2] = v as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
  const g = new Builder();
  const parts = specs.map((s, i) => g.op('Reshape', [g.scaled(s.dtype === 'float32' ? s.name : g.op('Cast', [s.name], { to: attr.int(1) }), scales[s.name] ?? 1),
    g.init('shape', [2], BigInt64Array.of(-1n, BigInt(widths[i]!)))]));
  const x = parts.length === 1 ? parts[0]! : g.op('Concat', parts, { axis: attr.int(1) });
  return g.model(specs, g.dense(g.op('Relu', [g.dense(x, w1, b1)]), w2, b2), b2.shape[0]!, description);
}

/**
 * The architecture substitute: the evaluator's skeleton with the trained weights written back
 * into its initializers (by name), and a `Div` before each input that was scaled in training.
 */
export function architectureSubstituteOnnx(skeleton: Uint8Array, variables: tf.Variable[], scales: Record<string, number>): ModelProto {
  const model = decodeModel(skeleton, 'architecture');
  const g = model.graph!;
  const trained = new Map(variables.map((v) => [v.name, v]));
  g.initializer = g.initializer.map((t) => {
    const v = trained.get(t.name);
    return v ? tensor(t.name, 'float32', t.dims.map(Number), values(v)) : t;
  });
  const pre: NodeProto[] = [];
  for (const input of g.input) {
    const s = scales[input.name] ?? 1;
    if (s === 1) continue;
    const scaled = `${input.name}__scaled`;
    const sName = `${input.name}__scale`;
    g.initializer.push(tensor(sName, 'float32', [], Float32Array.of(s)));
    for (const n of g.node) n.input = n.input.map((i) => (i === input.name ? scaled : i));
    pre.push(node('Div', [input.name, sName], [scaled]));
  }
  g.node = [...pre, ...g.node];
  return model;
}
