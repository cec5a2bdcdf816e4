/**
 * Converters for Keras's recurrent layers: LSTM, GRU, SimpleRNN, the generic RNN over one
 * LSTMCell / GRUCell / SimpleRNNCell, Bidirectional (over any of these) and TimeDistributed (over Dense, and other single-input layers by folding time into batch).
 *
 * Each recurrent layer becomes one ONNX LSTM / GRU / RNN node (time-major, `layout` 0, because
 * onnxruntime's CPU kernels refuse batch-major `layout=1`) between two Transposes; Bidirectional
 * becomes one node with `direction="bidirectional"` and a merge. Keras semantics kept exactly:
 *
 * - `go_backwards`: Keras reads the sequence from the end and, with `return_sequences`, returns
 *   the outputs in the order it produced them (reversed time). ONNX `direction="reverse"`
 *   returns them aligned to the input's time steps, so the output is flipped on the time axis.
 * - Bidirectional: the backward layer's sequence is flipped back by Keras, which is exactly
 *   ONNX's alignment, so no flip; with an inner `go_backwards` both roles swap and both flip.
 * - GRU `reset_after=true` (tf.keras 2 default): ONNX `linear_before_reset=1`, bias row 0 → Wb,
 *   row 1 → Rb. `reset_after=false`: `linear_before_reset=0`, bias → Wb, Rb = 0.
 * - Activations: tanh, sigmoid, hard_sigmoid (Keras 2 / TF.js: clip(0.2·x + 0.5, 0, 1), ONNX
 *   HardSigmoid α=0.2 β=0.5; Keras 3: relu6(x + 3)/6, α=1/6 β=0.5, chosen by `ctx.flavor`),
 *   relu, linear (ONNX Affine α=1 β=0), softsign, softplus, elu.
 *
 * - Masks: an input carrying a Keras mask ({@link MaskedTensor}, set by its producer, e.g. an
 *   Embedding with `mask_zero`) skips masked steps as Keras does (recurrent-mask.ts); with
 *   `return_sequences` the mask is passed on. An input without one is taken as unmasked.
 *
 * Not supported (refused with a message naming the layer): `return_state`, `stateful`,
 * `time_major`, other activations. Dropout settings are ignored (identity at inference); `unroll`, `implementation` and
 * `unit_forget_bias` do not change inference. The CuDNN classes (CuDNNLSTM, CuDNNGRU) are not
 * in the table.
 */
import { attr, type AttrValue } from '../../onnx/build.ts';
import { activationName, configError } from '../config.ts';
import type { KerasSerialized } from '../keras-format.ts';
import type { ConvertContext, KerasLayer, LayerConverter, LayerWeight } from '../types.ts';
import { cellToOnnx, stackDirections, type CellClass, type OnnxCellWeights } from './recurrent-weights.ts';
import { timeDistributed } from './recurrent-time-distributed.ts';
import { compactMasked, uncompactMasked, type MaskedTensor } from './recurrent-mask.ts';

/** The fields of a Keras LSTM / GRU / SimpleRNN config read here (snake_case, as on disk). */
interface KerasRnnConfig {
  units?: number;
  activation?: unknown;
  recurrent_activation?: unknown;
  use_bias?: boolean;
  return_sequences?: boolean;
  return_state?: boolean;
  go_backwards?: boolean;
  stateful?: boolean;
  time_major?: boolean;
  reset_after?: boolean;
}

/** An ONNX recurrent activation with the alpha/beta it consumes (onnxruntime: only those that use them). */
interface OnnxActivation { name: string; alpha?: number; beta?: number }

const ACTIVATIONS: Record<string, OnnxActivation> = {
  tanh: { name: 'Tanh' },
  sigmoid: { name: 'Sigmoid' },
  hardsigmoid: { name: 'HardSigmoid', alpha: 0.2, beta: 0.5 },
  hardsigmoid3: { name: 'HardSigmoid', alpha: 1 / 6, beta: 0.5 },
  relu: { name: 'Relu' },
  linear: { name: 'Affine', alpha: 1, beta: 0 },
  softsign: { name: 'Softsign' },
  softplus: { name: 'Softplus' },
  elu: { name: 'Elu', alpha: 1 },
};

