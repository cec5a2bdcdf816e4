/**
 * An ONNX graph as a trainable TF.js function: the worst-case attacker's substitute
 * (docs/attack.md §3). Every learned tensor of the skeleton (a float initializer with more than
 * one element) becomes a fresh, seeded `tf.Variable`; constants (shapes, indices, scalars) keep
 * their values. `forward` interprets the nodes in order with TF.js ops, so autodiff trains the
 * true architecture from scratch.
 *
 * Supported ops: the ones this project's importer and typical classifiers emit (Gemm, MatMul,
 * Conv 1-D/2-D incl. depthwise, pools, activations, Softmax, shape ops, Gather, Cast, reductions).
 * Anything else raises {@link UnsupportedOpError}; the evaluator then reports that attacker as
 * skipped for the split rather than guessing.
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import type { AttributeProto, NodeProto, TensorProto } from 'onnx-buf';
import { decodeModel } from '../onnx/codec.ts';
import { tensorFromProto } from '../onnx/tensor-proto.ts';
import type { TensorData } from '../onnx/ort.ts';

/** Raised for an ONNX op the interpreter does not implement (the attacker is then reported as skipped). */
export class UnsupportedOpError extends Error {
  constructor(readonly op: string) {
    super(`op ${op} is not supported by the TF.js interpreter`);
  }
}

type Attrs = Map<string, AttributeProto>;
const attrInt = (a: Attrs, n: string, d: number) => (a.has(n) ? Number(a.get(n)!.i) : d);
const attrFloat = (a: Attrs, n: string, d: number) => (a.has(n) ? a.get(n)!.f : d);
const attrInts = (a: Attrs, n: string) => (a.has(n) ? a.get(n)!.ints.map(Number) : undefined);
const attrStr = (a: Attrs, n: string, d: string) => (a.has(n) ? new TextDecoder().decode(a.get(n)!.s) : d);

/** Uniform(-limit, limit) from a seeded generator. */
function uniform(count: number, limit: number, rand: () => number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (rand() * 2 - 1) * limit;
  return out;
}

/** Glorot-uniform fans of a weight from the op that uses it. */
function fans(dims: number[], usedBy: NodeProto | undefined, inputIndex: number): [number, number] {
  const op = usedBy?.opType;
  if (op === 'Conv' && dims.length >= 3) {
    const rf = dims.slice(2).reduce((a, b) => a * b, 1);
    return [dims[1]! * rf, dims[0]! * rf];
  }
  if (op === 'Gemm' && inputIndex === 1) {
    const transB = usedBy!.attribute.find((x) => x.name === 'transB');
    return transB && Number(transB.i) === 1 ? [dims[1]!, dims[0]!] : [dims[0]!, dims[1]!];
  }
  if (op === 'Gemm' && inputIndex === 0) return [dims[1]!, dims[0]!];
  return [dims.slice(0, -1).reduce((a, b) => a * b, 1), dims[dims.length - 1]!];
}

/**
 * A trainable TF.js version of an ONNX graph (its first output).
 *
 * @example
 * ```ts
 * const g = TfGraph.fromOnnx(skeleton.onnx, seededRandom(1));
 * const y = g.forward({ h2: tf.tensor2d(cut, [n, 32]) }); // what the tail computes, with fresh weights
 * g.dispose();
 * ```
 */
export class TfGraph {
  /** The learned tensors, re-initialized. */
  readonly variables: tf.Variable[] = [];
  /** The graph's (non-initializer) inputs, in order. */
  readonly inputNames: string[];
  /** The output trained and predicted: the graph's first output. */
  readonly outputName: string;
  /** Number of learned scalars. */
  readonly parameterCount: number;
  /** The op computing the output (through trailing Identity/Dropout), e.g. 'Softmax'. */
  readonly outputOp: string | undefined;
  /** When the output op is a Softmax or Sigmoid: its input, the logits (for a stable loss). */
  readonly logitsName: string | undefined;
  readonly #nodes: NodeProto[];
  readonly #tensors = new Map<string, tf.Tensor>();
  readonly #ints = new Map<string, number[]>();

