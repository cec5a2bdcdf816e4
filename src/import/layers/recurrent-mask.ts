/**
 * Keras masks (Embedding `mask_zero`, Masking) for the recurrent converters.
 *
 * Keras skips a masked time step: the state is carried over unchanged and the step's output is
 * the previous output (zeros before the first real step). ONNX LSTM/GRU/RNN only skip trailing
 * steps (`sequence_lens`), so the real steps of each sequence are first moved to the front, in
 * order (a permutation along time, ScatterElements), the op runs with `sequence_lens` = the number
 * of real steps, and each output step is then gathered back to its original position:
 *
 * - forward direction: at time t, the state after the real steps ≤ t (source position = inclusive
 *   count of real steps − 1; none yet → zeros);
 * - reverse direction: the state after the real steps ≥ t (source position = exclusive count of
 *   real steps before t; none left → zeros).
 *
 * That is exactly ONNX's unmasked alignment, so flips, swaps and merges downstream are unchanged.
 * Last states need nothing: with `sequence_lens` the op's Y_h is the state after the last real
 * step (zeros for an all-masked sequence, as Keras).
 */
import { attr, tensor } from '../../onnx/build.ts';
import { ONNX_BY_DTYPE } from '../../onnx/tensor-spec.ts';
import type { ConvertContext, SymTensor } from '../types.ts';

/**
 * A tensor that may carry a Keras mask: `mask` names a [batch, time] tensor (bool, or numbers
 * where non-zero = real step). Producers (Embedding with `mask_zero`, Masking) set it; layers
 * that keep Keras's mask pass it on; the recurrent converters consume it.
 */
export type MaskedTensor = SymTensor & { mask?: string };

/** What {@link compactMasked} leaves for {@link uncompactMasked}. */
export interface Compaction {
  /** The input with each sequence's real steps first, [B, T, F]. */
  x: string;
  /** Real steps per sequence, int32 [B] (the op's `sequence_lens`). */
  lens: string;
  /** Real steps per sequence, int64 [B, 1]. */
  lensCol: string;
  /** The mask as int64 0/1, [B, T]. */
  m: string;
  /** Inclusive running count of real steps, int64 [B, T]. */
  incl: string;
}

/** Moves the real steps of each sequence to the front (see the module comment). `x` is [B, T, F]. */
export function compactMasked(ctx: ConvertContext, x: string, mask: string): Compaction {
  const axis1 = ctx.int64('mask_time_axis', [1], []);
  // A non-zero number counts as a real step (a float or int mask), as a true bool does.
  const real = ctx.node('Cast', [mask], { to: attr.int(ONNX_BY_DTYPE.bool) }, { name: 'mask_bool' })[0]!;
  const m01 = ctx.node('Cast', [real], { to: attr.int(ONNX_BY_DTYPE.int64) }, { name: 'mask_01' })[0]!;
  const incl = ctx.node('CumSum', [m01, axis1], {}, { name: 'mask_count' })[0]!;
  const lensCol = ctx.node('ReduceSum', [m01, ctx.int64('mask_axes', [1])], { keepdims: attr.int(1) }, { name: 'mask_lens' })[0]!;
  const one = ctx.int64('mask_one', [1], []);
  const ones = ctx.node('ConstantOfShape', [ctx.node('Shape', [m01], {}, { name: 'mask_shape' })[0]!],
    { value: attr.tensor(tensor('value', 'int64', [1], [1])) }, { name: 'mask_ones' })[0]!;
  const position = ctx.node('CumSum', [ones, axis1], {}, { name: 'mask_position' })[0]!; // t + 1
  const maskedCount = ctx.node('Sub', [position, incl], {}, { name: 'mask_masked_count' })[0]!;
  // Real step t goes to (real steps ≤ t) − 1; masked step t after all real ones: lens + (masked ≤ t) − 1.
  const toReal = ctx.node('Sub', [incl, one], {}, { name: 'mask_dest_real' })[0]!;
  const toMasked = ctx.node('Sub', [ctx.node('Add', [lensCol, maskedCount], {}, { name: 'mask_dest_masked_sum' })[0]!, one], {}, { name: 'mask_dest_masked' })[0]!;
  const dest = ctx.node('Where', [real, toReal, toMasked], {}, { name: 'mask_dest' })[0]!;
  const dest3 = ctx.node('Expand', [ctx.node('Unsqueeze', [dest, ctx.int64('mask_feature_axis', [2])], {}, { name: 'mask_dest_unsqueeze' })[0]!,
    ctx.node('Shape', [x], {}, { name: 'mask_input_shape' })[0]!], {}, { name: 'mask_dest_expand' })[0]!;
  const xc = ctx.node('ScatterElements', [x, dest3, x], { axis: attr.int(1) }, { name: 'mask_compact' })[0]!;
  const lens = ctx.node('Cast', [ctx.node('Reshape', [lensCol, ctx.int64('mask_lens_shape', [-1])], {}, { name: 'mask_lens_flat' })[0]!],
    { to: attr.int(ONNX_BY_DTYPE.int32) }, { name: 'mask_sequence_lens' })[0]!;
  return { x: xc, lens, lensCol, m: m01, incl };
}