/** What one Keras recurrent layer asks for, normalised. */
interface RnnSpec {
  cell: CellClass;
  units: number;
  /** ONNX activations for one direction: LSTM f, g, h; GRU f, g; RNN f. */
  activations: OnnxActivation[];
  useBias: boolean;
  returnSequences: boolean;
  goBackwards: boolean;
  resetAfter: boolean;
}

const ONNX_OP: Record<CellClass, string> = { LSTM: 'LSTM', GRU: 'GRU', SimpleRNN: 'RNN' };

function refuse(ctx: ConvertContext, what: string): never {
  throw configError(ctx.layer, what);
}

/**
 * The ONNX form of a Keras activation. `hard_sigmoid` is clip(0.2·x + 0.5) in Keras 2 and
 * tfjs-layers, relu6(x + 3)/6 = clip(x/6 + 0.5) in Keras 3.
 */
function activation(ctx: ConvertContext, layer: KerasLayer, key: string, fallback: string): OnnxActivation {
  const name = layer.config[key] === undefined ? fallback : activationName(layer, key);
  let norm = name.toLowerCase().replace(/_/g, '');
  if (norm === 'hardsigmoid' && ctx.flavor?.kerasMajor === 3) norm = 'hardsigmoid3';
  const found = Object.hasOwn(ACTIVATIONS, norm) ? ACTIVATIONS[norm] : undefined;
  if (!found) refuse(ctx, `${key} '${name}' is not supported in a recurrent layer (supported: tanh, sigmoid, hard_sigmoid, relu, linear, softsign, softplus, elu)`);
  return found;
}

function isCell(c: string): c is CellClass {
  return c === 'LSTM' || c === 'GRU' || c === 'SimpleRNN';
}

/** The layer class each Keras cell class stands for inside a generic `RNN(cell)` layer. */
const CELL_LAYERS: Record<string, CellClass> = { LSTMCell: 'LSTM', GRUCell: 'GRU', SimpleRNNCell: 'SimpleRNN' };

/** The sequence-level settings of a generic `RNN` layer, laid over its cell's config. */
const RNN_FLAGS = ['return_sequences', 'return_state', 'go_backwards', 'stateful', 'time_major'] as const;

/** A generic Keras `RNN(cell)` as the equivalent LSTM / GRU / SimpleRNN config; other classes unchanged. */
function resolveGenericRnn(ctx: ConvertContext, className: string, raw: Record<string, unknown>): { className: string; raw: Record<string, unknown> } {
  if (className !== 'RNN') return { className, raw };
  const cell = raw.cell as Partial<KerasSerialized> | unknown[] | undefined;
  if (Array.isArray(cell) || cell?.class_name === 'StackedRNNCells') refuse(ctx, 'stacked cells (a list of cells or StackedRNNCells) are not supported; use one recurrent layer per cell');
  if (!cell || typeof cell.class_name !== 'string' || typeof cell.config !== 'object' || cell.config === null) refuse(ctx, 'config.cell is missing or not a Keras cell config');
  const layerClass = Object.hasOwn(CELL_LAYERS, cell.class_name) ? CELL_LAYERS[cell.class_name] : undefined;
  if (!layerClass) refuse(ctx, `cell class ${cell.class_name} is not supported (supported: ${Object.keys(CELL_LAYERS).join(', ')})`);
  const flags = Object.fromEntries(RNN_FLAGS.filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]]));
  return { className: layerClass, raw: { ...cell.config, ...flags } };
}