  private constructor(nodes: NodeProto[], inputNames: string[], outputName: string, inits: TensorProto[], rand: () => number, keepWeights: boolean) {
    this.#nodes = nodes;
    this.inputNames = inputNames;
    this.outputName = outputName;
    let params = 0;
    for (const t of inits) {
      const v = tensorFromProto(t);
      if (v.dtype === 'string') throw new UnsupportedOpError('string initializer');
      const dims = v.dims;
      const count = dims.reduce((a, b) => a * b, 1);
      if ((v.dtype === 'float32' || v.dtype === 'float64') && count > 1) {
        // A learned tensor: its values are not read (the skeleton holds zeros anyway) unless keepWeights.
        const idx = nodes.findIndex((n) => n.input.includes(t.name));
        const user = nodes[idx];
        const inputIndex = user ? user.input.indexOf(t.name) : -1;
        let init: Float32Array;
        if (keepWeights) init = Float32Array.from(v.data as Float32Array, Number);
        else if (dims.length >= 2 && user?.opType === 'Gather') init = uniform(count, 0.05, rand); // an embedding table, as Keras
        else if (dims.length >= 2) {
          const [fi, fo] = fans(dims, user, inputIndex);
          init = uniform(count, Math.sqrt(6 / (fi + fo)), rand);
        } else init = new Float32Array(count).fill(user?.opType === 'Mul' ? 1 : 0); // scales start at 1, biases at 0
        this.variables.push(tf.variable(tf.tensor(init, dims, 'float32'), true, `${t.name}`));
        this.#tensors.set(t.name, this.variables[this.variables.length - 1]!);
        params += count;
      } else {
        this.#constant(t.name, v);
      }
    }
    this.parameterCount = params;
    let op = nodes.find((n) => n.output.includes(outputName));
    while (op && (op.opType === 'Identity' || op.opType === 'Dropout')) { const src = op.input[0]; op = nodes.find((n) => n.output.includes(src ?? '')); }
    this.outputOp = op?.opType;
    this.logitsName = op && (op.opType === 'Softmax' || op.opType === 'Sigmoid') ? op.input[0] : undefined;
  }

  #constant(name: string, v: TensorData): void {
    if (v.data instanceof BigInt64Array || v.data instanceof BigUint64Array) {
      const nums = Array.from(v.data, Number);
      this.#ints.set(name, nums);
      this.#tensors.set(name, tf.tensor(nums, v.dims, 'int32'));
    } else if (v.dtype === 'float32' || v.dtype === 'float64') {
      this.#tensors.set(name, tf.tensor(Array.from(v.data as Float32Array), v.dims, 'float32'));
    } else {
      const nums = Array.from(v.data as Int32Array, Number);
      this.#ints.set(name, nums);
      this.#tensors.set(name, tf.tensor(nums, v.dims, 'int32'));
    }
  }

  /**
   * Builds the trainable graph from ONNX bytes; `rand` draws the initial weights.
   * `keepWeights` starts from the file's weights instead (tests check the interpreter against ONNX Runtime).
   */
  static fromOnnx(onnx: Uint8Array, rand: () => number, options: { keepWeights?: boolean } = {}): TfGraph {
    const model = decodeModel(onnx, 'architecture');
    const g = model.graph!;
    const initNames = new Set(g.initializer.map((t) => t.name));
    const supported = new Set(Object.keys(OPS));
    for (const n of g.node) if (!supported.has(n.opType) || n.domain !== '') throw new UnsupportedOpError(n.domain ? `${n.domain}.${n.opType}` : n.opType);
    const tg = new TfGraph([...g.node], g.input.map((i) => i.name).filter((n) => !initNames.has(n)), g.output[0]!.name, g.initializer, rand, options.keepWeights ?? false);
    for (const n of g.node) {
      if (n.opType !== 'Constant') continue;
      const t = n.attribute.find((a) => a.name === 'value')?.t;
      if (!t) throw new UnsupportedOpError('Constant without a tensor value');
      tg.#constant(n.output[0]!, tensorFromProto(t) as TensorData);
    }
    return tg;
  }

  /** Runs the graph on `feeds` (by input name); returns the first output, or tensor `name`. Call inside `tf.tidy`. */
  forward(feeds: Record<string, tf.Tensor>, name = this.outputName): tf.Tensor {
    const values = new Map<string, tf.Tensor>(this.#tensors);
    for (const [k, v] of Object.entries(feeds)) values.set(k, v);
    const ints = new Map(this.#ints);
    for (const n of this.#nodes) {
      if (n.opType === 'Constant') continue;
      const ins = n.input.map((name) => (name === '' ? undefined : values.get(name)));
      const attrs: Attrs = new Map(n.attribute.map((a) => [a.name, a]));
      const ctx: OpContext = { ins, attrs, node: n, intsOf: (i) => { const name = n.input[i]; return name ? ints.get(name) : undefined; } };
      const out = OPS[n.opType]!(ctx);
      const outs = Array.isArray(out) ? out : [out];
      outs.forEach((t, i) => { if (n.output[i]) values.set(n.output[i]!, t); });
      // Shape arithmetic on constants stays on the JS side (Reshape's shape, Squeeze's axes …).
      if (n.opType === 'Cast' || n.opType === 'Identity') { const v = ctx.intsOf(0); if (v) ints.set(n.output[0]!, v); }
    }
    const y = values.get(name);
    if (!y) throw new UnsupportedOpError(`tensor '${name}' not computed`);
    return y;
  }

  /** Frees the variables and constants. */
  dispose(): void {
    for (const t of this.#tensors.values()) t.dispose();
    this.#tensors.clear();
  }
}

interface OpContext {
  ins: (tf.Tensor | undefined)[];
  attrs: Attrs;
  node: NodeProto;
  /** The JS values of a constant integer input. */
  intsOf(i: number): number[] | undefined;
}

const need = (c: OpContext, i: number): tf.Tensor => {
  const t = c.ins[i];
  if (!t) throw new UnsupportedOpError(`${c.node.opType} without input ${i}`);
  return t;
};

const toLast = (x: tf.Tensor) => tf.transpose(x, [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2), 1]);
const toFirst = (x: tf.Tensor) => tf.transpose(x, [0, x.rank - 1, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 1)]);

