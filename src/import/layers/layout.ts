import { attr, type AttrValue } from '../../onnx/build.ts';
import type { ConvertContext, SymTensor } from '../types.ts';

/**
 * Layout helpers. Keras tensors are channels-last (NHWC); ONNX Conv/Pool are channels-first
 * (NCHW). Converters transpose in and out around those ops so every layer boundary keeps the
 * Keras layout; ONNX Runtime cancels the back-to-back Transpose pairs between layers.
 */

/** NH…WC → NCH…W (rank r). */
export function toChannelsFirst(ctx: ConvertContext, x: SymTensor): string {
  const r = x.shape.length;
  return ctx.node('Transpose', [x.name], { perm: attr.ints([0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)]) }, { name: 'ToChannelsFirst' })[0]!;
}

/** NCH…W → NH…WC (rank r). */
export function toChannelsLast(ctx: ConvertContext, name: string, rank: number): string {
  return ctx.node('Transpose', [name], { perm: attr.ints([0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1]) }, { name: 'ToChannelsLast' })[0]!;
}

/** Permutes a row-major array: `out` axis i is `shape` axis perm[i]. */
export function permuteData(data: Float32Array, shape: number[], perm: number[]): { data: Float32Array; shape: number[] } {
  const outShape = perm.map((p) => shape[p]!);
  const r = shape.length;
  const inStrides = new Array<number>(r);
  for (let i = r - 1, s = 1; i >= 0; i--) { inStrides[i] = s; s *= shape[i]!; }
  const strides = perm.map((p) => inStrides[p]!);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(r).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src]!;
    for (let a = r - 1; a >= 0; a--) {
      idx[a]!++;
      src += strides[a]!;
      if (idx[a]! < outShape[a]!) break;
      src -= strides[a]! * outShape[a]!;
      idx[a] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** Keras padding of one spatial dimension. */
export interface SpatialPad {
  /** Pads before and after, or null for "SAME, size unknown" (ONNX auto_pad SAME_UPPER). */
  pads: [number, number] | null;
  /** Output length, null when unknown. */
  out: number | null;
}

/**
 * Padding and output length of a convolution/pooling window along one dimension, as TF computes
 * them: 'valid' none; 'same' total `max((⌈in/s⌉−1)·s + k_eff − in, 0)`, the extra one after;
 * 'causal' `k_eff − 1` before.
 */
export function spatialPad(padding: string, size: number | null, kernel: number, stride: number, dilation = 1): SpatialPad {
  const ke = (kernel - 1) * dilation + 1;
  if (padding === 'valid') return { pads: [0, 0], out: size === null ? null : Math.floor((size - ke) / stride) + 1 };
  if (padding === 'causal') return { pads: [ke - 1, 0], out: size === null ? null : Math.floor((size - 1) / stride) + 1 };
  if (size === null) return { pads: null, out: null };
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + ke - size, 0);
  return { pads: [Math.floor(total / 2), total - Math.floor(total / 2)], out };
}

/** ONNX padding attributes for a list of per-dimension pads (`auto_pad` when any is unknown). */
export function padAttrs(pads: SpatialPad[]): Record<string, AttrValue> {
  if (pads.some((p) => p.pads === null)) return { auto_pad: attr.string('SAME_UPPER') };
  return { pads: attr.ints([...pads.map((p) => p.pads![0]), ...pads.map((p) => p.pads![1])]) };
}
