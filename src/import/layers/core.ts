import { attr } from '../../onnx/build.ts';
import { ONNX_BY_DTYPE } from '../../onnx/tensor-spec.ts';
import { bool, channelsLast, configError, num } from '../config.ts';
import { pickWeights } from '../weights.ts';
import type { LayerConverter, SymTensor } from '../types.ts';
import { applyLayerActivation, identity } from './activations.ts';

/** Product of known dims, or null if any is unknown. */
export function knownProduct(dims: (number | null)[]): number | null {
  return dims.every((d) => d !== null && d >= 0) ? (dims as number[]).reduce((a, b) => a * b, 1) : null;
}

/** Dense: `x · kernel + bias` over the last axis (Gemm for rank 2, MatMul + Add above), then its activation. */
const dense: LayerConverter = ([x], weights, ctx) => {
  const useBias = bool(ctx.layer, 'use_bias', true);
  const w = pickWeights(ctx.layer.name, weights, useBias ? ['kernel', 'bias'] : ['kernel']);
  const [inDim, units] = w.kernel!.shape as [number, number];
  const kernel = ctx.weight('kernel', [inDim, units], w.kernel!.data);
  const bias = useBias ? ctx.weight('bias', [units], w.bias!.data) : undefined;
  let y: string;
  if (x!.shape.length === 2) {
    y = ctx.node('Gemm', bias ? [x!.name, kernel, bias] : [x!.name, kernel])[0]!;
  } else {
    y = ctx.node('MatMul', [x!.name, kernel])[0]!;
    if (bias) y = ctx.node('Add', [y, bias], {}, { name: 'BiasAdd' })[0]!;
  }
  return [applyLayerActivation(ctx, { name: y, shape: [...x!.shape.slice(0, -1), units], dtype: 'float32' })];
};

/** Flatten: row-major over the stored (channels-last) layout, as Keras; channels_first permutes to channels-last first. */
const flatten: LayerConverter = ([x], _w, ctx) => {
  let src = x!.name;
  if (!channelsLast(ctx.layer) && x!.shape.length > 2) {
    const r = x!.shape.length;
    src = ctx.node('Transpose', [src], { perm: attr.ints([0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1]) })[0]!;
  }
  const y = ctx.node('Flatten', [src], { axis: attr.int(1) })[0]!;
  return [{ name: y, shape: [x!.shape[0]!, knownProduct(x!.shape.slice(1))], dtype: x!.dtype }];
};

/** Reshape to `target_shape` (batch kept). */
const reshape: LayerConverter = ([x], _w, ctx) => {
  const target = ctx.layer.config.target_shape as number[] | undefined;
  if (!Array.isArray(target)) throw configError(ctx.layer, "missing 'target_shape'");
  const shape = ctx.int64('shape', [0, ...target.map((d) => (d === null ? -1 : d))]);
  const y = ctx.node('Reshape', [x!.name, shape])[0]!;
  const total = knownProduct(x!.shape.slice(1));
  const known = knownProduct(target.filter((d) => d !== -1 && d !== null));
  const out = target.map((d) => (d === -1 || d === null ? (total !== null && known ? total / known : null) : d));
  return [{ name: y, shape: [x!.shape[0]!, ...out], dtype: x!.dtype }];
};

/** Permute: `dims` are 1-based and exclude the batch axis. */
const permute: LayerConverter = ([x], _w, ctx) => {
  const dims = ctx.layer.config.dims as number[] | undefined;
  if (!Array.isArray(dims)) throw configError(ctx.layer, "missing 'dims'");
  const y = ctx.node('Transpose', [x!.name], { perm: attr.ints([0, ...dims]) })[0]!;
  return [{ name: y, shape: [x!.shape[0]!, ...dims.map((d) => x!.shape[d]!)], dtype: x!.dtype }];
};

/** RepeatVector: [B, F] → [B, n, F]. */
const repeatVector: LayerConverter = ([x], _w, ctx) => {
  const n = num(ctx.layer, 'n');
  const u = ctx.node('Unsqueeze', [x!.name, ctx.int64('axes', [1])])[0]!;
  const y = ctx.node('Tile', [u, ctx.int64('repeats', [1, n, 1])])[0]!;
  return [{ name: y, shape: [x!.shape[0]!, n, x!.shape[1]!], dtype: x!.dtype }];
};

/** Layers that are the identity at inference (noise and dropout). */
const passThrough: LayerConverter = ([x], _w, ctx) => [identity(ctx, x!)];

/** InputLayer: nothing to compute (the graph input is the tensor). */
const inputLayer: LayerConverter = (inputs) => inputs;

/** Embedding: token ids (float32 in TF.js / Keras inputs) are cast to int64 and gathered. */
const embedding: LayerConverter = ([x], weights, ctx) => {
  const { embeddings } = pickWeights(ctx.layer.name, weights, ['embeddings']);
  const [vocab, dim] = embeddings!.shape as [number, number];
  const table = ctx.weight('embeddings', [vocab, dim], embeddings!.data);
  const ids = x!.dtype === 'int64' ? x!.name : ctx.node('Cast', [x!.name], { to: attr.int(ONNX_BY_DTYPE.int64) })[0]!;
  const y = ctx.node('Gather', [table, ids], { axis: attr.int(0) })[0]!;
  const out: SymTensor & { mask?: string } = { name: y, shape: [...x!.shape, dim], dtype: 'float32' };
  // mask_zero: id 0 is padding; Keras masks those steps for the layers after it (recurrent-mask.ts).
  if (ctx.layer.config.mask_zero === true) {
    const zero = ctx.int64('mask_zero_id', [0], []);
    out.mask = ctx.node('Not', [ctx.node('Equal', [ids, zero], {}, { name: 'mask_equal' })[0]!], {}, { name: 'mask' })[0]!;
  }
  return [out];
};

/** Rescaling (a preprocessing layer): `x · scale + offset`, scalars or per-channel lists. */
const rescaling: LayerConverter = ([x], _w, ctx) => {
  const list = (key: string, fallback: number) => {
    const v = ctx.layer.config[key];
    return Array.isArray(v) ? (v as number[]) : [typeof v === 'number' ? v : fallback];
  };
  const scale = list('scale', 1);
  const offset = list('offset', 0);
  const input = x!.dtype === 'float32' ? x!.name : ctx.node('Cast', [x!.name], { to: attr.int(ONNX_BY_DTYPE.float32) })[0]!;
  const scaled = ctx.node('Mul', [input, ctx.float('scale', scale, scale.length === 1 ? [] : [scale.length])])[0]!;
  const y = ctx.node('Add', [scaled, ctx.float('offset', offset, offset.length === 1 ? [] : [offset.length])])[0]!;
  return [{ name: y, shape: x!.shape, dtype: 'float32' }];
};

/** Core layers: Dense, Flatten, Reshape, Permute, RepeatVector, Embedding, Rescaling, InputLayer and the inference-time identities. */
export const coreConverters: Record<string, LayerConverter> = {
  InputLayer: inputLayer,
  Dense: dense,
  Flatten: flatten,
  Reshape: reshape,
  Permute: permute,
  RepeatVector: repeatVector,
  Embedding: embedding,
  Dropout: passThrough,
  SpatialDropout1D: passThrough,
  SpatialDropout2D: passThrough,
  SpatialDropout3D: passThrough,
  GaussianNoise: passThrough,
  GaussianDropout: passThrough,
  AlphaDropout: passThrough,
  ActivityRegularization: passThrough,
  Identity: passThrough,
  Rescaling: rescaling,
};