/** Explicit ONNX pads [b1, b2, …, e1, e2, …] → per spatial axis [before, after]. */
function spatialPads(c: OpContext, spatial: number): [number, number][] | 'same' {
  const auto = attrStr(c.attrs, 'auto_pad', 'NOTSET');
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') return 'same';
  const p = attrInts(c.attrs, 'pads') ?? new Array(2 * spatial).fill(0);
  return Array.from({ length: spatial }, (_, i) => [p[i]!, p[i + spatial]!]);
}

/** Channels-first x [N, C, …] to channels-last 4-D [N, H, W, C] (1-D becomes H = 1). */
function as4dLast(x: tf.Tensor): tf.Tensor4D {
  const last = toLast(x);
  return (x.rank === 3 ? tf.expandDims(last, 1) : last) as tf.Tensor4D;
}
function from4dLast(y: tf.Tensor4D, rank: number): tf.Tensor {
  const r = rank === 3 ? tf.squeeze(y, [1]) : y;
  return toFirst(r);
}

function conv(c: OpContext): tf.Tensor {
  const x = need(c, 0);
  const w = need(c, 1);
  const b = c.ins[2];
  if (x.rank !== 3 && x.rank !== 4) throw new UnsupportedOpError(`Conv ${x.rank - 2}-D`);
  const spatial = x.rank - 2;
  const group = attrInt(c.attrs, 'group', 1);
  const strides = attrInts(c.attrs, 'strides') ?? new Array(spatial).fill(1);
  const dil = attrInts(c.attrs, 'dilations') ?? new Array(spatial).fill(1);
  const s2: [number, number] = spatial === 1 ? [1, strides[0]!] : [strides[0]!, strides[1]!];
  const d2: [number, number] = spatial === 1 ? [1, dil[0]!] : [dil[0]!, dil[1]!];
  const pads = spatialPads(c, spatial);
  let x4 = as4dLast(x);
  let pad: 'same' | 'valid' = 'valid';
  if (pads === 'same') pad = 'same';
  else if (pads.some(([a, e]) => a || e)) x4 = tf.pad(x4, [[0, 0], ...(spatial === 1 ? [[0, 0] as [number, number]] : []), ...pads, [0, 0]]) as tf.Tensor4D;
  // Weights [O, I/g, k…] → [kh, kw, I/g, O].
  const w4 = (spatial === 1 ? tf.expandDims(w, 2) : w) as tf.Tensor4D;
  const inC = x.shape[1]!;
  let y: tf.Tensor4D;
  if (group === 1) {
    y = tf.conv2d(x4, tf.transpose(w4, [2, 3, 1, 0]) as tf.Tensor4D, s2, pad, 'NHWC', d2);
  } else if (group === inC && w.shape[0] === inC && s2[0] === 1 && s2[1] === 1 && d2[0] === 1 && d2[1] === 1) {
    // Depthwise, multiplier 1: a sum over the kernel taps of shifted inputs times per-channel
    // weights (every op here has a gradient on the WASM backend).
    const [kh, kw] = [w4.shape[2], w4.shape[3]];
    if (pad === 'same') {
      const ph = kh - 1, pw = kw - 1;
      x4 = tf.pad(x4, [[0, 0], [Math.floor(ph / 2), ph - Math.floor(ph / 2)], [Math.floor(pw / 2), pw - Math.floor(pw / 2)], [0, 0]]) as tf.Tensor4D;
    }
    const oh = x4.shape[1] - kh + 1, ow = x4.shape[2] - kw + 1;
    const wk = tf.transpose(tf.reshape(w4, [inC, kh, kw]), [1, 2, 0]); // [kh, kw, C]
    let acc: tf.Tensor | null = null;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const tap = tf.mul(tf.slice(x4, [0, i, j, 0], [-1, oh, ow, -1]), tf.reshape(tf.slice(wk, [i, j, 0], [1, 1, inC]), [inC]));
        acc = acc ? tf.add(acc, tap) : tap;
      }
    }
    y = acc as tf.Tensor4D;
  } else {
    throw new UnsupportedOpError(`Conv with group ${group}`);
  }
  if (b) y = tf.add(y, b);
  return from4dLast(y, x.rank);
}

