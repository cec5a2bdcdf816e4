import { attr, type AttrValue } from '../../onnx/build.ts';
import { activationName, bool, channelsLast, configError, num, str, tuple } from '../config.ts';
import { pickWeights } from '../weights.ts';
import type { ConvertContext, LayerConverter, LayerWeight, SymTensor } from '../types.ts';
import { applyLayerActivation } from './activations.ts';
import { padAttrs, permuteData, spatialPad, toChannelsFirst, toChannelsLast, type SpatialPad } from './layout.ts';

/**
 * Convolutions. Keras kernels are `[k…, in/groups, out]` (Conv), `[k…, in, depth_multiplier]`
 * (depthwise) and `[k…, out, in]` (transposed); ONNX wants `[out, in/groups, k…]` and
 * `[in, out/groups, k…]`. The input is transposed to channels-first, convolved, and transposed
 * back; an elementwise activation runs before the transpose back (so ORT can fuse Conv+Relu).
 */

/** Keras `[k…, a, b]` → ONNX `[b, a, k…]` (also `[k…, out, in]` → `[in, out, k…]` for ConvTranspose). */
function kernelToOnnx(w: LayerWeight, n: number): { data: Float32Array; shape: number[] } {
  return permuteData(w.data, w.shape, [n + 1, n, ...Array.from({ length: n }, (_, i) => i)]);
}

/** Depthwise `[k…, in, m]` → ONNX grouped `[in·m, 1, k…]`. */
function depthwiseToOnnx(w: LayerWeight, n: number): { data: Float32Array; shape: number[] } {
  const p = permuteData(w.data, w.shape, [n, n + 1, ...Array.from({ length: n }, (_, i) => i)]);
  return { data: p.data, shape: [p.shape[0]! * p.shape[1]!, 1, ...p.shape.slice(2)] };
}

interface Geometry { cl: boolean; n: number; channels: number | null; spatial: (number | null)[]; strides: number[]; dilations: number[]; kernel: number[]; padding: string }

function geometry(ctx: ConvertContext, x: SymTensor, n: number): Geometry {
  if (x.shape.length !== n + 2) throw configError(ctx.layer, `expects a rank-${n + 2} input, got [${x.shape}]`);
  const cl = channelsLast(ctx.layer);
  const padding = str(ctx.layer, 'padding', 'valid').toLowerCase();
  if (!['valid', 'same', 'causal'].includes(padding)) throw configError(ctx.layer, `padding '${padding}' is not supported`);
  return {
    cl, n, padding,
    channels: cl ? x.shape[n + 1]! : x.shape[1]!,
    spatial: cl ? x.shape.slice(1, n + 1) : x.shape.slice(2),
    kernel: tuple(ctx.layer, 'kernel_size', n),
    strides: tuple(ctx.layer, 'strides', n, 1),
    dilations: tuple(ctx.layer, 'dilation_rate', n, 1),
  };
}

/** Runs one ONNX Conv (inputs channels-first) and returns channels-first output name and pads. */
function conv(ctx: ConvertContext, input: string, g: Geometry, weight: { data: Float32Array; shape: number[] }, bias: LayerWeight | undefined, group: number, wname: string, strides = g.strides, kernel = g.kernel): { y: string; pads: SpatialPad[] } {
  const pads = g.spatial.map((s, i) => spatialPad(g.padding, s, kernel[i]!, strides[i]!, g.dilations[i]!));
  const w = ctx.weight(wname, weight.shape, weight.data);
  const b = bias ? ctx.weight(wname === 'kernel' || wname === 'depthwise_kernel' ? 'bias' : `${wname}_bias`, bias.shape, bias.data) : undefined;
  const attrs: Record<string, AttrValue> = {
    kernel_shape: attr.ints(kernel), strides: attr.ints(strides), dilations: attr.ints(g.dilations), group: attr.int(group), ...padAttrs(pads),
  };
  return { y: ctx.node('Conv', b ? [input, w, b] : [input, w], attrs)[0]!, pads };
}

/** Finishes a conv-like layer: activation (before the transpose back when elementwise), layout, shape. */
export function finish(ctx: ConvertContext, y: string, g: Geometry, outChannels: number | null, outSpatial: (number | null)[], batch: number | null, activation = true): SymTensor {
  const act = activation ? activationName(ctx.layer) : 'linear';
  const rank = g.n + 2;
  const cfShape = [batch, outChannels, ...outSpatial];
  const clShape = [batch, ...outSpatial, outChannels];
  const axisSensitive = /softmax/i.test(act);
  let t: SymTensor = { name: y, shape: cfShape, dtype: 'float32' };
  if (activation && !axisSensitive) t = applyLayerActivation(ctx, t);
  if (g.cl) t = { name: toChannelsLast(ctx, t.name, rank), shape: clShape, dtype: 'float32' };
  if (activation && axisSensitive) t = applyLayerActivation(ctx, t);
  return t;
}

function convN(n: number): LayerConverter {
  return ([x], weights, ctx) => {
    const g = geometry(ctx, x!, n);
    const useBias = bool(ctx.layer, 'use_bias', true);
    const w = pickWeights(ctx.layer.name, weights, useBias ? ['kernel', 'bias'] : ['kernel']);
    const groups = num(ctx.layer, 'groups', 1);
    const input = g.cl ? toChannelsFirst(ctx, x!) : x!.name;
    const { y, pads } = conv(ctx, input, g, kernelToOnnx(w.kernel!, n), w.bias, groups, 'kernel');
    return [finish(ctx, y, g, w.kernel!.shape[n + 1]!, pads.map((p) => p.out), x!.shape[0]!)];
  };
}