/** Reads and checks a Keras recurrent config; `biasShape` settles a missing `reset_after`. */
function rnnSpec(ctx: ConvertContext, layerClass: string, layerConfig: Record<string, unknown>, biasShape?: number[]): RnnSpec {
  const { className, raw } = resolveGenericRnn(ctx, layerClass, layerConfig);
  if (!isCell(className)) refuse(ctx, `wrapped layer class ${className} is not a recurrent layer (LSTM, GRU, SimpleRNN, RNN)`);
  const c = raw as KerasRnnConfig;
  const layer: KerasLayer = { className, name: ctx.layer.name, config: raw };
  if (typeof c.units !== 'number' || !(c.units > 0)) refuse(ctx, `units ${JSON.stringify(c.units)} is not a positive integer`);
  if (c.return_state) refuse(ctx, 'return_state=true is not supported');
  if (c.stateful) refuse(ctx, 'stateful=true is not supported (state would carry across calls)');
  if (c.time_major) refuse(ctx, 'time_major=true is not supported');
  const act = activation(ctx, layer, 'activation', 'tanh');
  const rec = className === 'SimpleRNN' ? act : activation(ctx, layer, 'recurrent_activation', 'sigmoid');
  const activations = className === 'LSTM' ? [rec, act, act] : className === 'GRU' ? [rec, act] : [act];
  // Keras < 2.1 had no reset_after (it behaved as false); the bias shape [2, 3·units] says true.
  const resetAfter = className === 'GRU' && (c.reset_after ?? biasShape?.length === 2);
  return {
    cell: className, units: c.units, activations, useBias: c.use_bias ?? true,
    returnSequences: c.return_sequences ?? false, goBackwards: c.go_backwards ?? false, resetAfter,
  };
}

function biasShapeOf(ws: LayerWeight[]): number[] | undefined {
  return ws.find((w) => /(^|\/)bias(:\d+)?$/.test(w.name))?.shape;
}

function onnxWeights(ctx: ConvertContext, spec: RnnSpec, ws: LayerWeight[]): OnnxCellWeights {
  try {
    return cellToOnnx(spec.cell, ws, spec.units, spec.useBias, spec.resetAfter);
  } catch (e) {
    if (e instanceof RangeError) refuse(ctx, e.message);
    throw e;
  }
}

/** Reverses axis 1 (time, batch-major) with a negative-step Slice. */
function flipTime(ctx: ConvertContext, t: string, name: string): string {
  return ctx.node('Slice', [t, ctx.int64(`${name}_starts`, [-1]), ctx.int64(`${name}_ends`, [Number.MIN_SAFE_INTEGER]),
    ctx.int64(`${name}_axes`, [1]), ctx.int64(`${name}_steps`, [-1])], {}, { name })[0]!;
}

/** How the directions of an ONNX recurrent node map back to Keras outputs. */
interface Plan {
  direction: 'forward' | 'reverse' | 'bidirectional';
  /** Keras outputs are in reversed time order relative to ONNX's (sequences only). */
  flip: boolean;
  /** Keras's first output is ONNX direction 1 (Bidirectional over a go_backwards layer). */
  swap: boolean;
  merge: 'concat' | 'sum' | 'mul' | 'ave' | 'none' | 'single';
}

/**
 * Emits Transpose → LSTM/GRU/RNN → reshaping and merging, returns the Keras outputs.
 * `specs` and `weights` are in ONNX direction order.
 */