/**
 * Puts the op's per-direction outputs back at their original time steps. `y` is [B, T, dirs, H]
 * (batch-major, compacted), `reverse[d]` says whether direction d runs backwards in time.
 * Returns [B, T, dirs, H] aligned as ONNX would align an unmasked run.
 */
export function uncompactMasked(ctx: ConvertContext, y: string, reverse: boolean[], c: Compaction): string {
  const zero = ctx.int64('unmask_zero', [0], []);
  const outs = reverse.map((rev, d) => {
    const p = `unmask_${d}`;
    const yd = ctx.node('Gather', [y, ctx.int64(`${p}_dir`, [d], [])], { axis: attr.int(2) }, { name: `${p}_direction` })[0]!;
    let src: string;
    let valid: string;
    if (rev) {
      src = ctx.node('Sub', [c.incl, c.m], {}, { name: `${p}_source` })[0]!; // real steps before t
      valid = ctx.node('Less', [src, c.lensCol], {}, { name: `${p}_valid` })[0]!;
    } else {
      const last = ctx.node('Sub', [c.incl, ctx.int64(`${p}_one`, [1], [])], {}, { name: `${p}_last_real` })[0]!;
      src = ctx.node('Max', [last, zero], {}, { name: `${p}_source` })[0]!;
      valid = ctx.node('Greater', [c.incl, zero], {}, { name: `${p}_valid` })[0]!;
    }
    const axis2 = ctx.int64(`${p}_axis`, [2]);
    const idx = ctx.node('Expand', [ctx.node('Unsqueeze', [src, axis2], {}, { name: `${p}_source_unsqueeze` })[0]!,
      ctx.node('Shape', [yd], {}, { name: `${p}_shape` })[0]!], {}, { name: `${p}_source_expand` })[0]!;
    const g = ctx.node('GatherElements', [yd, idx], { axis: attr.int(1) }, { name: `${p}_gather` })[0]!;
    const v = ctx.node('Unsqueeze', [ctx.node('Cast', [valid], { to: attr.int(ONNX_BY_DTYPE.float32) }, { name: `${p}_valid_float` })[0]!, axis2], {}, { name: `${p}_valid_unsqueeze` })[0]!;
    const kept = ctx.node('Mul', [g, v], {}, { name: `${p}_keep` })[0]!;
    return ctx.node('Unsqueeze', [kept, axis2], {}, { name: `${p}_restore_axis` })[0]!;
  });
  return outs.length === 1 ? outs[0]! : ctx.node('Concat', outs, { axis: attr.int(2) }, { name: 'unmask_concat' })[0]!;
}