function depthwiseN(n: number): LayerConverter {
  return ([x], weights, ctx) => {
    const g = geometry(ctx, x!, n);
    const useBias = bool(ctx.layer, 'use_bias', true);
    const w = pickWeights(ctx.layer.name, weights, useBias ? ['depthwise_kernel', 'bias'] : ['depthwise_kernel']);
    const [cin, mult] = w.depthwise_kernel!.shape.slice(n) as [number, number];
    const input = g.cl ? toChannelsFirst(ctx, x!) : x!.name;
    const { y, pads } = conv(ctx, input, g, depthwiseToOnnx(w.depthwise_kernel!, n), w.bias, cin, 'depthwise_kernel');
    return [finish(ctx, y, g, cin * mult, pads.map((p) => p.out), x!.shape[0]!)];
  };
}

/** SeparableConv: depthwise (strides, dilation, padding) then a 1×1 pointwise conv with the bias. */
function separableN(n: number): LayerConverter {
  return ([x], weights, ctx) => {
    const g = geometry(ctx, x!, n);
    const useBias = bool(ctx.layer, 'use_bias', true);
    const w = pickWeights(ctx.layer.name, weights, useBias ? ['depthwise_kernel', 'pointwise_kernel', 'bias'] : ['depthwise_kernel', 'pointwise_kernel']);
    const cin = w.depthwise_kernel!.shape[n]!;
    const input = g.cl ? toChannelsFirst(ctx, x!) : x!.name;
    const dw = conv(ctx, input, g, depthwiseToOnnx(w.depthwise_kernel!, n), undefined, cin, 'depthwise_kernel');
    const ones = Array.from({ length: n }, () => 1);
    const pw = conv(ctx, dw.y, { ...g, padding: 'valid', dilations: ones, spatial: dw.pads.map((p) => p.out) }, kernelToOnnx(w.pointwise_kernel!, n), w.bias, 1, 'pointwise_kernel', ones, ones);
    return [finish(ctx, pw.y, g, w.pointwise_kernel!.shape[n + 1]!, dw.pads.map((p) => p.out), x!.shape[0]!)];
  };
}

/**
 * Conv…Transpose: output length as Keras's `deconv_output_length`, pads as the forward conv's
 * (TF's conv_transpose is that conv's gradient): 'same' puts the odd pad after; what the pads
 * cannot express becomes `output_padding` (kernel smaller than stride).
 */
function transposeN(n: number): LayerConverter {
  return ([x], weights, ctx) => {
    const g = geometry(ctx, x!, n);
    if (g.padding === 'causal') throw configError(ctx.layer, "padding 'causal' is not supported");
    const useBias = bool(ctx.layer, 'use_bias', true);
    const w = pickWeights(ctx.layer.name, weights, useBias ? ['kernel', 'bias'] : ['kernel']);
    const outPadCfg = ctx.layer.config.output_padding === null || ctx.layer.config.output_padding === undefined ? null : tuple(ctx.layer, 'output_padding', n);
    const before: number[] = [];
    const after: number[] = [];
    const extra: number[] = [];
    const outSpatial = g.spatial.map((size, i) => {
      const s = g.strides[i]!;
      const ke = (g.kernel[i]! - 1) * g.dilations[i]! + 1;
      if (size === null) {
        if (g.padding !== 'valid' || outPadCfg || ke < s) throw configError(ctx.layer, 'needs known spatial input sizes for this padding');
        before.push(0); after.push(0); extra.push(0);
        return null;
      }
      const out = outPadCfg === null
        ? (g.padding === 'valid' ? size * s + Math.max(ke - s, 0) : size * s)
        : (size - 1) * s + ke - 2 * (g.padding === 'same' ? Math.floor(ke / 2) : 0) + outPadCfg[i]!;
      const pb = g.padding === 'same' ? Math.floor(Math.max((size - 1) * s + ke - out, 0) / 2) : 0;
      const pe = (size - 1) * s + ke - pb - out;
      before.push(pb); after.push(Math.max(pe, 0)); extra.push(Math.max(-pe, 0));
      return out;
    });
    const input = g.cl ? toChannelsFirst(ctx, x!) : x!.name;
    const wt = kernelToOnnx(w.kernel!, n);
    const wname = ctx.weight('kernel', wt.shape, wt.data);
    const b = w.bias ? ctx.weight('bias', w.bias.shape, w.bias.data) : undefined;
    const y = ctx.node('ConvTranspose', b ? [input, wname, b] : [input, wname], {
      kernel_shape: attr.ints(g.kernel), strides: attr.ints(g.strides), dilations: attr.ints(g.dilations),
      pads: attr.ints([...before, ...after]), output_padding: attr.ints(extra),
    })[0]!;
    return [finish(ctx, y, g, w.kernel!.shape[n]!, outSpatial, x!.shape[0]!)];
  };
}

/** Convolution layers. */
export const convConverters: Record<string, LayerConverter> = {
  Conv1D: convN(1),
  Conv2D: convN(2),
  Conv3D: convN(3),
  DepthwiseConv1D: depthwiseN(1),
  DepthwiseConv2D: depthwiseN(2),
  SeparableConv1D: separableN(1),
  SeparableConv2D: separableN(2),
  Conv1DTranspose: transposeN(1),
  Conv2DTranspose: transposeN(2),
  Conv3DTranspose: transposeN(3),
};