function pool(kind: 'max' | 'avg') {
  return (c: OpContext): tf.Tensor => {
    const x = need(c, 0);
    if (x.rank !== 3 && x.rank !== 4) throw new UnsupportedOpError(`Pool ${x.rank - 2}-D`);
    const spatial = x.rank - 2;
    const k = attrInts(c.attrs, 'kernel_shape')!;
    const s = attrInts(c.attrs, 'strides') ?? new Array(spatial).fill(1);
    const pads = spatialPads(c, spatial);
    if (attrInt(c.attrs, 'ceil_mode', 0) === 1) throw new UnsupportedOpError('Pool with ceil_mode');
    let x4 = as4dLast(x);
    let pad: 'same' | 'valid' = 'valid';
    if (pads === 'same') pad = 'same';
    else if (pads.some(([a, e]) => a || e)) {
      // Max pools pad with a very negative value; average pools count the pads (count_include_pad=1 semantics).
      x4 = tf.pad(x4, [[0, 0], ...(spatial === 1 ? [[0, 0] as [number, number]] : []), ...pads, [0, 0]], kind === 'max' ? -1e9 : 0) as tf.Tensor4D;
    }
    const k2: [number, number] = spatial === 1 ? [1, k[0]!] : [k[0]!, k[1]!];
    const s2: [number, number] = spatial === 1 ? [1, s[0]!] : [s[0]!, s[1]!];
    const y = kind === 'max' ? tf.maxPool(x4, k2, s2, pad) : tf.avgPool(x4, k2, s2, pad);
    return from4dLast(y, x.rank);
  };
}

function axesOf(c: OpContext, rank: number): number[] | undefined {
  const a = attrInts(c.attrs, 'axes') ?? c.intsOf(1);
  return a?.map((v) => (v < 0 ? v + rank : v));
}

function reduce(fn: (x: tf.Tensor, axes: number[] | undefined, keep: boolean) => tf.Tensor) {
  return (c: OpContext) => {
    const x = need(c, 0);
    return fn(x, axesOf(c, x.rank), attrInt(c.attrs, 'keepdims', 1) === 1);
  };
}

function reshape(c: OpContext): tf.Tensor {
  const x = need(c, 0);
  const shape = c.intsOf(1);
  if (!shape) throw new UnsupportedOpError('Reshape with a computed shape');
  const allowZero = attrInt(c.attrs, 'allowzero', 0) === 1;
  return tf.reshape(x, shape.map((d, i) => (d === 0 && !allowZero ? x.shape[i]! : d)));
}

