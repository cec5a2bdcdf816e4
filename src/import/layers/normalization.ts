import { attr } from '../../onnx/build.ts';
import { bool, configError, normAxis, num } from '../config.ts';
import { pickWeights } from '../weights.ts';
import type { ConvertContext, KerasLayer, LayerConverter, SymTensor } from '../types.ts';

/**
 * Normalization. BatchNormalization at inference is an affine map per channel, folded at import
 * time into one Mul and one Add (scale = γ/√(σ²+ε), shift = β − μ·scale). LayerNormalization over
 * trailing axes is ONNX LayerNormalization (opset 17); over other axes it is decomposed.
 */

/** The axes of a normalization layer (int or list), normalized for rank `rank`. */
function axesOf(layer: KerasLayer, rank: number, fallback: number): number[] {
  const v = layer.config.axis;
  const list = Array.isArray(v) ? v : [typeof v === 'number' ? v : fallback];
  const axes = [...new Set(list.map((a) => normAxis(layer, a as number, rank)))].sort((a, b) => a - b);
  if (axes.includes(0)) throw configError(layer, 'normalizing over the batch axis is not supported');
  return axes;
}

/** The shape that broadcasts a parameter over `axes` of a rank-`rank` tensor (batch axis dropped). */
function paramShape(x: SymTensor, axes: number[], sizes: number[]): number[] {
  let k = 0;
  return x.shape.slice(1).map((_, i) => (axes.includes(i + 1) ? sizes[k++]! : 1));
}

const batchNorm: LayerConverter = ([x], weights, ctx) => {
  const rank = x!.shape.length;
  const axes = axesOf(ctx.layer, rank, -1);
  const scale = bool(ctx.layer, 'scale', true);
  const center = bool(ctx.layer, 'center', true);
  const eps = num(ctx.layer, 'epsilon', 1e-3);
  const roles = [...(scale ? ['gamma'] : []), ...(center ? ['beta'] : []), 'moving_mean', 'moving_variance'];
  const w = pickWeights(ctx.layer.name, weights, roles);
  const mean = w.moving_mean!;
  const n = mean.data.length;
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = (scale ? w.gamma!.data[i]! : 1) / Math.sqrt(w.moving_variance!.data[i]! + eps);
    a[i] = s;
    b[i] = (center ? w.beta!.data[i]! : 0) - mean.data[i]! * s;
  }
  const shape = paramShape(x!, axes, mean.shape.length === axes.length ? mean.shape : [n]);
  const mul = ctx.node('Mul', [x!.name, ctx.weight('scale', shape, a)])[0]!;
  const y = ctx.node('Add', [mul, ctx.weight('shift', shape, b)])[0]!;
  return [{ ...x!, name: y }];
};

const layerNorm: LayerConverter = ([x], weights, ctx) => {
  const rank = x!.shape.length;
  const axes = axesOf(ctx.layer, rank, -1);
  const scale = bool(ctx.layer, 'scale', true);
  const center = bool(ctx.layer, 'center', true);
  const eps = num(ctx.layer, 'epsilon', 1e-3);
  const w = pickWeights(ctx.layer.name, weights, [...(scale ? ['gamma'] : []), ...(center ? ['beta'] : [])]);
  const sizes = axes.map((a) => x!.shape[a]);
  const paramDims = scale ? w.gamma!.shape : center ? w.beta!.shape : sizes;
  if (paramDims.some((d) => d === null)) throw configError(ctx.layer, 'needs known sizes along the normalized axes');
  const count = (paramDims as number[]).reduce((p, q) => p * q, 1);
  const suffix = axes.every((a, i) => a === rank - axes.length + i);
  if (suffix) {
    const shape = axes.map((a, i) => (x!.shape[a] ?? (paramDims as number[])[i]!)) as number[];
    const gamma = ctx.weight('gamma', shape, scale ? w.gamma!.data : new Float32Array(count).fill(1));
    const inputs = [x!.name, gamma, ...(center ? [ctx.weight('beta', shape, w.beta!.data)] : [])];
    const y = ctx.node('LayerNormalization', inputs, { axis: attr.int(axes[0]!), epsilon: attr.float(eps) })[0]!;
    return [{ ...x!, name: y }];
  }
  return [decomposed(ctx, x!, axes, eps, scale ? w.gamma!.data : undefined, center ? w.beta!.data : undefined, paramShape(x!, axes, paramDims as number[]))];
};

/** (x − mean) / √(var + ε) · γ + β over arbitrary axes. */
function decomposed(ctx: ConvertContext, x: SymTensor, axes: number[], eps: number, gamma: Float32Array | undefined, beta: Float32Array | undefined, shape: number[]): SymTensor {
  const reduce = (t: string, name: string) => ctx.node('ReduceMean', [t], { axes: attr.ints(axes), keepdims: attr.int(1) }, { name })[0]!;
  const d = ctx.node('Sub', [x.name, reduce(x.name, 'Mean')])[0]!;
  const variance = reduce(ctx.node('Mul', [d, d], {}, { name: 'Square' })[0]!, 'Variance');
  const std = ctx.node('Sqrt', [ctx.node('Add', [variance, ctx.float('epsilon', [eps], [])])[0]!])[0]!;
  let y = ctx.node('Div', [d, std])[0]!;
  if (gamma) y = ctx.node('Mul', [y, ctx.weight('gamma', shape, gamma)])[0]!;
  if (beta) y = ctx.node('Add', [y, ctx.weight('beta', shape, beta)])[0]!;
  return { ...x, name: y };
}

/**
 * Normalization (the preprocessing layer): `(x − mean) / max(√variance, 1e-7)` per feature along
 * `axis` (or its inverse with `invert`). Mean and variance come from the config when given, else
 * from the weights (mean, variance, count), as Keras stores an adapted layer.
 */
const featureNorm: LayerConverter = ([x], weights, ctx) => {
  const rank = x!.shape.length;
  const axes = axesOf(ctx.layer, rank, -1);
  const given = (key: string) => ctx.layer.config[key];
  let mean: number[];
  let variance: number[];
  if (given('mean') !== null && given('mean') !== undefined) {
    const flat = (v: unknown): number[] => (Array.isArray(v) ? (v as unknown[]).flatMap(flat) : [v as number]);
    mean = flat(given('mean'));
    variance = flat(given('variance'));
  } else {
    const w = pickWeights(ctx.layer.name, weights, ['mean', 'variance', 'count']);
    mean = Array.from(w.mean!.data);
    variance = Array.from(w.variance!.data);
  }
  const sizes = axes.map((a) => x!.shape[a]);
  const count = mean.length;
  const shape = count === 1 ? [] : paramShape(x!, axes, sizes.every((d) => typeof d === 'number') ? sizes as number[] : [count]);
  const std = variance.map((v) => Math.max(Math.sqrt(v), 1e-7));
  const m = ctx.float('mean', mean, shape);
  const sd = ctx.float('std', std, shape);
  const y = ctx.layer.config.invert === true
    ? ctx.node('Add', [ctx.node('Mul', [x!.name, sd])[0]!, m])[0]!
    : ctx.node('Div', [ctx.node('Sub', [x!.name, m])[0]!, sd])[0]!;
  return [{ ...x!, name: y, dtype: 'float32' }];
};

/** Normalization layers. */
export const normalizationConverters: Record<string, LayerConverter> = {
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  Normalization: featureNorm,
};