function emitRecurrent(ctx: ConvertContext, x: MaskedTensor, specs: RnnSpec[], weights: OnnxCellWeights[], plan: Plan): MaskedTensor[] {
  const s = specs[0]!;
  const dirs = specs.length;
  const H = s.units;
  const G = { LSTM: 4, GRU: 3, SimpleRNN: 1 }[s.cell];
  const I = weights[0]!.inputSize;
  if (x.shape.length !== 3) refuse(ctx, `input ${x.name} has shape [${x.shape.map(String)}], expected [batch, time, features]`);
  if (x.shape[2] !== null && x.shape[2] !== I) refuse(ctx, `input ${x.name} has ${x.shape[2]} features but the kernel expects ${I}`);

  // A Keras mask: real steps first, sequence_lens = their count (recurrent-mask.ts).
  const masked = x.mask ? compactMasked(ctx, x.name, x.mask) : undefined;
  const xt = ctx.node('Transpose', [masked?.x ?? x.name], { perm: attr.ints([1, 0, 2]) }, { name: 'to_time_major' })[0]!;
  const W = ctx.weight('W', [dirs, G * H, I], stackDirections(weights.map((w) => w.W)));
  const R = ctx.weight('R', [dirs, G * H, H], stackDirections(weights.map((w) => w.R)));
  const B = ctx.weight('B', [dirs, 2 * G * H], stackDirections(weights.map((w) => w.B)));
  const acts = specs.flatMap((sp) => sp.activations);
  const attrs: Record<string, AttrValue> = {
    hidden_size: attr.int(H),
    direction: attr.string(plan.direction),
    activations: attr.strings(acts.map((a) => a.name)),
  };
  const alphas = acts.flatMap((a) => (a.alpha === undefined ? [] : [a.alpha]));
  const betas = acts.flatMap((a) => (a.beta === undefined ? [] : [a.beta]));
  if (alphas.length) attrs.activation_alpha = attr.floats(alphas);
  if (betas.length) attrs.activation_beta = attr.floats(betas);
  if (s.cell === 'GRU') attrs.linear_before_reset = attr.int(s.resetAfter ? 1 : 0);
  const [Y, Yh] = ctx.node(ONNX_OP[s.cell], masked ? [xt, W, R, B, masked.lens] : [xt, W, R, B], attrs, { outputs: 2, name: ONNX_OP[s.cell] }) as [string, string];

  const T = x.shape[1] ?? null;
  const batch = x.shape[0] ?? null;
  // Batch-major per-direction outputs: sequences [B, T, dirs, H], last states [B, dirs, H].
  let out: string;
  let dirAxis: number;
  let shape: (number | null)[];
  if (s.returnSequences) {
    out = ctx.node('Transpose', [Y], { perm: attr.ints([2, 0, 1, 3]) }, { name: 'to_batch_major' })[0]!;
    if (masked) out = uncompactMasked(ctx, out, plan.direction === 'bidirectional' ? [false, true] : [plan.direction === 'reverse'], masked);
    if (plan.flip) out = flipTime(ctx, out, 'flip_time');
    dirAxis = 2;
    shape = [batch, T];
  } else {
    out = ctx.node('Transpose', [Yh], { perm: attr.ints([1, 0, 2]) }, { name: 'to_batch_major' })[0]!;
    dirAxis = 1;
    shape = [batch];
  }
  // Keras passes the input mask on with sequences (not reversed for go_backwards, as Keras), drops it otherwise.
  const outMask = s.returnSequences && x.mask ? { mask: x.mask } : {};
  if (plan.merge === 'single' || plan.merge === 'concat') {
    if (plan.swap) out = ctx.node('Gather', [out, ctx.int64('swap_index', [1, 0])], { axis: attr.int(dirAxis) }, { name: 'swap' })[0]!;
    // Reshape's 0 copies the batch (and time) dimension: [B, (T,) dirs, H] → [B, (T,) dirs·H].
    const y = ctx.node('Reshape', [out, ctx.int64('merge_shape', [...shape.map(() => 0), -1])], {}, { name: 'merge' })[0]!;
    return [{ name: y, shape: [...shape, dirs * H], dtype: 'float32', ...outMask }];
  }
  const pick = (i: number, name: string) => ctx.node('Gather', [out, ctx.int64(`${name}_index`, [i], [])], { axis: attr.int(dirAxis) }, { name })[0]!;
  const fwd = pick(plan.swap ? 1 : 0, 'forward');
  const bwd = pick(plan.swap ? 0 : 1, 'backward');
  const t = (name: string): MaskedTensor => ({ name, shape: [...shape, H], dtype: 'float32', ...outMask });
  switch (plan.merge) {
    case 'none': return [t(fwd), t(bwd)];
    case 'sum': return [t(ctx.node('Add', [fwd, bwd], {}, { name: 'merge' })[0]!)];
    case 'mul': return [t(ctx.node('Mul', [fwd, bwd], {}, { name: 'merge' })[0]!)];
    case 'ave': {
      const sum = ctx.node('Add', [fwd, bwd], {}, { name: 'merge_sum' })[0]!;
      return [t(ctx.node('Mul', [sum, ctx.float('half', [0.5], [])], {}, { name: 'merge' })[0]!)];
    }
  }
}

function recurrent(layerClass: CellClass | 'RNN'): LayerConverter {
  return (inputs, weights, ctx) => {
    const spec = rnnSpec(ctx, layerClass, ctx.layer.config, biasShapeOf(weights));
    const w = onnxWeights(ctx, spec, weights);
    return emitRecurrent(ctx, inputs[0]!, [spec], [w], {
      direction: spec.goBackwards ? 'reverse' : 'forward', flip: spec.goBackwards && spec.returnSequences, swap: false, merge: 'single',
    });
  };
}