const OPS: Record<string, (c: OpContext) => tf.Tensor | tf.Tensor[]> = {
  Constant: () => { throw new UnsupportedOpError('Constant'); }, // handled at construction
  Identity: (c) => need(c, 0),
  Dropout: (c) => need(c, 0), // inference semantics, as the victim runs it
  Relu: (c) => tf.relu(need(c, 0)),
  LeakyRelu: (c) => tf.leakyRelu(need(c, 0), attrFloat(c.attrs, 'alpha', 0.01)),
  Elu: (c) => tf.elu(need(c, 0)),
  Sigmoid: (c) => tf.sigmoid(need(c, 0)),
  HardSigmoid: (c) => tf.clipByValue(tf.add(tf.mul(need(c, 0), attrFloat(c.attrs, 'alpha', 0.2)), attrFloat(c.attrs, 'beta', 0.5)), 0, 1),
  Tanh: (c) => tf.tanh(need(c, 0)),
  Exp: (c) => tf.exp(need(c, 0)),
  Log: (c) => tf.log(need(c, 0)),
  Sqrt: (c) => tf.sqrt(need(c, 0)),
  Neg: (c) => tf.neg(need(c, 0)),
  Softmax: (c) => { const x = need(c, 0); const ax = attrInt(c.attrs, 'axis', -1); if (ax !== -1 && ax !== x.rank - 1) throw new UnsupportedOpError('Softmax over a non-last axis'); return tf.softmax(x); },
  LogSoftmax: (c) => tf.logSoftmax(need(c, 0)),
  Clip: (c) => {
    const lo = c.ins[1] ? c.ins[1].dataSync()[0]! : attrFloat(c.attrs, 'min', -3.4e38);
    const hi = c.ins[2] ? c.ins[2].dataSync()[0]! : attrFloat(c.attrs, 'max', 3.4e38);
    return tf.clipByValue(need(c, 0), lo, hi);
  },
  Add: (c) => tf.add(need(c, 0), need(c, 1)),
  Sub: (c) => tf.sub(need(c, 0), need(c, 1)),
  Mul: (c) => tf.mul(need(c, 0), need(c, 1)),
  Div: (c) => tf.div(need(c, 0), need(c, 1)),
  Gemm: (c) => {
    let a = need(c, 0) as tf.Tensor2D;
    let b = need(c, 1) as tf.Tensor2D;
    if (attrInt(c.attrs, 'transA', 0)) a = tf.transpose(a);
    if (attrInt(c.attrs, 'transB', 0)) b = tf.transpose(b);
    let y: tf.Tensor = tf.matMul(a, b);
    const alpha = attrFloat(c.attrs, 'alpha', 1);
    if (alpha !== 1) y = tf.mul(y, alpha);
    if (c.ins[2]) y = tf.add(y, tf.mul(c.ins[2], attrFloat(c.attrs, 'beta', 1)));
    return y;
  },
  MatMul: (c) => {
    const a = need(c, 0);
    const b = need(c, 1);
    if (a.rank === 2 && b.rank === 2) return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
    if (b.rank === 2) {
      const lead = a.shape.slice(0, -1);
      const y = tf.matMul(tf.reshape(a, [-1, a.shape[a.rank - 1]!]) as tf.Tensor2D, b as tf.Tensor2D);
      return tf.reshape(y, [...lead, b.shape[1]!]);
    }
    throw new UnsupportedOpError(`MatMul of ranks ${a.rank} and ${b.rank}`);
  },
  Conv: conv,
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: (c) => { const x = need(c, 0); return tf.mean(x, Array.from({ length: x.rank - 2 }, (_, i) => i + 2), true); },
  GlobalMaxPool: (c) => { const x = need(c, 0); return tf.max(x, Array.from({ length: x.rank - 2 }, (_, i) => i + 2), true); },
  ReduceMean: reduce((x, a, k) => tf.mean(x, a, k)),
  ReduceMax: reduce((x, a, k) => tf.max(x, a, k)),
  ReduceSum: reduce((x, a, k) => tf.sum(x, a, k)),
  Flatten: (c) => {
    const x = need(c, 0);
    let axis = attrInt(c.attrs, 'axis', 1);
    if (axis < 0) axis += x.rank;
    const lead = x.shape.slice(0, axis).reduce((p, q) => p * q, 1);
    return tf.reshape(x, [lead, -1]);
  },
  Reshape: reshape,
  Transpose: (c) => tf.transpose(need(c, 0), attrInts(c.attrs, 'perm')),
  Concat: (c) => { const xs = c.ins.filter((t): t is tf.Tensor => !!t); let ax = attrInt(c.attrs, 'axis', 0); if (ax < 0) ax += xs[0]!.rank; return tf.concat(xs, ax); },
  Squeeze: (c) => tf.squeeze(need(c, 0), axesOf(c, need(c, 0).rank)),
  Unsqueeze: (c) => {
    let y = need(c, 0);
    const axes = (attrInts(c.attrs, 'axes') ?? c.intsOf(1) ?? []).map((a) => (a < 0 ? a + y.rank + 1 : a)).sort((p, q) => p - q);
    for (const a of axes) y = tf.expandDims(y, a);
    return y;
  },
  Gather: (c) => {
    const idx = need(c, 1);
    return tf.gather(need(c, 0), idx.dtype === 'int32' ? idx : tf.cast(idx, 'int32'), attrInt(c.attrs, 'axis', 0));
  },
  Cast: (c) => {
    const to = attrInt(c.attrs, 'to', 1);
    // ONNX TensorProto.DataType: FLOAT=1, DOUBLE=11 → float; the integer types → int32 (TF.js has no int64).
    return tf.cast(need(c, 0), to === 1 || to === 11 || to === 10 ? 'float32' : to === 9 ? 'bool' : 'int32');
  },
};