/** Splits a Bidirectional layer's weights into the forward layer's and the backward layer's. */
function splitBidirectionalWeights(ctx: ConvertContext, ws: LayerWeight[]): [LayerWeight[], LayerWeight[]] {
  const isBackward = (w: LayerWeight) => /(^|\/)backward_[^/]*\//.test(w.name);
  const named = ws.filter(isBackward);
  if (named.length * 2 === ws.length) return [ws.filter((w) => !isBackward(w)), named];
  if (ws.length % 2 !== 0) refuse(ctx, `expected an even number of weights (forward layer's, then backward layer's), got ${ws.length}`);
  return [ws.slice(0, ws.length / 2), ws.slice(ws.length / 2)];
}

/** A Keras layer nested in a wrapper's config (`Bidirectional.layer`, `TimeDistributed.layer`). */
function nestedLayer(ctx: ConvertContext, key: string): KerasSerialized {
  const v = ctx.layer.config[key] as Partial<KerasSerialized> | undefined;
  if (!v || typeof v.class_name !== 'string' || typeof v.config !== 'object' || v.config === null) refuse(ctx, `config.${key} is missing or not a Keras layer config`);
  return v as KerasSerialized;
}

const MERGE_MODES = ['concat', 'sum', 'mul', 'ave'] as const;

/** Keras Bidirectional over LSTM / GRU / SimpleRNN; merge_mode concat, sum, mul, ave or null (two outputs). */
const bidirectional: LayerConverter = (inputs, weights, ctx) => {
  const cfg = ctx.layer.config as { backward_layer?: unknown; merge_mode?: unknown };
  const inner = nestedLayer(ctx, 'layer');
  const [fw, bw] = splitBidirectionalWeights(ctx, weights);
  const fwd = rnnSpec(ctx, inner.class_name, inner.config, biasShapeOf(fw));
  const backInner = cfg.backward_layer === undefined || cfg.backward_layer === null ? undefined : nestedLayer(ctx, 'backward_layer');
  const bwd = backInner
    ? rnnSpec(ctx, backInner.class_name, backInner.config, biasShapeOf(bw))
    : { ...fwd, goBackwards: !fwd.goBackwards };
  if (bwd.cell !== fwd.cell || bwd.units !== fwd.units || bwd.useBias !== fwd.useBias || bwd.resetAfter !== fwd.resetAfter
    || bwd.returnSequences !== fwd.returnSequences || bwd.goBackwards === fwd.goBackwards) {
    refuse(ctx, 'the backward layer must be the forward layer reading the other way (same class, units, bias, reset_after, return_sequences)');
  }
  const mode = cfg.merge_mode === undefined ? 'concat' : cfg.merge_mode;
  if (mode !== null && !MERGE_MODES.includes(mode as typeof MERGE_MODES[number])) refuse(ctx, `merge_mode ${JSON.stringify(mode)} is not one of concat, sum, mul, ave, null`);
  const wf = onnxWeights(ctx, fwd, fw);
  const wb = onnxWeights(ctx, bwd, bw);
  // ONNX direction 0 reads forward in time: normally Keras's forward layer; with an inner
  // go_backwards it is Keras's backward layer, so the roles swap and sequences flip.
  const swap = fwd.goBackwards;
  return emitRecurrent(ctx, inputs[0]!, swap ? [bwd, fwd] : [fwd, bwd], swap ? [wb, wf] : [wf, wb], {
    direction: 'bidirectional', flip: swap && fwd.returnSequences, swap,
    merge: mode === null ? 'none' : (mode as Plan['merge']),
  });
};

/**
 * The recurrent family's op table entries: Keras class name → converter.
 *
 * @example
 * ```ts
 * const outputs = recurrentConverters.LSTM!([x], layerWeights, ctx);
 * ```
 */
export const recurrentConverters: Record<string, LayerConverter> = {
  LSTM: recurrent('LSTM'),
  GRU: recurrent('GRU'),
  SimpleRNN: recurrent('SimpleRNN'),
  RNN: recurrent('RNN'),
  Bidirectional: bidirectional,
  TimeDistributed: timeDistributed,
};
